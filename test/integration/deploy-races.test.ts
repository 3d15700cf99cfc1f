// Two deploy, rollback or hotfix commands at once, sent the ways test/support/races.ts sends them
// (two firelanes on one PostgreSQL database over Slack; one firelane's router). Each decides on what
// the other left: the second of two rollbacks of a target hears of the first and opens nothing, a
// deploy never lands on an incident resolved meanwhile, and the second of two /hotfix pr (or finish)
// hears that the first is under way and queues nothing. Each race runs on two services at once, the
// two commands sent in both orders.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubHost } from '../../src/adapters/github/github-host.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from '../fakes/fake-github.js';
import type { Harness, HarnessOptions } from '../support/harness.js';
import { raceSetups, type Replicas } from '../support/races.js';
import { ON_POSTGRES, queryDatabase } from '../support/test-store.js';
import { declare, sleep } from './slack-helpers.js';

const SERVICES = ['payments', 'billing'] as const;
type Service = (typeof SERVICES)[number];
const IMAGE = (service: string) => `ghcr.io/acme/${service}`;

const YAML = `incidents:
  announceChannel: C0INCIDENTS
  escalationChannel: C0ESCALATE
services:
${SERVICES.map(
  (service) => `  ${service}:
    repo: acme/${service}
    productionBranch: production
    developBranch: main
    kubernetes:
      namespace: ${service}
      deployment: ${service}
      container: app
      image: ${IMAGE(service)}
      strategy: rolling
    healthCheck:
      window: 1s
`,
).join('')}approvals:
  production:
    approvers: [U0LEAD1, U0LEAD2]
    required: 1
    allowSelfApproval: false
    expiresAfter: 30m
`;

let gh: FakeGitHub | undefined;
const repos = new Map<Service, FakeRepo>();
let options: HarnessOptions | undefined;
/** Names made so far (both setups share the fake GitHub: each hotfix gets a branch of its own). */
let declared = 0;

beforeAll(async () => {
  gh = await startFakeGitHub();
  for (const service of SERVICES) {
    repos.set(
      service,
      gh.addRepo('acme', service, {
        defaultBranch: 'main',
        branches: { main: ['initial'], production: { from: 'main', commits: ['release 2.1.0'] } },
        tags: { 'v2.1.0': 'production' },
      }),
    );
  }
  const cluster = createMemoryCluster({ rolloutPolls: 3 });
  for (const service of SERVICES) {
    cluster.addDeployment({
      namespace: service,
      name: service,
      images: { app: `${IMAGE(service)}:v2.1.0` },
      history: [{ app: `${IMAGE(service)}:v2.0.0` }],
      replicas: 3,
    });
  }
  const git = createGitHubHost({
    token: gh.token,
    baseUrl: gh.url,
    retryAfterBaseMs: 0,
    writeSpacingMs: 0,
    mergeablePollMs: 5,
  });
  options = { configYaml: YAML, reminderTicker: false, cluster, git, deploy: { pollIntervalMs: 5 } };
});
afterAll(async () => gh?.close());

/** Each setup deploys versions of its own (the setups share the cluster). */
let setupRound = 0;

describe.each(raceSetups(() => options!))('$name: two commands on one target at once', (setup) => {
  let r: Replicas;
  beforeAll(async () => {
    r = await setup.open();
  });
  afterAll(async () => r?.close());

  /**
   * `first` and `second` on each service at once: for payments `first` goes to replica a and `second`
   * to b, for billing the other way round. Both answers per service. In the texts SERVICE is the
   * service, and each word in `words` what it gives for the service. `first` is sent as the first user.
   */
  async function race(
    first: string,
    second: string,
    words: Partial<Record<Service, Record<string, string>>> = {},
    [one, other]: [string, string] = ['U0ALICE', 'U0BOB'],
  ): Promise<Array<{ service: Service; first: string; second: string }>> {
    const fill = (text: string, service: Service) =>
      Object.entries(words[service] ?? {}).reduce(
        (filled, [word, value]) => filled.replaceAll(word, value),
        text.replaceAll('SERVICE', service),
      );
    const send = (h: Harness, text: string, service: Service, user: string) => r.send(h, fill(text, service), user);
    const [a0, b0, a1, b1] = await Promise.all([
      send(r.a, first, 'payments', one),
      send(r.b, second, 'payments', other),
      send(r.a, second, 'billing', other),
      send(r.b, first, 'billing', one),
    ]);
    return [
      { service: 'payments', first: a0!, second: b0! },
      { service: 'billing', first: b1!, second: a1! },
    ];
  }

  const requests = async (service: string, kind: 'deploy' | 'rollback') =>
    (
      await queryDatabase<{ id: number; status: string; incident_id: number | null }>(
        r.a.firelane,
        'SELECT id, status, incident_id FROM deploy_requests WHERE service = ? AND kind = ? ORDER BY id',
        [service, kind],
      )
    ).map((row) => ({ id: Number(row.id), status: row.status, incidentId: row.incident_id }));
  /** The jobs of `kind` about `field` = `id` (a request, a hotfix). */
  const jobs = async (kind: string, field: string, id: number) =>
    (await queryDatabase<{ payload: unknown }>(r.a.firelane, 'SELECT payload FROM jobs WHERE kind = ?', [kind])).filter(
      (job) =>
        (typeof job.payload === 'string' ? (JSON.parse(job.payload) as Record<string, unknown>) : job.payload)?.[
          field as never
        ] === id,
    );
  const kinds = async (incidentId: number, wanted: string[]) =>
    (await r.a.firelane.store.incidents.timeline(incidentId)).map((e) => e.kind).filter((k) => wanted.includes(k));
  /** Withdraws every pending request, so that the next race starts on quiet targets. */
  async function withdrawAll() {
    for (const service of SERVICES) {
      for (const request of await r.a.firelane.store.deploys.pending(service, 'production')) {
        expect(await r.send(r.a, `/deploy reject REQ-${request.id}`, request.requester)).toContain('withdrew');
      }
    }
  }

  it('two /rollback of one service: one pending rollback; the other hears of it and opens nothing', async () => {
    for (const { service, first, second } of await race('/rollback SERVICE', '/rollback SERVICE')) {
      const rollbacks = await requests(service, 'rollback');
      expect(rollbacks, `${first} | ${second}`).toHaveLength(1);
      const key = `REQ-${rollbacks[0]!.id}`;
      const answers = [first, second];
      expect(
        answers.filter((a) =>
          a.includes(`${key}: rollback of ${service} (production) to the previous revision requested.`),
        ),
      ).toHaveLength(1);
      expect(
        answers.filter((a) =>
          a.includes(
            `${key} already asks to roll back ${service} (production) and waits for approval: approve or reject that one.`,
          ),
        ),
      ).toHaveLength(1);
      expect(await jobs('deploy.prepare', 'requestId', rollbacks[0]!.id)).toHaveLength(1);
    }
    await withdrawAll();
  });

  it('a deploy for an incident and its resolution: a deploy is never requested on a resolved incident', async () => {
    const ids: Partial<Record<Service, number>> = {};
    for (const service of SERVICES) ids[service] = (await declare(r.a, `sev1 Deploy race ${++declared}`)).id;
    for (const { service, first, second } of await race(
      '/incident resolve INC-n',
      '/deploy SERVICE v2.2.0 --incident=INC-n',
      { payments: { 'INC-n': `INC-${ids.payments}` }, billing: { 'INC-n': `INC-${ids.billing}` } },
    )) {
      const id = ids[service]!;
      expect(first).toContain(`INC-${id} resolved after`);
      const seen = await kinds(id, ['deploy_requested', 'resolved']);
      const linked = (await requests(service, 'deploy')).filter((q) => q.incidentId === id);
      if (seen[0] === 'deploy_requested') {
        expect(second).toContain(`deploy of ${service} v2.2.0 to production requested`);
        expect(seen).toEqual(['deploy_requested', 'resolved']);
        expect(linked).toHaveLength(1);
      } else {
        expect(second).toContain(`INC-${id} is resolved; link an open incident.`);
        expect(seen).toEqual(['resolved']);
        expect(linked).toEqual([]);
      }
    }
    await withdrawAll();
  });

  it('a hotfix for an incident and its resolution: no hotfix line lands on a resolved incident', async () => {
    const ids: Partial<Record<Service, number>> = {};
    for (const service of SERVICES) ids[service] = (await declare(r.a, `sev1 Hotfix race ${++declared}`)).id;
    const words = (service: Service) => ({ 'INC-n': `INC-${ids[service]}`, NAME: `race ${++declared}` });
    for (const { service, first, second } of await race(
      '/incident resolve INC-n',
      '/hotfix create SERVICE NAME --incident=INC-n',
      { payments: words('payments'), billing: words('billing') },
    )) {
      const id = ids[service]!;
      expect(first).toContain(`INC-${id} resolved after`);
      const seen = await kinds(id, ['hotfix_requested', 'resolved']);
      const linked = (await r.a.firelane.store.hotfixes.ofIncident(id)).length;
      if (seen[0] === 'hotfix_requested') {
        expect(second).toContain(`for INC-${id}. The result follows in the channel.`);
        expect(seen).toEqual(['hotfix_requested', 'resolved']);
        expect(linked).toBe(1);
      } else {
        expect(second).toContain(`INC-${id} is resolved; link an open incident.`);
        expect(seen).toEqual(['resolved']);
        expect(linked).toBe(0);
      }
    }
  });

  // The race above seldom overlaps over HTTP on PostgreSQL: here the resolve holds the incident's row
  // while the deploy is asked, and commits once the deploy waits (on its read of the incident, or
  // without the fix on its write, which reads nothing again and so lands on the resolved incident).
  it.runIf(ON_POSTGRES || setup.name.includes('PostgreSQL'))(
    'a resolve committing while a deploy for its incident waits: the deploy is refused and writes nothing',
    async () => {
      const id = (await declare(r.a, `sev1 Deploy wait ${++declared}`)).id;
      const client = new pg.Client({ connectionString: r.a.firelane.config.env.databaseUrl });
      await client.connect();
      let answer: Promise<string>;
      try {
        await client.query('BEGIN');
        await client.query('SELECT id FROM incidents WHERE id = $1 FOR UPDATE', [id]);
        await client.query("UPDATE incidents SET status = 'resolved', resolved_at = $2 WHERE id = $1", [
          id,
          Date.now(),
        ]);
        answer = r.send(r.b, `/deploy payments v2.3.0 --incident=INC-${id}`, 'U0BOB');
        await sleep(500);
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
      expect(await answer).toContain(`INC-${id} is resolved; link an open incident.`);
      expect((await requests('payments', 'deploy')).filter((q) => q.incidentId === id)).toEqual([]);
      expect(await kinds(id, ['deploy_requested'])).toEqual([]);
    },
  );

  /** A hotfix of each service, its branch on GitHub with a commit production lacks. */
  async function hotfixes(): Promise<Record<Service, { id: number; branch: string }>> {
    const made: Partial<Record<Service, { id: number; branch: string }>> = {};
    for (const service of SERVICES) {
      const answer = await r.send(r.a, `/hotfix create ${service} race ${++declared}`, 'U0ALICE');
      const id = Number(/HF-(\d+)/.exec(answer)?.[1]);
      expect(id, answer).toBeGreaterThan(0);
      await r.a.drain();
      const hotfix = (await r.a.firelane.store.hotfixes.get(id))!;
      expect(hotfix.status).toBe('open');
      repos.get(service)!.commit(hotfix.branch, `fix ${declared}`);
      made[service] = { id, branch: hotfix.branch };
    }
    return made as Record<Service, { id: number; branch: string }>;
  }

  it('two /hotfix pr, then two /hotfix finish: one job each; the other hears it is under way', async () => {
    const made = await hotfixes();
    const words = {
      payments: { BRANCH: made.payments.branch },
      billing: { BRANCH: made.billing.branch },
    };
    for (const { service, first, second } of await race('/hotfix pr BRANCH', '/hotfix pr BRANCH', words)) {
      const { id, branch } = made[service];
      const answers = [first, second];
      expect(
        answers.filter((a) => a.includes(`HF-${id}: opening the pull request from \`${branch}\`.`)),
        answers.join(' | '),
      ).toHaveLength(1);
      expect(
        answers.filter((a) =>
          a.includes(
            `HF-${id}: the pull request from \`${branch}\` is already being opened; the result follows in the channel.`,
          ),
        ),
      ).toHaveLength(1);
      expect(await jobs('hotfix.pr', 'hotfixId', id)).toHaveLength(1);
    }
    await r.a.drain();
    for (const service of SERVICES) {
      expect(
        repos
          .get(service)!
          .pulls()
          .filter((p: { head: { ref: string } }) => p.head.ref === made[service].branch),
      ).toHaveLength(1);
    }

    for (const { service, first, second } of await race('/hotfix finish BRANCH', '/hotfix finish BRANCH', words)) {
      const { id } = made[service];
      const pr = (await r.a.firelane.store.hotfixes.get(id))!.prNumber;
      const answers = [first, second];
      expect(
        answers.filter((a) => a.includes(`HF-${id}: finishing #${pr} (merge when the required checks pass`)),
        answers.join(' | '),
      ).toHaveLength(1);
      expect(
        answers.filter((a) =>
          a.includes(`HF-${id}: #${pr} is already being finished; the result follows in the channel.`),
        ),
      ).toHaveLength(1);
      expect(await jobs('hotfix.finish', 'hotfixId', id)).toHaveLength(1);
    }
  });

  // Last: the approved deploys hold their targets (nothing runs them here).
  it('a deploy approved while another deploy of the target is asked: the new one is refused, superseded, or asked after the rollout', async () => {
    setupRound++;
    const deploys: Partial<Record<Service, { REQ: string }>> = {};
    for (const service of SERVICES) {
      const answer = await r.send(r.a, `/deploy ${service} v2.5.${setupRound}`, 'U0ALICE');
      const key = /REQ-\d+/.exec(answer)?.[0];
      expect(key, answer).toBeDefined();
      deploys[service] = { REQ: key! };
    }
    await r.a.drain();
    for (const { service, first, second } of await race(
      '/deploy approve REQ',
      `/deploy SERVICE v2.6.${setupRound}`,
      deploys,
      ['U0LEAD1', 'U0ALICE'],
    )) {
      const approved = Number(deploys[service]!.REQ.slice(4));
      expect(first).toContain('approved');
      const [later] = await queryDatabase<{ id: number; status: string; created_at: number }>(
        r.a.firelane,
        "SELECT id, status, created_at FROM deploy_requests WHERE service = ? AND kind = 'deploy' AND target = ?",
        [service, `v2.6.${setupRound}`],
      );
      if (!later) {
        expect(second).toContain('right now: one rollout at a time per target');
        continue;
      }
      // Never a card left pending on a plan the approved deploy changed under it: superseded by the
      // approval, or asked once that rollout had finished.
      if (later.status !== 'superseded') {
        const [rollout] = await queryDatabase<{ finished_at: number | null }>(
          r.a.firelane,
          'SELECT finished_at FROM deploy_requests WHERE id = ?',
          [approved],
        );
        expect(rollout!.finished_at, `${second} / ${later.status}`).not.toBeNull();
        expect(Number(later.created_at), second).toBeGreaterThan(Number(rollout!.finished_at));
      }
    }
    // The approved rollouts end; what is still pending is withdrawn for the next test.
    await r.a.drain();
    await withdrawAll();
  });

  it('a deploy approved while a rollback is asked: the rollback undoes it, or the approval supersedes the rollback', async () => {
    const deploys: Partial<Record<Service, { REQ: string }>> = {};
    for (const service of SERVICES) {
      const answer = await r.send(r.a, `/deploy ${service} v2.4.0`, 'U0ALICE');
      const key = /REQ-\d+/.exec(answer)?.[0];
      expect(key, answer).toBeDefined();
      deploys[service] = { REQ: key! };
    }
    await r.a.drain();
    for (const { service, first, second } of await race('/deploy approve REQ', '/rollback SERVICE', deploys, [
      'U0LEAD1',
      'U0LEAD2',
    ])) {
      const deploy = Number(deploys[service]!.REQ.slice(4));
      expect(first).toContain(`approved`);
      const rollbacks = await queryDatabase<{ id: number; status: string; undoes: number | null }>(
        r.a.firelane,
        "SELECT id, status, undoes FROM deploy_requests WHERE service = ? AND kind = 'rollback' AND status <> 'rejected'",
        [service],
      );
      expect(rollbacks, second).toHaveLength(1);
      const rollback = rollbacks[0]!;
      // Asked after the approval, it undoes the deploy; before, the approval supersedes it. Never a
      // rollback card that waits on a target it misjudged.
      if (rollback.undoes === null) expect(rollback.status, second).toBe('superseded');
      else
        expect({ status: rollback.status, undoes: Number(rollback.undoes) }, second).toEqual({
          status: 'pending',
          undoes: deploy,
        });
    }
  });
});

// Control characters in everything firelane is told or answered: NUL (which PostgreSQL refuses in
// text and jsonb, where SQLite keeps it) and the other C0 controls an on-call engineer never means
// are removed where the text enters (tab and line breaks stay; CRLF becomes a line feed), so the same
// text is stored on both databases: Slack commands, buttons, the declare form and the messages a 📌
// pins, Teams messages and display names, the console, GitHub's and Kubernetes' answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUTTON_ACTION_PREFIX } from '../../src/adapters/slack/render.js';
import { createGitHubHost } from '../../src/adapters/github/github-host.js';
import { createFirelane, type Firelane } from '../../src/app.js';
import { mention } from '../../src/ports/reply.js';
import { loadConfig } from '../../src/config.js';
import { startFakeGitHub, type FakeGitHub } from '../fakes/fake-github.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { buttonClick, SIGNING_SECRET, startHarness, type Harness } from '../support/harness.js';
import { createDatabase, postgresServer } from '../support/postgres.js';
import { TEMPLATE_DATABASE } from '../support/postgres-server.js';
import { signedHeaders } from '../support/slack-signing.js';
import { queryDatabase } from '../support/test-store.js';
import { IMAGE, PAYMENTS, deployYaml } from './deploy-config.js';
import { ackText, blockTexts, declare, declareSubmission, incident } from './slack-helpers.js';
import { startTeams, USERS, type TeamsRig } from './teams-helpers.js';

const server = postgresServer();
const NUL = '\u0000';

/** What each test's firelane stores into: a SQLite file, or a fresh PostgreSQL database. */
const databases = [
  { name: 'SQLite', env: async () => ({ env: { DATABASE_URL: '' }, drop: async () => undefined }) },
  ...(server
    ? [
        {
          name: 'PostgreSQL',
          env: async () => {
            const database = await createDatabase(server, TEMPLATE_DATABASE);
            return { env: { DATABASE_URL: database.url }, drop: () => database.drop() };
          },
        },
      ]
    : []),
];

describe.each(databases)('control characters on $name', (database) => {
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  let h: Harness | undefined;
  let rig: TeamsRig | undefined;
  let gh: FakeGitHub | undefined;
  beforeEach(async () => {
    ({ env, drop } = await database.env());
  });
  afterEach(async () => {
    await h?.close();
    await rig?.close();
    await gh?.close();
    h = rig = gh = undefined;
    await drop();
  });

  const notes = async (on: Harness, id = 1) =>
    (await on.firelane.store.incidents.timeline(id)).filter((e) => e.kind === 'note').map((e) => e.text);

  it('Slack: a declaration, a note, a button and the declare form are stored without them', async () => {
    h = await startHarness({ env });
    const declared = await h.command(`sev2 Pay${NUL}ments down`);
    expect(declared.status).toBe(200);
    expect(ackText(declared.body)).toContain('*INC-1* declared (SEV2): Payments down.');
    await h.drain();
    expect(await incident(h, 1)).toMatchObject({ title: 'Payments down', roomName: 'inc-1-payments-down' });
    const [first] = await h.firelane.store.incidents.timeline(1);
    expect(first!.text).toBe('Declared SEV2: Payments down');

    const note = await h.command(`note INC-1 "db${NUL} fail\u0007over\r\nsecond line\u001b[2J\tdone\u007f"`);
    expect(ackText(note.body)).toContain('Added to the timeline of INC-1.');
    expect(await notes(h)).toEqual(['db failover\nsecond line[2J\tdone']);

    const click = buttonClick({
      user: 'U0ALICE',
      channel: 'C0GENERAL',
      messageTs: '1700000000.000100',
      actionId: `${BUTTON_ACTION_PREFIX}note`,
      value: `incident note INC-1 cache${NUL} node`,
      responseUrl: h.slack.responseUrl(),
    });
    expect((await h.interaction(click)).status).toBe(200);
    await expect.poll(() => notes(h!)).toEqual(['db failover\nsecond line[2J\tdone', 'cache node']);

    const form = declareSubmission({ viewId: 'V0NUL', title: `Check${NUL}out slow`, description: `p99${NUL} 4 s` });
    expect((await h.interaction(form)).status).toBe(200);
    await expect
      .poll(() => h!.firelane.store.incidents.get(2))
      .toMatchObject({
        title: 'Checkout slow',
        description: 'p99 4 s',
      });
    // The audit log holds what was stored: the declaration's entry has the clean title.
    const [entry] = await queryDatabase<{ after: string }>(
      h.firelane,
      "SELECT after FROM audit_log WHERE action = 'incident.declared' ORDER BY seq",
    );
    expect(JSON.parse(entry!.after)).toMatchObject({ title: 'Payments down' });
  });

  it('Slack: a pinned message with them in its text joins the timeline without them', async () => {
    h = await startHarness({ env });
    const room = (await declare(h, 'sev1 Payments down')).roomId!;
    const ts = h.slack.postAsUser(room, 'U0BOB', `bad${NUL} deploy\u001b[0m at 10:02`);
    const event = {
      type: 'event_callback',
      team_id: 'T0001',
      api_app_id: 'A0FIRELANE',
      event_id: 'EvNUL',
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'reaction_added',
        user: `U0CAROL${NUL}`,
        reaction: 'pushpin',
        item: { type: 'message', channel: room, ts },
      },
    };
    const body = JSON.stringify(event);
    const res = await h.post(body, { ...signedHeaders(SIGNING_SECRET, body), 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    await expect.poll(() => h!.firelane.store.jobs.state(`pin:slack:${room}:${ts}`)).toBeDefined();
    await h.drain();
    const pinned = (await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'pinned_message');
    expect(pinned).toMatchObject([{ actor: 'U0CAROL', text: `📌 ${mention('U0BOB')}: bad deploy[0m at 10:02` }]);
    expect(await h.firelane.store.jobs.get(`pin:slack:${room}:${ts}`)).toMatchObject({ status: 'done' });
  });

  it('Teams: a message and its sender’s display name', async () => {
    rig = await startTeams({ env });
    const sender = { ...USERS.alice, name: `Alice${NUL} Admin` };
    expect((await rig.send({ text: `incident sev2 Pay${NUL}ments down`, from: sender })).status).toBe(200);
    expect(await incident(rig.h, 1)).toMatchObject({ title: 'Payments down' });
    expect((await rig.send({ text: `incident note INC-1 db${NUL} failover`, from: sender })).status).toBe(200);
    expect(await notes(rig.h)).toEqual(['db failover']);
    const [user] = await queryDatabase<{ name: string }>(
      rig.h.firelane,
      'SELECT name FROM teams_users WHERE aad_object_id = ?',
      [sender.aadObjectId],
    );
    expect(user?.name).toBe('Alice Admin');
  });

  it('GitHub: a check named with them, read by /hotfix status', async () => {
    gh = await startFakeGitHub();
    const repo = gh.addRepo('acme', 'payments', {
      defaultBranch: 'main',
      branches: { main: ['initial'], production: { from: 'main', commits: ['release 2.1.0'] } },
    });
    const git = createGitHubHost({
      token: gh.token,
      baseUrl: gh.url,
      retryAfterBaseMs: 0,
      writeSpacingMs: 0,
      mergeablePollMs: 5,
    });
    h = await startHarness({
      env,
      git,
      configYaml: 'services:\n  payments:\n    repo: acme/payments\n    productionBranch: production\n',
    });
    const hotfix = async (text: string) => {
      expect((await h!.command(text, { command: '/hotfix', user: 'U0DEV' })).status).toBe(200);
      await h!.drain();
    };
    await hotfix('create payments "retry refunds"');
    const branch = 'hotfix/retry-refunds';
    repo.commit(branch, `Retry${NUL} refunds`);
    await hotfix(`pr ${branch}`);
    repo.setStatus(repo.sha(branch)!, `ci${NUL}/build`, 'success');
    const before = h.slack.messages.length;
    await hotfix(`status ${branch}`);
    const [job] = await queryDatabase<{ status: string }>(
      h.firelane,
      "SELECT status FROM jobs WHERE kind = 'hotfix.status'",
    );
    expect(job?.status).toBe('done');
    const shown = h.slack.messages
      .slice(before)
      .flatMap((m) => blockTexts(m.blocks))
      .join('\n');
    expect(shown).toContain('✅ ci/build: success');
  });

  it('Kubernetes: an image read from the cluster', async () => {
    const cluster = createMemoryCluster({ rolloutPolls: 2 });
    cluster.addDeployment({ ...PAYMENTS, name: 'payments', images: { app: `${IMAGE}:v2.1${NUL}.0` }, replicas: 2 });
    h = await startHarness({ env, cluster, configYaml: deployYaml(['U0LEAD1']), deploy: { pollIntervalMs: 5 } });
    const ack = await h.command('payments v2.1.1', { command: '/deploy', user: 'U0DEV' });
    expect(ackText(ack.body)).toContain('REQ-1');
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({
      status: 'pending',
      plan: { fromImage: `${IMAGE}:v2.1.0`, toImage: `${IMAGE}:v2.1.1` },
    });
  });

  it('the console: a command and the line it posts in the room', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firelane-console-'));
    let firelane: Firelane | undefined;
    try {
      const config = loadConfig({ DATABASE_PATH: join(dir, 'db.sqlite'), LOG_LEVEL: 'silent', HOME: dir, ...env }, dir);
      firelane = await createFirelane({
        config,
        logger: pino({ level: 'silent' }),
        defaultMetrics: false,
        reminderTicker: false,
      });
      const url = `http://127.0.0.1:${(await firelane.listen(0, '127.0.0.1')).port}`;
      const { token } = (await (await fetch(`${url}/api/console/state`)).json()) as { token: string };
      const post = (text: string) =>
        fetch(`${url}/api/console/command`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-firelane-console': token },
          body: JSON.stringify({ text, user: 'alice', room: `incidents${NUL}` }),
        });
      const declared = await post(`/incident sev2 Pay${NUL}ments down`);
      expect(declared.status).toBe(200);
      expect(((await declared.json()) as { outcome: string }).outcome).toBe('ok');
      expect(await firelane.store.incidents.get(1)).toMatchObject({ title: 'Payments down' });
      const room = (await (await fetch(`${url}/api/console/messages?room=incidents`)).json()) as {
        messages: Array<{ author: string; body: unknown }>;
      };
      expect(JSON.stringify(room.messages)).toContain('/incident sev2 Payments down');
      expect(JSON.stringify(room.messages)).not.toContain('\\u0000');
    } finally {
      await firelane?.close(1_000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

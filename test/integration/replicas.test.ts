// Two real firelane processes (node dist/main.js) on one PostgreSQL database behind the same Slack
// signing secret, each request sent to either: they start together on an empty database and migrate
// once, a delivery Slack repeats to the other replica declares once, and while one replica is killed
// with SIGKILL the other keeps the 3-second sev1 reminders going: none lost, none twice. Concurrent
// Approve clicks, a rolling restart, and 10,000 audited writes from both that `firelane audit verify` passes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeMessage, type FakeSlack } from '../fakes/fake-slack.js';
import { startFakeKube, type FakeKube } from '../fakes/fake-kube.js';
import { buttonClick } from '../support/harness.js';
import { buttons } from './slack-helpers.js';
import { IMAGE } from './deploy-config.js';
import { signedHeaders } from '../support/slack-signing.js';
import { ANNOUNCE, BOT_TOKEN, SIGNING_SECRET } from '../support/harness.js';
import { freePort, runCli, startProcess, type RunningProcess } from '../support/process.js';
import { createDatabase, postgresServer } from '../support/postgres.js';

const server = postgresServer();

const YAML = `incidents:
  announceChannel: ${ANNOUNCE}
  escalationChannel: C0ESCALATE
  severities:
    sev1: { responders: [U0ONCALL1], reminderEvery: 3s, escalateAfterMissed: 0 }
`;

describe.skipIf(!server)('two replicas on one PostgreSQL database', () => {
  let slack: FakeSlack;
  let dir: string;
  let database: { url: string; drop(): Promise<void> };
  let running: RunningProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-replicas-'));
    writeFileSync(join(dir, 'firelane.yaml'), YAML);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    slack = await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: 'C0ESCALATE', name: 'escalations' },
        { id: 'C0GENERAL', name: 'general' },
      ],
    });
    database = await createDatabase(server!); // empty: the replicas migrate it
  });
  afterEach(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running = [];
    await slack.close();
    await database.drop();
  });

  async function replica(
    env: Record<string, string> = {},
    config = 'firelane.yaml',
  ): Promise<{ process: RunningProcess; url: string }> {
    const port = await freePort();
    const process = startProcess({
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      FIRELANE_CONFIG: join(dir, config),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'info',
    });
    running.push(process);
    return { process, url: `http://127.0.0.1:${port}` };
  }

  const declare = (url: string, triggerId: string) => {
    const form = new URLSearchParams({
      command: '/incident',
      text: 'sev1 Payment gateway down',
      user_id: 'U0ALICE',
      user_name: 'alice',
      channel_id: 'C0GENERAL',
      team_id: 'T0001',
      trigger_id: triggerId,
      response_url: slack.responseUrl(triggerId),
    }).toString();
    return fetch(`${url}/slack/events`, { method: 'POST', headers: signedHeaders(SIGNING_SECRET, form), body: form });
  };

  it('start together on an empty database, migrate once, and answer a repeated delivery once', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await Promise.all([a.process.waitFor(/firelane is up/, 30_000), b.process.waitFor(/firelane is up/, 30_000)]);
    for (const r of [a, b]) expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
    expect(a.process.output()).not.toContain('password');

    // Slack retries a delivery it thinks was lost; here the retry reaches the other replica, at once.
    const answers = await Promise.all([declare(a.url, 'trigger-1'), declare(b.url, 'trigger-1')]);
    const texts: string[] = [];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      texts.push(((await answer.json()) as { text: string }).text);
    }
    // Both answer with the one incident: INC-1, or INC-2 when the delivery that lost had drawn 1
    // (both draw a number before either's key is written; numbers may skip on PostgreSQL).
    const number = (text: string) => Number(/\*INC-(\d+)\* declared/.exec(text)?.[1]);
    expect([1, 2]).toContain(number(texts[0]!));
    expect(number(texts[1]!)).toBe(number(texts[0]!));
    await expect.poll(() => slack.pins.length, { timeout: 15_000, interval: 100 }).toBe(1);
    await expect.poll(() => slack.messagesIn(ANNOUNCE).length, { timeout: 5_000 }).toBe(1);
    expect(slack.callsTo('conversations.create').filter((c) => c.ok)).toHaveLength(1);
    // A second, different declaration is the next number, whichever replica takes it: INC-3 when the
    // two deliveries above drew two (a delivery repeated after the first committed draws none).
    const second = await declare(b.url, 'trigger-2');
    expect([2, 3]).toContain(number(((await second.json()) as { text: string }).text));
  }, 90_000);

  it('sev1 reminders every 3 s go on while one replica is killed: no gap over 15 s, none twice', async () => {
    const a = await replica();
    await a.process.waitFor(/firelane is up/, 30_000);
    const b = await replica();
    await b.process.waitFor(/firelane is up/, 30_000);
    expect(((await (await declare(a.url, 'trigger-r')).json()) as { text: string }).text).toContain('INC-1');
    await expect.poll(() => slack.channelByName('inc-1-payment-gateway-down'), { timeout: 15_000 }).toBeDefined();
    const room = slack.channelByName('inc-1-payment-gateway-down')!.id;
    const reminders = () => slack.messagesIn(room).filter((m) => m.text?.startsWith('⏰'));

    await expect.poll(() => reminders().length, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(2);
    const killedAt = Date.now();
    a.process.child.kill('SIGKILL');
    await a.process.exited;
    // Long enough for a job the killed replica held to be taken over (lease 9 s) and several more reminders.
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const seen = reminders();
    // The fake stamps messages in whole seconds (ts '<seconds>.<counter>'): gaps are ±1 s.
    const times = seen.map((m) => Number(m.ts.split('.')[0]) * 1000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(times.filter((t) => t >= killedAt - 1000).length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...gaps)).toBeLessThan(15_000);
    // Each reminder says which one it is (its missed count); none is posted twice.
    const texts = seen.map((m) => m.text);
    expect(new Set(texts).size).toBe(texts.length);
  }, 90_000);

  it('two approvers clicking Approve at once on the two replicas: one approval, one rollout', async () => {
    const kube: FakeKube = await startFakeKube({ stepMs: 5 });
    try {
      kube.addDeployment({
        namespace: 'payments',
        name: 'payments',
        replicas: 2,
        containers: [{ name: 'app', image: `${IMAGE}:v2.1.0` }],
      });
      writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfigYaml());
      writeFileSync(
        join(dir, 'deploy.yaml'),
        `services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE}, strategy: rolling }
    healthCheck: { window: 1s }
approvals:
  production: { approvers: [U0LEAD1, U0LEAD2], required: 1, allowSelfApproval: false, expiresAfter: 30m }
`,
      );
      const env = { KUBECONFIG: join(dir, 'kubeconfig') };
      const [a, b] = await Promise.all([replica(env, 'deploy.yaml'), replica(env, 'deploy.yaml')]);
      await Promise.all([a.process.waitFor(/firelane is up/, 30_000), b.process.waitFor(/firelane is up/, 30_000)]);

      const form = new URLSearchParams({
        command: '/deploy',
        text: 'payments v2.1.1',
        user_id: 'U0DEV',
        user_name: 'dev',
        channel_id: 'C0GENERAL',
        team_id: 'T0001',
        trigger_id: 'trigger-deploy',
        response_url: slack.responseUrl('deploy'),
      }).toString();
      const ack = await fetch(`${a.url}/slack/events`, {
        method: 'POST',
        headers: signedHeaders(SIGNING_SECRET, form),
        body: form,
      });
      expect(((await ack.json()) as { text: string }).text).toContain('REQ-1');
      const withApprove = () =>
        slack.messages.find((m) => buttons(m.blocks).some((x) => x.text.text === 'Approve')) as FakeMessage | undefined;
      await expect.poll(withApprove, { timeout: 15_000, interval: 100 }).toBeDefined();
      const { channel, ts } = withApprove()!;
      const card = () => slack.messages.find((m) => m.channel === channel && m.ts === ts);
      const approve = buttons(card()!.blocks).find((x) => x.text.text === 'Approve')!;

      // Each lead clicks at the same moment, each click reaching a different replica.
      const click = (url: string, user: string) => {
        const payload = buttonClick({
          user,
          channel,
          messageTs: ts,
          actionId: approve.action_id,
          value: approve.value,
          responseUrl: slack.responseUrl(user),
        });
        const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
        return fetch(`${url}/slack/events`, { method: 'POST', headers: signedHeaders(SIGNING_SECRET, body), body });
      };
      const clicks = await Promise.all([click(a.url, 'U0LEAD1'), click(b.url, 'U0LEAD2')]);
      for (const answer of clicks) expect(answer.status).toBe(200);

      await kube.waitForRollout('payments', 'payments', 30_000);
      await expect.poll(() => JSON.stringify(card()!.blocks), { timeout: 30_000, interval: 200 }).toMatch(/Succeeded/);
      const text = JSON.stringify(card()!.blocks);
      // Exactly one of the two is the approver the card names.
      expect([/U0LEAD1/.test(text), /U0LEAD2/.test(text)].filter(Boolean)).toHaveLength(1);
      const imageChanges = kube.requests.filter(
        (r) => r.method === 'PATCH' && r.path.endsWith('/namespaces/payments/deployments/payments'),
      );
      expect(imageChanges).toHaveLength(1);
      expect(kube.deployment('payments', 'payments').spec.template.spec.containers[0].image).toBe(`${IMAGE}:v2.1.1`);
    } finally {
      await kube.close();
    }
  }, 90_000);

  it('10,000 audited writes sent to both replicas at once: every one stored once, and `audit verify` passes', async () => {
    const [a, b] = await Promise.all([replica({ LOG_LEVEL: 'warn' }), replica({ LOG_LEVEL: 'warn' })]);
    await Promise.all([a.process.waitFor(/firelane is up/, 30_000), b.process.waitFor(/firelane is up/, 30_000)]);
    expect(((await (await declare(a.url, 'trigger-audit')).json()) as { text: string }).text).toContain('INC-1');

    const note = async (url: string, n: number) => {
      const form = new URLSearchParams({
        command: '/incident',
        text: `note INC-1 check ${n}`,
        user_id: n % 2 ? 'U0ALICE' : 'U0BOB',
        user_name: 'responder',
        channel_id: 'C0GENERAL',
        team_id: 'T0001',
        trigger_id: `trigger-note-${n}`,
        response_url: slack.responseUrl(`note-${n}`),
      }).toString();
      const answer = await fetch(`${url}/slack/events`, {
        method: 'POST',
        headers: signedHeaders(SIGNING_SECRET, form),
        body: form,
      });
      const text = ((await answer.json()) as { text: string }).text;
      if (answer.status !== 200 || !text.includes('Added to the timeline')) throw new Error(`note ${n}: ${text}`);
    };
    const WRITES = 10_000;
    const LANES = 12; // per replica
    let next = 0;
    const started = Date.now();
    await Promise.all(
      [a.url, b.url].flatMap((url) =>
        Array.from({ length: LANES }, async () => {
          for (let n = next++; n < WRITES; n = next++) await note(url, n);
        }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`10,000 notes through 2 replicas × ${LANES} lanes: ${seconds.toFixed(1)} s`);

    const env = { DATABASE_URL: database.url };
    const verified = await runCli(['audit', 'verify'], env);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/intact/);
    // Each note is one timeline event and one audit row, written once whichever replica took it.
    const exported = await runCli(['audit', 'export'], env);
    expect(exported.code).toBe(0);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; after: { text?: string } | null });
    const notes = rows.filter((r) => r.action === 'timeline.note');
    expect(notes).toHaveLength(WRITES);
    expect(new Set(notes.map((r) => r.after?.text)).size).toBe(WRITES);
  }, 240_000);

  it('a rolling restart of both replicas loses no request and no job', async () => {
    const urls: string[] = [];
    const start = async (slot: number) => {
      const r = await replica();
      await r.process.waitFor(/firelane is up/, 30_000);
      urls[slot] = r.url;
      return r;
    };
    const a = await start(0);
    const b = await start(1);

    // A client that sends a declaration every 150 ms to one replica or, when that one is down or
    // stopping (refused, 503), to the other: what a Service in front of ready pods does.
    const answers: string[] = [];
    let sending = true;
    let n = 0;
    const sender = (async () => {
      while (sending) {
        const id = n++;
        for (let attempt = 0; ; attempt++) {
          const url = urls[(id + attempt) % 2]!;
          try {
            const response = await declare(url, `trigger-roll-${id}`);
            if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
            answers[id] = ((await response.json()) as { text: string }).text;
            break;
          } catch (error) {
            if (attempt > 20) throw error;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();

    for (const [slot, old] of [
      [0, a],
      [1, b],
    ] as const) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      old.process.child.kill('SIGTERM');
      expect((await old.process.exited).code).toBe(0);
      await start(slot);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    sending = false;
    await sender;

    // Every request answered once with its own incident; every incident's war room opened once.
    const keys = answers.map((text) => /INC-(\d+)/.exec(text)?.[1]);
    expect(keys.every(Boolean)).toBe(true);
    expect(new Set(keys).size).toBe(answers.length);
    expect(answers.length).toBeGreaterThan(15);
    await expect.poll(() => slack.pins.length, { timeout: 30_000, interval: 200 }).toBe(answers.length);
    expect(slack.callsTo('conversations.create').filter((c) => c.ok)).toHaveLength(answers.length);
  }, 120_000);
});

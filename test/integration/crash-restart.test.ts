// The process is killed after Slack got its acknowledgement but before the war room exists;
// the restarted process finishes the work from the outbox, exactly once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { signedHeaders } from '../support/slack-signing.js';
import { ANNOUNCE, BOT_TOKEN, DEFAULT_YAML, SIGNING_SECRET } from '../support/harness.js';
import { freePort, startProcess, type RunningProcess } from '../support/process.js';
import { databaseEnv, dropDatabase } from '../support/test-store.js';

describe('crash after the ack', () => {
  let slack: FakeSlack;
  let dir: string;
  const running: RunningProcess[] = [];

  beforeEach(async () => {
    slack = await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: 'C0GENERAL', name: 'general' },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'firelane-crash-'));
    writeFileSync(join(dir, 'firelane.yaml'), DEFAULT_YAML);
  });
  afterEach(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(dir);
  });

  async function start(port: number) {
    const p = startProcess({
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(await databaseEnv(dir)),
      FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'info',
    });
    running.push(p);
    await p.waitFor(/firelane is up/);
    return p;
  }

  it('creates the war room once on restart', async () => {
    const port = await freePort();
    // Slack cannot create channels yet: the job fails and waits for its retry.
    slack.failNext('conversations.create', { status: 500 }, 1000);
    const first = await start(port);

    const form = new URLSearchParams({
      command: '/incident',
      text: 'sev1 Payment gateway down',
      user_id: 'U0ALICE',
      user_name: 'alice',
      channel_id: 'C0GENERAL',
      team_id: 'T0001',
      trigger_id: 'trigger-crash-1',
      response_url: slack.responseUrl('crash'),
    }).toString();
    const ack = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(SIGNING_SECRET, form),
      body: form,
    });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { text: string }).text).toContain('INC-1');

    // Wait until the job has tried (and failed) once, so the kill lands mid-work.
    await expect.poll(() => slack.callsTo('conversations.create').length, { timeout: 5000 }).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(slack.channelByName('inc-1-payment-gateway-down')).toBeUndefined();

    slack.clearFailures();
    const second = await start(port);
    await expect.poll(() => slack.pins.length, { timeout: 15_000, interval: 100 }).toBe(1);
    await expect.poll(() => slack.messagesIn(ANNOUNCE).length, { timeout: 5000 }).toBe(1);

    const created = slack.callsTo('conversations.create').filter((c) => c.ok);
    expect(created).toHaveLength(1);
    const room = slack.channelByName('inc-1-payment-gateway-down')!;
    expect(room).toBeDefined();
    // The incident card and the checklist (a job of its own, which may come a moment later), each once.
    await expect.poll(() => slack.messagesIn(room.id).length, { timeout: 5000, interval: 100 }).toBe(2);
    // The same request delivered again after the restart does not declare a second incident.
    const again = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(SIGNING_SECRET, form),
      body: form,
    });
    expect(((await again.json()) as { text: string }).text).toContain('INC-1');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(second.output()).toContain('stopped');
  });
});

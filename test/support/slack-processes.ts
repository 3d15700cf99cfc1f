// Real firelane processes (node dist/main.js) behind one loopback fake Slack, for the crash and replica
// tests: a fresh fake and config folder per test, processes killed after it, and a signed declaration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { ANNOUNCE, BOT_TOKEN, SIGNING_SECRET } from './harness.js';
import { freePort, startProcess, type RunningProcess } from './process.js';
import { signedHeaders } from './slack-signing.js';

export interface SlackProcesses {
  /** This test's fake Slack (announcement, escalation and #general channels). */
  readonly slack: FakeSlack;
  /** This test's folder, holding firelane.yaml. */
  readonly dir: string;
  /** Starts firelane on `database` (DATABASE_PATH or DATABASE_URL) and waits until it is up. */
  firelane(database: Record<string, string>): Promise<{ process: RunningProcess; url: string }>;
  /** `/incident sev1 Payment gateway down` as alice, signed, to `url`; expects INC-1 in the answer. */
  declare(url: string, trigger: string): Promise<void>;
  /** Kills every process still running (before its database is dropped) and waits for each to exit. */
  killAll(): Promise<void>;
}

/** Registers beforeEach/afterEach hooks in the calling file: a fake Slack and `yaml` as firelane.yaml per test. */
export function slackProcesses(name: string, yaml: string): SlackProcesses {
  let slack: FakeSlack;
  let dir: string;
  let running: RunningProcess[] = [];
  beforeEach(async () => {
    slack = await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: 'C0ESCALATE', name: 'escalations' },
        { id: 'C0GENERAL', name: 'general' },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), `firelane-${name}-`));
    writeFileSync(join(dir, 'firelane.yaml'), yaml);
  });
  const killAll = async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running = [];
  };
  afterEach(async () => {
    await killAll();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    killAll,
    get slack() {
      return slack;
    },
    get dir() {
      return dir;
    },
    async firelane(database) {
      const port = await freePort();
      const process = startProcess({
        ...database,
        PORT: String(port),
        HOST: '127.0.0.1',
        FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        LOG_LEVEL: 'info',
      });
      running.push(process);
      await process.waitFor(/firelane is up/, 30_000);
      return { process, url: `http://127.0.0.1:${port}` };
    },
    async declare(url, trigger) {
      const form = new URLSearchParams({
        command: '/incident',
        text: 'sev1 Payment gateway down',
        user_id: 'U0ALICE',
        user_name: 'alice',
        channel_id: 'C0GENERAL',
        team_id: 'T0001',
        trigger_id: trigger,
        response_url: slack.responseUrl(trigger),
      }).toString();
      const ack = await fetch(`${url}/slack/events`, {
        method: 'POST',
        headers: signedHeaders(SIGNING_SECRET, form),
        body: form,
      });
      expect(ack.status).toBe(200);
      expect(((await ack.json()) as { text: string }).text).toContain('INC-1');
    },
  };
}

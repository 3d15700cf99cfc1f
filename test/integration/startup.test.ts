// npm start's promises: migrations applied by start-up itself, platforms reported, one-line config errors.
// Each start is a first one: an empty database (a new SQLite file, or a new PostgreSQL database not
// migrated yet with FIRELANE_TEST_STORE=postgres).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, MAIN, NODE_FLAGS, startProcess, type RunningProcess } from '../support/process.js';
import { requireTool, TOOLS } from '../support/require-tool.js';
import { databaseEnv, dropDatabase, ON_POSTGRES, sqliteOnly } from '../support/test-store.js';

const SCRIPT = requireTool(TOOLS.script);

describe('start-up', () => {
  let dir: string;
  const running: RunningProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-start-'));
  });
  afterEach(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    running.length = 0;
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(dir);
  });
  const database = (file = join('nested', 'firelane.db')) => databaseEnv(dir, { file, migrated: false });
  const run = async (env: Record<string, string>) => {
    const p = startProcess({ ...(await database()), LOG_LEVEL: 'info', ...env });
    running.push(p);
    return p;
  };

  it('starts with no credentials on loopback, migrates a new database and reports the platforms that are off', async () => {
    const port = await freePort();
    const p = await run({ PORT: String(port) });
    await p.waitFor(/firelane is up/);
    expect(p.output()).toContain('slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)');
    // Without MICROSOFT_APP_ID, Teams is the local emulator's only, and the log says so.
    expect(p.output()).toContain('teams: local emulator only (no MICROSOFT_APP_ID: POST /api/messages from loopback)');
    expect(p.output()).toMatch(/no MICROSOFT_APP_ID, so POST \/api\/messages accepts only loopback traffic/);
    expect(p.output()).toContain(`http://127.0.0.1:${port}/`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('firelane_open_incidents');
    expect(metrics).toContain('firelane_process_cpu_seconds_total');
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
  });

  // The serve lock guards the SQLite file; on PostgreSQL any number of servers share the database.
  it.skipIf(ON_POSTGRES)(
    sqliteOnly(
      'a second server on the same SQLite file is refused, naming the first; a lock left by a dead server is taken over',
    ),
    async () => {
      const port = await freePort();
      const first = await run({ PORT: String(port) });
      await first.waitFor(/firelane is up/);
      const second = await run({ PORT: String(await freePort()) });
      expect((await second.exited).code).toBe(1);
      expect(second.output().trim().split('\n')).toEqual([
        `firelane: cannot start: another firelane (pid ${first.child.pid}, http://127.0.0.1:${port}/) already serves ${join(dir, 'nested', 'firelane.db')}; stop it first, or give this one its own DATABASE_PATH`,
      ]);
      // Killed without a chance to clean up: its lock names a process that is gone.
      first.child.kill('SIGKILL');
      await first.exited;
      const third = await run({ PORT: String(await freePort()) });
      await third.waitFor(/firelane is up/);
      third.child.kill('SIGTERM');
      expect((await third.exited).code).toBe(0);
    },
  );

  it('at a terminal, says in one plain line where to open the console (logs stay JSON lines)', async () => {
    if (!SCRIPT) return;
    const port = await freePort();
    // `script` gives the server a pseudo-terminal as standard output, as a person's shell does.
    const inner = [process.execPath, ...NODE_FLAGS, MAIN].map((a) => `'${a}'`).join(' ');
    const tty = startProcess(
      { PORT: String(port), HOME: dir, ...(await database('tty.db')), LOG_LEVEL: 'info' },
      ['-qfec', inner, '/dev/null'],
      SCRIPT,
    );
    running.push(tty);
    await tty.waitFor(/firelane is up: open http:\/\/127\.0\.0\.1:\d+\/ in your browser/);
    expect(tty.output()).toContain(
      `firelane is up: open http://127.0.0.1:${port}/ in your browser (local console; deploys go to a simulated cluster). Ctrl+C stops it.`,
    );
    // The JSON lines are still there for machines; without a terminal the plain line is not.
    await tty.waitFor(/\{"level":30,.*"msg":"firelane is up"/);
    // A SQLite file of its own; on PostgreSQL the same database, as a second replica.
    const piped = await run({ PORT: String(await freePort()), ...(await database('piped.db')) });
    await piped.waitFor(/"msg":"firelane is up"/);
    expect(piped.output()).not.toContain('in your browser');
  });

  it('stops with one line naming a bad variable', async () => {
    const p = await run({ PORT: 'abc' });
    const { code } = await p.exited;
    expect(code).toBe(2);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^firelane: configuration error: PORT: "abc" is not a port number/);
  });

  it('stops with one line naming the file, key path and reason', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'incidents:\n  severities:\n    sev1: { reminderEvery: 15x }\n');
    const p = await run({ FIRELANE_CONFIG: join(dir, 'bad.yaml'), PORT: String(await freePort()) });
    expect((await p.exited).code).toBe(2);
    expect(p.output().trim()).toMatch(
      /^firelane: configuration error: .*bad\.yaml: incidents\.severities\.sev1\.reminderEvery: "15x" is not a duration/,
    );
    expect(p.output().trim().split('\n')).toHaveLength(1);
  });

  it('never logs the Slack token or signing secret, even when Slack refuses the token', async () => {
    const token = 'xoxb-very-secret-token-value-123';
    const secret = 'signing-secret-value-456789';
    const p = await run({
      PORT: String(await freePort()),
      SLACK_BOT_TOKEN: token,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      LOG_LEVEL: 'trace',
    });
    await p.waitFor(/firelane is up|cannot start/, 20_000);
    p.child.kill('SIGKILL');
    await p.exited;
    expect(p.output()).not.toContain(token);
    expect(p.output()).not.toContain(secret);
  });
});

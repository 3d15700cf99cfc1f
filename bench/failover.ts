// Issue 27, section 7: the failover gap. firelane processes (node dist/main.js, as `npm start` runs it)
// keep the 3-second sev1 reminders of one incident going in its war room, and one process is killed
// with SIGKILL: how long is the longest silence between reminders in the room, and how late is the
// reminder the killed process was posting?
//
// - PostgreSQL: two replicas on one database (test/integration/replicas.test.ts's setup). The other
//   keeps ticking; a reminder job the killed one held is taken over once its lease (9 s) has run out.
//   Each replica runs in a UTS namespace of its own (`unshare --uts`) with its own host name, as on two
//   machines: on one host name, the survivor would see the dead pid and take the job over at its next
//   sweep, sooner than across machines.
// - SQLite: one process (SQLite has one writer), so nothing takes over: the bench restarts it at once
//   on the same file, and the gap is the restart plus the next tick. In production the restart is
//   Kubernetes' (the Recreate strategy's new pod), so this is a lower bound.
//
// Each is killed twice, on a fresh database: between two reminders (no job in flight), and while it
// is posting one (its reminder job running: the fake Slack answers every call after SLACK_LATENCY_MS).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { REMIND } from '../src/ports/jobs.js';
import { startFakeSlack, type FakeSlack } from '../test/fakes/fake-slack.js';
import { ANNOUNCE, BOT_TOKEN, SIGNING_SECRET } from '../test/support/harness.js';
import { MAIN, NODE_FLAGS, freePort, startProcess, type RunningProcess } from '../test/support/process.js';
import { signedHeaders } from '../test/support/slack-signing.js';
import { postgresAvailable, type PostgresForBench } from './postgres.js';
import { failoverGaps, verdictWord, type SectionResult, type SideBySide } from './side-by-side.js';

const CADENCE_S = 3;
const SLACK_LATENCY_MS = 200;
/** The bound the PostgreSQL lease is designed for (src/app.ts: lease 9 s + half a lease + a poll) and replicas.test.ts checks. */
const TAKEOVER_BOUND_MS = 15_000;
const YAML = `incidents:
  announceChannel: ${ANNOUNCE}
  escalationChannel: C0ESCALATE
  severities:
    sev1: { responders: [U0ONCALL1], reminderEvery: ${CADENCE_S}s, escalateAfterMissed: 0 }
`;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));
const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (line: string) => process.stderr.write(`[bench] failover: ${line}\n`);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`failover: timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Whether this machine lets us give a process a host name of its own (root, or a user namespace). */
function ownHostNames(): boolean {
  return spawnSync('unshare', ['--uts', 'sh', '-c', 'hostname firelane-probe'], { stdio: 'ignore' }).status === 0;
}

type Kill = 'between' | 'holding';
interface Scenario {
  database: 'sqlite' | 'postgres';
  kill: Kill;
}

interface ScenarioResult extends Scenario {
  before: number;
  after: number;
  longest: number;
  acrossKill: number | undefined;
  /** The latest reminder job's finish after its due time, ms (over all reminders of the run). */
  latest: number;
  /** Reminder posts beyond one per done reminder job. */
  duplicates: number;
  /** The Slack calls in flight when the process was killed. */
  inFlight: string;
  /** What brought the reminders back: the takeover (PostgreSQL) or the restart (SQLite), ms after the kill. */
  recovery: string;
}

interface JobRow {
  key: string;
  status: string;
  finishedAt: number | null;
  lockedBy: string | null;
}

async function runScenario(
  scenario: Scenario,
  postgres: PostgresForBench,
  hostNames: boolean,
): Promise<ScenarioResult> {
  const slack: FakeSlack = await startFakeSlack({
    latencyMs: SLACK_LATENCY_MS,
    channels: [
      { id: ANNOUNCE, name: 'incidents' },
      { id: 'C0ESCALATE', name: 'escalations' },
      { id: 'C0GENERAL', name: 'general' },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'firelane-bench-failover-'));
  writeFileSync(join(dir, 'firelane.yaml'), YAML);
  const database =
    scenario.database === 'postgres' && postgresAvailable(postgres) ? await postgres.database() : undefined;
  const pool = database && new pg.Pool({ connectionString: database.url, max: 1 });
  const sqlitePath = join(dir, 'firelane.db');
  let reader: Database.Database | undefined;
  const running: RunningProcess[] = [];
  const start = async (name: string) => {
    const port = await freePort();
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(database ? { DATABASE_URL: database.url } : { DATABASE_PATH: sqlitePath }),
      FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'info',
    };
    // unshare execs sh, sh execs node: the child's pid is firelane's.
    const p =
      database && hostNames
        ? startProcess(
            env,
            ['--uts', 'sh', '-c', `hostname ${name} && exec "$0" "$@"`, process.execPath, ...NODE_FLAGS, MAIN],
            'unshare',
          )
        : startProcess(env);
    running.push(p);
    const t0 = Date.now();
    await p.waitFor(/firelane is up/, 30_000);
    return { process: p, url: `http://127.0.0.1:${port}`, upMs: Date.now() - t0 };
  };
  const jobs = async (): Promise<JobRow[]> => {
    const sql = `SELECT key, status, finished_at AS "finishedAt", locked_by AS "lockedBy" FROM jobs WHERE kind = '${REMIND}'`;
    if (pool) return (await pool.query<JobRow>(sql)).rows;
    reader ??= new Database(sqlitePath, { readonly: true });
    reader.pragma('busy_timeout = 5000');
    return reader.prepare(sql).all() as JobRow[];
  };
  try {
    const a = await start('firelane-a');
    const b = database ? await start('firelane-b') : undefined;
    const form = new URLSearchParams({
      command: '/incident',
      text: 'sev1 Payment gateway down',
      user_id: 'U0ALICE',
      user_name: 'alice',
      channel_id: 'C0GENERAL',
      team_id: 'T0001',
      trigger_id: 'bench-failover',
      response_url: slack.responseUrl('bench-failover'),
    }).toString();
    const ack = await fetch(`${a.url}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(SIGNING_SECRET, form),
      body: form,
    });
    if (!((await ack.json()) as { text?: string }).text?.includes('INC-1'))
      throw new Error('failover: the declaration was not acknowledged');
    const room = (await until('the war room', () => slack.channelByName('inc-1-payment-gateway-down'), 20_000)).id;
    const reminders = () =>
      slack.calls.filter(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.params.channel === room &&
          String(c.params.text).startsWith('⏰') &&
          c.ok &&
          c.answeredAt !== undefined,
      );
    await until('two reminders', () => (reminders().length >= 2 ? true : undefined), 20_000);

    // The kill.
    let victim: RunningProcess;
    let heldKey: string | undefined;
    if (scenario.kill === 'between') {
      // Half a cadence after the last reminder was answered: no reminder job in flight.
      await sleep(Math.max(0, reminders().at(-1)!.answeredAt! + (CADENCE_S * 1000) / 2 - Date.now()));
      victim = a.process;
    } else {
      // While a reminder's chat.postMessage is at the fake, not answered yet: the process holding its job.
      const posting = () =>
        slack.calls.some(
          (c) =>
            c.method === 'chat.postMessage' &&
            c.params.channel === room &&
            String(c.params.text).startsWith('⏰') &&
            c.answeredAt === undefined,
        );
      await until('a reminder being posted', () => (posting() ? true : undefined), 20_000);
      const held = (await jobs()).find((j) => j.status === 'running' && j.lockedBy);
      if (!held || !posting()) throw new Error('failover: the reminder job was not caught running');
      heldKey = held.key;
      const pid = Number(held.lockedBy!.split(':')[1]);
      const holder = running.find((p) => p.child.pid === pid);
      if (!holder) throw new Error(`failover: the reminder job is held by pid ${pid}, not one of ours`);
      victim = holder;
    }
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const inFlight = slack.calls.filter((c) => c.at <= killedAt && (c.answeredAt ?? Infinity) > killedAt);
    const survivor = database ? (victim === a.process ? b! : a) : await start('firelane-a');
    const restart = database ? undefined : Date.now() - killedAt;

    // Two reminders after the kill, and the held job (if any) done.
    await until(
      'reminders after the kill',
      async () =>
        reminders().filter((c) => c.answeredAt! > killedAt).length >= 2 &&
        (!heldKey || (await jobs()).find((j) => j.key === heldKey)?.status === 'done')
          ? true
          : undefined,
      45_000,
    );
    const times = reminders().map((c) => c.answeredAt!);
    const { longest, acrossKill } = failoverGaps(times, killedAt);
    // The survivor's log says when it took the dead process's job back (pino: JSON lines with `time`).
    const requeued = survivor.process
      .output()
      .split('\n')
      .flatMap((line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; time?: number };
          return entry.msg?.startsWith('requeued jobs') && entry.time ? [entry.time] : [];
        } catch {
          return [];
        }
      })
      .find((t) => t >= killedAt);
    // Stopped gently (running jobs finish), then counted: each done reminder job owes exactly one post.
    survivor.process.child.kill('SIGTERM');
    await survivor.process.exited;
    const rows = await jobs();
    const done = rows.filter((j) => j.status === 'done' && j.finishedAt !== null);
    const late = done.map((j) => Number(j.finishedAt) - Number(j.key.split(':').at(-1)));
    const posts = reminders().length;
    const recovery = [
      ...(restart === undefined ? [] : [`restarted by the bench at once, up ${s1(restart)} after the kill`]),
      requeued
        ? `the held job requeued ${s1(requeued - killedAt)} after the kill`
        : database
          ? 'nothing to take over: the survivor kept ticking'
          : 'nothing held',
    ].join('; ');
    return {
      ...scenario,
      before: times.filter((t) => t <= killedAt).length,
      after: times.filter((t) => t > killedAt).length,
      longest,
      acrossKill,
      latest: Math.max(...late),
      duplicates: Math.max(0, posts - new Set(done.map((j) => j.key)).size),
      inFlight: inFlight.length ? inFlight.map((c) => c.method).join(', ') : 'nothing',
      recovery,
    };
  } finally {
    reader?.close();
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    await pool?.end();
    await database?.drop();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFailover(postgres: PostgresForBench): Promise<SectionResult> {
  const hostNames = postgresAvailable(postgres) && ownHostNames();
  const results: ScenarioResult[] = [];
  for (const database of ['sqlite', 'postgres'] as const)
    for (const kill of ['between', 'holding'] as const) {
      if (database === 'postgres' && !postgresAvailable(postgres)) continue;
      const t0 = Date.now();
      results.push(await runScenario({ database, kill }, postgres, hostNames));
      log(`${database}, killed ${kill}: ${s1(Date.now() - t0)}`);
    }
  const find = (database: string, kill: Kill) => results.find((r) => r.database === database && r.kill === kill);
  const killLabel = (kill: Kill) =>
    kill === 'between'
      ? 'between two reminders'
      : 'while posting a reminder (its chat.postMessage at Slack, unanswered)';
  const rows = results.map(
    (r) =>
      `| ${r.database === 'sqlite' ? 'SQLite, one process' : 'PostgreSQL, two replicas'} | ${killLabel(r.kill)} | ${r.inFlight} | ${r.before} / ${r.after} | ${r.acrossKill === undefined ? '–' : s1(r.acrossKill)} | ${s1(r.longest)} | ${s1(r.latest)} | ${r.duplicates} | ${r.recovery} |`,
  );
  const pgSkipped = `skipped${'missing' in postgres ? `: ${postgres.missing}` : ''}`;
  const sideBySide: SideBySide[] = (['between', 'holding'] as const).map((kill) => {
    const lite = find('sqlite', kill)!;
    const pgr = find('postgres', kill);
    return {
      figure: `failover: longest gap between reminders (every ${CADENCE_S} s), a process killed ${killLabel(kill)} (section 7)`,
      sqlite: `n/a: one process (restarted at once by the bench: ${s1(lite.longest)})`,
      postgres: pgr ? s1(pgr.longest) : pgSkipped,
      target: `PostgreSQL under ${s1(TAKEOVER_BOUND_MS)}`,
    };
  });
  const liteHeld = find('sqlite', 'holding')!;
  const pgHeld = find('postgres', 'holding');
  sideBySide.push({
    figure: `failover: the reminder the killed process was posting, finished after its due time (section 7)`,
    sqlite: `n/a: one process (restarted at once by the bench: ${s1(liteHeld.latest)})`,
    postgres: pgHeld ? s1(pgHeld.latest) : pgSkipped,
    target: `PostgreSQL under ${s1(TAKEOVER_BOUND_MS)} (the lease's bound)`,
  });
  const checks = results
    .filter((r) => r.database === 'postgres')
    .flatMap((r) => [
      `- Failover, a replica killed ${killLabel(r.kill)}: longest gap ${s1(r.longest)} (under ${s1(TAKEOVER_BOUND_MS)}): ${verdictWord(r.longest < TAKEOVER_BOUND_MS)}`,
      `- Failover, a replica killed ${killLabel(r.kill)}: latest reminder ${s1(r.latest)} after its due time (under ${s1(TAKEOVER_BOUND_MS)}): ${verdictWord(r.latest < TAKEOVER_BOUND_MS)}`,
      `- Failover, a replica killed ${killLabel(r.kill)}: no reminder posted twice (${r.duplicates}; replicas.test.ts checks it for a kill at any moment): ${verdictWord(r.duplicates === 0)}`,
    ]);
  // The summary takes the timing targets; the section lists the duplicate check too.
  const verdicts = checks.filter((line) => !line.includes('posted twice'));
  const pgNote = postgresAvailable(postgres)
    ? hostNames
      ? 'Each replica runs in a UTS namespace of its own (`unshare --uts`, host names firelane-a and firelane-b), as on two machines: the survivor cannot tell that the other process is gone and waits for its lease (9 s) to run out before it takes the job over.'
      : '**Both replicas have the same host name** (`unshare --uts` is not allowed here): the survivor sees the dead pid and takes a held job over at its next sweep, sooner than across two machines, where it waits for the lease (9 s) to run out.'
    : `PostgreSQL: **skipped**: ${postgres.missing}.`;
  const twice = results.filter((r) => r.duplicates > 0);
  const twiceNote = twice.length
    ? `\nA reminder posted twice is the delivery being at least once: the killed process's post reached Slack, but it died
before recording that step, so whoever ran the job next posted it again (src/jobs/worker.ts: each step is recorded
after its effect).
`
    : '';
  return {
    sideBySide,
    verdicts,
    markdown: `## 7. Failover gap

One sev1 incident declared (\`reminderEvery: ${CADENCE_S}s\`, \`escalateAfterMissed: 0\`), its reminders posted in its war room by
firelane processes (\`${['node', ...NODE_FLAGS, 'dist/main.js'].join(' ')}\`) against a loopback fake Slack that answers each Web API call
after ${SLACK_LATENCY_MS} ms. After two reminders, one process is killed with SIGKILL: between two reminders (half a cadence after
the last one was answered), or while it is posting one (its reminder's \`chat.postMessage\` arrived at the fake and not yet
answered; the process holding the running job, by the pid in the job's \`locked_by\`). The fake still answers a call whose
caller died, as Slack would: the request had arrived. A reminder's time is when the fake answered its \`chat.postMessage\`;
"latest" is the latest reminder job's finish after the due time it serves (its key), over the whole run. The run ends
once two reminders have come after the kill (and the held job is done); then the rest is stopped gently (SIGTERM:
running jobs finish) and the posts are counted against the reminder jobs done: "posted twice" is the posts beyond one
per job. A fresh database for each row.

- **PostgreSQL**: two replicas on one database, as test/integration/replicas.test.ts runs them; the other one keeps
  ticking. ${pgNote}
- **SQLite**: one process, by design (one writer; the Kubernetes overlay runs one replica): nothing takes over, so a
  failover gap is **not applicable**. What the row shows instead is the gap when the bench restarts the process at
  once on the same file (it requeues its own dead jobs at start): a lower bound; in production the restart is
  Kubernetes' (a new pod), seconds to tens of seconds more.

| database | killed | Slack calls in flight at the kill | reminders before / after the kill | gap across the kill | longest gap | latest reminder after its due time | posted twice | what brought them back |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Targets (PostgreSQL; replicas.test.ts checks the same bound, the lease is sized for it):
${checks.length ? checks.join('\n') : '- PostgreSQL skipped: no target measured'}
${twiceNote}`,
  };
}

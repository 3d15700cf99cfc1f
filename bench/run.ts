// npm run bench: the six measurements of issue 9, each beside its baseline from the same run, and
// issue 27's SQLite and PostgreSQL side by side (sections 1, 2 and 3 measure both; 7 is the failover
// gap), written to bench/RESULTS.md. Section 1 (acknowledgement latency, firelane vs a bare Bolt app,
// load from a separate process) is here; 2 and 5 are in chat-paths.ts, 3, 4 and 6 in
// scheduler-footprint.ts, 7 in failover.ts. One throw-away PostgreSQL server serves the run
// (postgres.ts); without one, the PostgreSQL figures say why. BENCH_ONLY=1,5 runs some sections
// (RESULTS.md then holds only those).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startFakeSlack } from '../test/fakes/fake-slack.js';
import { benchApproveToPatch, benchWarRoom } from './chat-paths.js';
import { benchFootprint, benchPunctuality, benchSchedulerCost, waitForJobs } from './scheduler-footprint.js';
import { benchFailover } from './failover.js';
import { NODE_FLAGS, freePort } from '../test/support/process.js';
import { reportHeader } from './report-header.js';
import { tsxCommand } from './same-node.js';
import {
  commitBaseline,
  pgDueJobs,
  postgresAvailable,
  startBenchPostgres,
  type DueJobs,
  type PostgresForBench,
} from './postgres.js';
import { sideBySideSection, verdictWord, type SectionResult, type SideBySide } from './side-by-side.js';

const ROOT = resolve(import.meta.dirname, '..');
const SECRET = 'bench-signing-secret-0123456789';
const TOTAL = Number(process.env.BENCH_TOTAL ?? 2000);
const CONCURRENCY = 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Unmeasured `/incident list` per connection that each load process sends first (connections, its JIT). */
const WARM_UP_PER_CONNECTION = 10;
/** Pause between the unloaded declarations of the idle row: a war room against the instant fake takes 16 ms (median; 51 ms the longest of 60). */
const SPACED_MS = 100;

interface LoadResult {
  n: number;
  failures: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  /** In a mixed load: the declarations' own latencies. */
  declareP50?: number;
  declareP90?: number;
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((done, fail) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) done(match);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`exited ${code} before ${pattern}: ${output}`)));
  });
}

/** Runs the load process; asynchronously, so the fake Slack in this process keeps answering meanwhile. Throws when a request failed. */
async function load(
  url: string,
  total: number,
  mix: string,
  concurrency = CONCURRENCY,
  gapMs = 0,
): Promise<LoadResult> {
  const [node, args] = tsxCommand(join(ROOT, 'bench/load.ts'), [
    url,
    SECRET,
    String(total),
    String(concurrency),
    mix,
    String(WARM_UP_PER_CONNECTION),
    String(gapMs),
  ]);
  const { stdout } = await promisify(execFile)(node, args, { encoding: 'utf8' });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult;
  // A figure over failed requests would measure the failures: no figure then.
  if (result.failures) throw new Error(`${url} answered ${result.failures} requests with a non-200 status`);
  return result;
}

/** CPU time (user + system, all threads) a process has used so far, in ms: /proc/<pid>/stat, 100 ticks a second (CLK_TCK on Linux). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The CPUs this bench may use, counted before it pins anything (pinned, it counts only its own). */
const CPUS = availableParallelism();

/**
 * Sets the CPUs of every thread of each process (`taskset`; a process started later inherits its
 * parent's). Returns why that cannot be done here (fewer than two CPUs, no taskset), else undefined.
 */
async function pin(pids: number[], cpus: string): Promise<string | undefined> {
  if (CPUS < 2) return `this process may use ${CPUS} CPU`;
  if (pids.length === 0) return "the server is not this machine's";
  try {
    for (const pid of pids) await promisify(execFile)('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
    return undefined;
  } catch (error) {
    return `taskset failed: ${String(error instanceof Error ? error.message : error).split('\n')[0]}`;
  }
}

/** A mixed load's declarations, for the progress lines: ", declarations p50 / p90 …". */
const declarations = (r: LoadResult) =>
  r.declareP50 === undefined ? '' : `, declarations p50 ${ms(r.declareP50)} / p90 ${ms(r.declareP90!)}`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (v: number, digits = 2) => `${v.toFixed(digits)} ms`;
/** Resolves when the child has exited (at once if it has). */
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((done) => child.once('exit', () => done()));

type AppName = 'bolt' | 'sqlite' | 'postgres';
const APP_LABEL: Record<AppName, string> = { bolt: 'Bolt', sqlite: 'firelane SQLite', postgres: 'firelane PostgreSQL' };

/** Milliseconds, or why there is no figure. */
const cell = (v: number | undefined, why = 'skipped') => (v === undefined || !Number.isFinite(v) ? why : ms(v));

async function benchAck(postgres: PostgresForBench): Promise<SectionResult> {
  const slack = await startFakeSlack({
    token: 'xoxb-bench',
    channels: [
      { id: 'C0INCIDENTS', name: 'incidents' },
      { id: 'C0GENERAL', name: 'general' },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'firelane-bench-'));
  writeFileSync(join(dir, 'firelane.yaml'), 'incidents:\n  announceChannel: C0INCIDENTS\n');
  const pgDatabase = postgresAvailable(postgres) ? await postgres.database() : undefined;
  const ports = { sqlite: await freePort(), postgres: await freePort(), bolt: await freePort() };
  // firelane as `npm start` runs it, once per database: the same environment but where the state is.
  const startFirelane = (port: number, database: Record<string, string>) =>
    spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'dist/main.js')], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        ...database,
        FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
        SLACK_BOT_TOKEN: 'xoxb-bench',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiUrl,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const firelane = startFirelane(ports.sqlite, { DATABASE_PATH: join(dir, 'bench.db') });
  const firelanePg = pgDatabase && startFirelane(ports.postgres, { DATABASE_URL: pgDatabase.url });
  const bolt = spawn(...tsxCommand(join(ROOT, 'bench/bare-bolt.ts')), {
    env: { PATH: process.env.PATH, PORT: String(ports.bolt), SIGNING_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let reader: Database.Database | undefined;
  const pgReader = pgDatabase && new pg.Pool({ connectionString: pgDatabase.url, max: 1 });
  try {
    const [boltUp] = await Promise.all([
      waitForLine(bolt, /listening \d+ pid (\d+)/),
      waitForLine(firelane, /firelane is up/),
      ...(firelanePg ? [waitForLine(firelanePg, /firelane is up/)] : []),
    ]);
    const apps: AppName[] = firelanePg ? ['bolt', 'sqlite', 'postgres'] : ['bolt', 'sqlite'];
    const pids: Record<AppName, number> = {
      bolt: Number(boltUp[1]),
      sqlite: firelane.pid!,
      postgres: firelanePg?.pid ?? NaN,
    };
    // firelane's war-room jobs from a mixed round must not run into the next round (the bare app's list
    // round follows): every load starts with no job due or running.
    reader = new Database(join(dir, 'bench.db'), { readonly: true });
    reader.pragma('busy_timeout = 5000');
    const dueJobs: Partial<Record<AppName, Database.Database | DueJobs>> = {
      sqlite: reader,
      ...(pgReader && { postgres: pgDueJobs(pgReader) }),
    };
    const drains: number[] = [];
    const targets = Object.fromEntries(
      apps.map((name) => [name, `http://127.0.0.1:${ports[name]}/slack/events`]),
    ) as Record<AppName, string>;
    // Warm-up: JIT, connection pools, SQLite page cache.
    for (const name of apps) await load(targets[name], 300, 'list');
    const perApp = <T>(make: () => T) => Object.fromEntries(apps.map((name) => [name, make()])) as Record<AppName, T>;
    const results = { list: perApp<LoadResult[]>(() => []), mixed: perApp<LoadResult[]>(() => []) };
    // CPU time of each app per command sent (the warm-up lists of the load process included), during
    // the load and, for firelane, after it until its jobs are done; on PostgreSQL the server's too.
    const newCpu = () => ({ during: [] as number[], after: [] as number[], server: [] as number[] });
    const cpu = { list: perApp(newCpu), mixed: perApp(newCpu) };
    const serverCpu = () => (postgresAvailable(postgres) ? postgres.cpuMs() : undefined);
    const sent = TOTAL + CONCURRENCY * WARM_UP_PER_CONNECTION;
    const ownCore = { sqlite: [] as LoadResult[], postgres: [] as LoadResult[] };
    let unpinnedWhy: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      for (const mix of ['list', 'mixed'] as const) {
        for (const name of apps) {
          const [cpu0, server0] = [cpuMsOf(pids[name]), serverCpu()];
          const r = await load(targets[name], TOTAL, mix);
          const [cpu1, server1] = [cpuMsOf(pids[name]), serverCpu()];
          const jobs = dueJobs[name];
          const drained = jobs ? await waitForJobs(jobs, 120_000) : 0;
          const c = cpu[mix][name];
          c.during.push((cpu1 - cpu0) / sent);
          c.after.push((cpuMsOf(pids[name]) - cpu1) / sent);
          if (name === 'postgres' && server0 !== undefined && server1 !== undefined)
            c.server.push((server1 - server0) / sent);
          if (name !== 'bolt' && mix === 'mixed') drains.push(drained);
          results[mix][name].push(r);
          process.stdout.write(
            `round ${round + 1} ${mix.padEnd(5)} ${name.padEnd(8)} p50 ${ms(r.p50)} p99 ${ms(r.p99)} ${r.rps.toFixed(0)} req/s${declarations(r)}, CPU ${c.during.at(-1)!.toFixed(2)} ms per command${name === 'postgres' && c.server.length ? ` (+ server ${c.server.at(-1)!.toFixed(2)} ms)` : ''}${name !== 'bolt' ? ` (jobs drained ${drained.toFixed(0)} ms after, CPU ${c.after.at(-1)!.toFixed(2)} ms per command)` : ''}\n`,
          );
        }
      }
      // The mixed load again, with the PostgreSQL server on a core of its own and everything else (this
      // process with the fake Slack, the load processes it starts, both firelanes) on the other: as in a
      // deployment, where the database runs on its own host and its CPU is not taken from firelane's.
      if (firelanePg && postgresAvailable(postgres)) {
        const others = [process.pid, pids.sqlite, pids.postgres];
        unpinnedWhy = (await pin(others, '0')) ?? (await pin(postgres.pids(), '1'));
        try {
          if (unpinnedWhy === undefined) {
            for (const name of ['sqlite', 'postgres'] as const) {
              const r = await load(targets[name], TOTAL, 'mixed');
              await waitForJobs(dueJobs[name]!, 120_000);
              ownCore[name].push(r);
              process.stdout.write(
                `round ${round + 1} mixed ${name.padEnd(8)} (the server on a core of its own) p50 ${ms(r.p50)} p99 ${ms(r.p99)} ${r.rps.toFixed(0)} req/s${declarations(r)}\n`,
              );
            }
          }
        } finally {
          const all = `0-${CPUS - 1}`;
          await pin(others, all);
          await pin(postgres.pids(), all);
        }
      }
    }
    // Unloaded: one request at a time, what a single on-call engineer sees.
    const sequential: string[] = [];
    // Back to back, a declaration's war-room jobs still run while the next one is acknowledged;
    // SPACED_MS apart, they have finished.
    const unloaded = [
      ['`/incident list`', 'list', 500, 0],
      ['declaration, back to back', 'declare', 500, 0],
      [`declaration, ${SPACED_MS} ms apart`, 'declare', 200, SPACED_MS],
    ] as const;
    for (const [label, mix, total, gapMs] of unloaded) {
      const r: Partial<Record<AppName, LoadResult>> = {};
      for (const name of apps) {
        r[name] = await load(targets[name], total, mix, 1, gapMs);
        const jobs = dueJobs[name];
        if (jobs) await waitForJobs(jobs, 120_000);
      }
      sequential.push(
        `| ${label} | ${cell(r.bolt?.p50)} | ${cell(r.bolt?.p99)} | ${cell(r.sqlite?.p50)} | ${cell(r.sqlite?.p99)} | ${cell(r.postgres?.p50)} | ${cell(r.postgres?.p99)} |`,
      );
      process.stdout.write(
        `sequential ${label.padEnd(28)} ${apps.map((name) => `${name} p50 ${ms(r[name]!.p50)} p99 ${ms(r[name]!.p99)}`).join(' · ')}\n`,
      );
    }
    const rows: string[] = [];
    const cpuRows: string[] = [];
    const verdicts: string[] = [];
    const sideBySide: SideBySide[] = [];
    const summaryVerdicts: string[] = [];
    for (const mix of ['list', 'mixed'] as const) {
      const label = mix === 'list' ? '`/incident list`' : '90% list, 10% declarations';
      const of = (name: AppName, f: (r: LoadResult) => number) =>
        results[mix][name]?.length ? median(results[mix][name].map(f)) : undefined;
      const [bp50, bp99, sp50, sp99, pp50, pp99] = [
        of('bolt', (r) => r.p50)!,
        of('bolt', (r) => r.p99)!,
        of('sqlite', (r) => r.p50)!,
        of('sqlite', (r) => r.p99)!,
        of('postgres', (r) => r.p50),
        of('postgres', (r) => r.p99),
      ];
      const rps = apps.map((name) => of(name, (r) => r.rps)!.toFixed(0)).join(' / ');
      const pgRatio = pp99 === undefined ? undefined : pp99 / sp99;
      // The same ratio round by round (the apps alternate within a round): how much it moves here.
      const perRound = results[mix].postgres?.map((r, i) => r.p99 / results[mix].sqlite[i]!.p99) ?? [];
      const range = perRound.length
        ? ` (rounds ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}x)`
        : '';
      rows.push(
        `| ${label} | ${ms(bp50)} | ${ms(bp99)} | ${ms(sp50)} | ${ms(sp99)} | ${cell(pp50)} | ${cell(pp99)} | ${(sp99 / bp99).toFixed(2)}x | ${pgRatio === undefined ? 'skipped' : `${pgRatio.toFixed(2)}x${range}`} | ${rps} |`,
      );
      const c = cpu[mix];
      const [bc, sc, sa] = [median(c.bolt.during), median(c.sqlite.during), median(c.sqlite.after)];
      const pc = c.postgres?.during.length ? median(c.postgres.during) : undefined;
      const pa = c.postgres?.after.length ? median(c.postgres.after) : undefined;
      const ps = c.postgres?.server.length ? median(c.postgres.server) : undefined;
      const pgCpu =
        pc === undefined
          ? 'skipped'
          : `${pc.toFixed(2)} + ${ps === undefined ? 'n/a' : ps.toFixed(2)} ms | ${pa!.toFixed(2)} ms`;
      cpuRows.push(
        `| ${label} | ${bc.toFixed(2)} ms | ${sc.toFixed(2)} ms | ${(sc / bc).toFixed(2)}x | ${sa.toFixed(2)} ms | ${pc === undefined ? 'skipped | skipped' : pgCpu} | ${((of('sqlite', (r) => r.rps)! / of('bolt', (r) => r.rps)!) * 100).toFixed(0)}% |`,
      );
      verdicts.push(
        `- ${mix}: firelane (SQLite) p99 ${ms(sp99)} is ${(sp99 / bp99).toFixed(2)}x the bare Bolt app's (target at most 1.25x: ${sp99 / bp99 <= 1.25 ? 'met' : 'missed'}); under 50 ms: ${sp99 < 50 ? 'met' : 'missed'}`,
      );
      if (pp99 !== undefined && pgRatio !== undefined)
        verdicts.push(
          `- ${mix}: firelane on PostgreSQL p99 ${ms(pp99)}: under 50 ms: ${pp99 < 50 ? 'met' : 'missed'}; ${pgRatio.toFixed(2)}x firelane on SQLite's (target at most 1.5x): ${pgRatio <= 1.5 ? 'met' : 'missed'}`,
        );
      summaryVerdicts.push(
        `- Acknowledgement p99 under 50 ms, ${mix}, SQLite: ${ms(sp99)}: ${verdictWord(sp99 < 50)}`,
        ...(pp99 === undefined || pgRatio === undefined
          ? []
          : [
              `- Acknowledgement p99 under 50 ms, ${mix}, PostgreSQL: ${ms(pp99)}: ${verdictWord(pp99 < 50)}`,
              `- PostgreSQL's acknowledgement p99 at most 1.5x SQLite's, ${mix}: ${pgRatio.toFixed(2)}x: ${verdictWord(pgRatio <= 1.5)}`,
            ]),
      );
      sideBySide.push({
        figure: `acknowledgement p99 at concurrency ${CONCURRENCY}, ${mix === 'list' ? '`/incident list`' : '90% list / 10% declarations'} (section 1)`,
        sqlite: ms(sp99),
        postgres: cell(pp99),
        ratio: pgRatio,
        target: 'under 50 ms; PostgreSQL at most 1.5x SQLite',
      });
    }
    // The declarations alone in the mixed load (median of the rounds), and the mixed load with the server on its own core.
    const declared = (runs: LoadResult[] | undefined) =>
      runs?.length && runs[0]!.declareP50 !== undefined
        ? `${ms(median(runs.map((r) => r.declareP50!)))} / ${ms(median(runs.map((r) => r.declareP90!)))}`
        : 'skipped';
    const declarationsLine = `Declarations alone in the mixed load, p50 / p90 (median of the rounds): SQLite ${declared(results.mixed.sqlite)}, PostgreSQL ${declared(results.mixed.postgres)}. A declaration on PostgreSQL is two round trips to the server (its numbers drawn, then its rows, request key and audit entries in one statement); each waits for its turn on firelane's busy event loop, where SQLite's synchronous transaction waits for none.`;
    let ownCoreSection = `With the server on a core of its own: ${unpinnedWhy ?? 'skipped'}.`;
    if (ownCore.postgres.length) {
      const [s99, p99] = [median(ownCore.sqlite.map((r) => r.p99)), median(ownCore.postgres.map((r) => r.p99))];
      const ratios = ownCore.postgres.map((r, i) => r.p99 / ownCore.sqlite[i]!.p99);
      const ratio = p99 / s99;
      ownCoreSection = `The mixed load again in each round, with the PostgreSQL server's processes pinned to one core (taskset) and
everything else (both firelanes, the load process, this bench with the fake Slack) to the other: as in a deployment,
where the database runs on its own host and its work does not take firelane's CPU. SQLite's firelane gets the same
one core (its database work is in its own process):

| load | firelane SQLite p50 | SQLite p99 | firelane PostgreSQL p50 | PostgreSQL p99 | p99 PostgreSQL ÷ SQLite | declarations p50 / p90, SQLite | PostgreSQL | req/s SQLite / PostgreSQL |
|---|---|---|---|---|---|---|---|---|
| 90% list, 10% declarations, the server on a core of its own | ${ms(median(ownCore.sqlite.map((r) => r.p50)))} | ${ms(s99)} | ${ms(median(ownCore.postgres.map((r) => r.p50)))} | ${ms(p99)} | ${ratio.toFixed(2)}x (rounds ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x) | ${declared(ownCore.sqlite)} | ${declared(ownCore.postgres)} | ${median(ownCore.sqlite.map((r) => r.rps)).toFixed(0)} / ${median(ownCore.postgres.map((r) => r.rps)).toFixed(0)} |

- mixed, the server on a core of its own: firelane on PostgreSQL p99 ${ms(p99)} is ${ratio.toFixed(2)}x firelane on SQLite's (target at most 1.5x): ${verdictWord(ratio <= 1.5)}`;
      summaryVerdicts.push(
        `- PostgreSQL's acknowledgement p99 at most 1.5x SQLite's, mixed, the server on a core of its own: ${ratio.toFixed(2)}x: ${verdictWord(ratio <= 1.5)}`,
      );
      sideBySide.push({
        figure: `acknowledgement p99 at concurrency ${CONCURRENCY}, 90% list / 10% declarations, the PostgreSQL server on a core of its own, the rest on the other (section 1)`,
        sqlite: ms(s99),
        postgres: ms(p99),
        ratio,
        target: 'PostgreSQL at most 1.5x SQLite',
      });
    }
    const commits = await commitBaseline(join(dir, 'commit-baseline.db'), postgres);
    const pgNote = postgresAvailable(postgres)
      ? `firelane on PostgreSQL is the same command with \`DATABASE_URL\` (a fresh database on the bench's server, described in
the summary above) instead of \`DATABASE_PATH\`; it runs in the same alternating rounds. Its CPU is the firelane process's plus the server's (all its processes: the
work SQLite does inside firelane's process, PostgreSQL does in its own).`
      : `firelane on PostgreSQL: **skipped**: ${postgres.missing}.`;
    return {
      sideBySide,
      verdicts: summaryVerdicts,
      markdown: `## 1. Acknowledgement latency

${TOTAL} signed \`/incident\` slash commands per round at concurrency ${CONCURRENCY}, from a separate
load process (undici, bodies signed in advance), into (a) a bare @slack/bolt app on HTTPReceiver
that only acks and (b) firelane (\`${['node', ...NODE_FLAGS, 'dist/main.js'].join(' ')}\`, as \`npm start\` runs it: timestamp check, Bolt signature check, parse,
route, one SQLite transaction, render). ${pgNote}
In the mixed load every 10th command declares an
incident, whose war-room jobs then run in the same firelane process against a loopback fake Slack
while the load goes on. Median of ${ROUNDS} alternating rounds after a 300-request warm-up. Each load
process first opens its ${CONCURRENCY} connections with ${WARM_UP_PER_CONNECTION} unmeasured \`/incident list\` each, and each load
starts only when no firelane job is due or running (a mixed round's war-room jobs end
${(Math.min(...drains) / 1000).toFixed(1)}-${(Math.max(...drains) / 1000).toFixed(1)} s after its last command).

| load | Bolt p50 | Bolt p99 | firelane SQLite p50 | SQLite p99 | firelane PostgreSQL p50 | PostgreSQL p99 | p99 SQLite ÷ Bolt | p99 PostgreSQL ÷ SQLite | req/s ${apps.map((name) => APP_LABEL[name].replace('firelane ', '')).join(' / ')} |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${verdicts.join('\n')}

${declarationsLine}

${ownCoreSection}

Baseline, one write: a single-row INSERT committed on its own, ${200} times, p50 / p99: SQLite (WAL, synchronous NORMAL, as
firelane opens it: no fsync at commit) ${ms(commits.sqlite.p50, 3)} / ${ms(commits.sqlite.p99, 3)}; PostgreSQL ${commits.postgres && postgresAvailable(postgres) ? `${ms(commits.postgres.p50)} / ${ms(commits.postgres.p99)} (a round trip${postgres.synchronousCommit === 'off' ? '; synchronous_commit off: no wait for the fsync' : ", and with synchronous_commit on, the WAL's fsync"})` : 'skipped'}.

What each app's process spent (user + system CPU of all its threads, from /proc, per command sent including the
${CONCURRENCY * WARM_UP_PER_CONNECTION} warm-up lists; median of the rounds). Two cores serve the apps, the load process, the fake Slack and the
PostgreSQL server, so a process that needs more CPU per command answers fewer per second, and at a fixed concurrency of ${CONCURRENCY} each
command then waits longer (Little's law: latency = ${CONCURRENCY} / throughput):

| load | Bolt CPU per command | firelane SQLite, during the load | ratio | SQLite after the load (war-room jobs) | firelane PostgreSQL during the load: process + server | PostgreSQL after the load | SQLite's req/s, % of Bolt's |
|---|---|---|---|---|---|---|---|
${cpuRows.join('\n')}

Unloaded (one request at a time; the time a single engineer waits for the answer). Back to back, each
declaration's war-room jobs (seven Slack calls) are still running when the next declaration arrives; ${SPACED_MS} ms
apart, the app is idle again, as it is for an engineer declaring one incident:

| command | Bolt p50 | Bolt p99 | firelane SQLite p50 | SQLite p99 | firelane PostgreSQL p50 | PostgreSQL p99 |
|---|---|---|---|---|---|---|
${sequential.join('\n')}

The databases fill up during the run (each mixed round declares ${TOTAL / 10} incidents), so from the
second round on \`/incident list\` answers with its maximum of 50 open incidents: a long reply.

Profiling notes and the figures before each fix: at the end of this file.

\`BENCH_TOTAL\` and \`BENCH_ROUNDS\` override the sizes.
`,
    };
  } finally {
    reader?.close();
    await pgReader?.end();
    firelane.kill('SIGTERM');
    firelanePg?.kill('SIGTERM');
    bolt.kill('SIGTERM');
    await Promise.all([firelane, bolt, ...(firelanePg ? [firelanePg] : [])].map(exited));
    await pgDatabase?.drop();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// What the profiles showed where targets were missed, and the figures before and after each fix.
// Kept here because RESULTS.md is written anew by every run.
const HISTORY = `## Profiling notes: misses, causes, fixes (before -> after)

All on this machine, 2026-11-21; profiles with \`node --cpu-prof\` on the process under load.

1. **Acknowledgement latency.** First profile (list load): drizzle built and prepared SQL on every
   request (~15% of CPU) and the Slack fallback text rendered all 50 lines of a list (4%): hot queries
   prepared once, fallback is the first line (list p99 ratio 1.78x -> 1.32x). Then the bench itself was
   fixed: it ran the load process synchronously, which froze the fake Slack living in the bench process,
   so the war-room jobs stalled during the mixed load and the figure looked better than it was (1.11x;
   measured properly 2.01x at 540 req/s). Second profile (mixed load): reading the 51 newest open
   incidents was 17% of CPU, the inserts of a declaration built per call ~9% (the checklist's multi-row
   insert alone 8.5%), Bolt's unused conversation store 2%. Fixes: the open list is cached until anything
   is written (this process's changes or another process's commit), declaration inserts prepared once,
   no savepoints inside the declaration's transaction, Bolt's conversation store off, and jobs yield to
   requests being acknowledged. After: list load 1.32x -> 0.66-0.75x (p99 45-55 ms); mixed load
   2.01x -> 1.6-1.7x, 540 -> 760-800 req/s. **Still missed: the mixed load**, and 50 ms absolute in most
   rounds (the bare Bolt app's own p99 ranged 27-95 ms between rounds here). With the worker held back
   entirely (an experiment) the mixed load stayed at 1.6x, so the yield to acknowledgements is no measurable
   part of the gain here (it keeps acks first when a burst meets slow jobs): what is left is the acknowledgement itself:
   Bolt's middleware with firelane's handler (19% of CPU), sending the 50-line list reply (11%; the bare
   app answers "ok"), rendering it (6%) and the signature check (3%).
   Third profile (mixed load; busy CPU of the profiled process per request, start-up included:
   2.70 -> 2.05 ms): the open list was still dropped by every write (jobs, audit, timeline): now only by
   incident writes, and then only the written rows are read again and patched in (the list 6.4% -> 2.0%
   of CPU), with its reply and its Slack rendering kept (rendering 6.4% -> 0); Slack Web API calls go
   through undici's request() instead of the global fetch (jobs 3.3 -> 2.4 s of the profile; 1.06 ->
   0.75 ms CPU per call with the fake in a micro-bench); the card's hotfix query compared the status with a
   bound parameter on a partial index's column, so SQLite planned it anew on every run (35 -> 4 µs); job
   completion prepared once; the command's child logger made only when used (1.2%); the receipt lookup a
   plain statement. Rounds raised from 3 to 5: in one run the bare app's mixed p99 alone ranged 28-68 ms.
   After: the mixed ratio lay between 1.02x and 1.67x in the runs of this session (firelane p99 47-76 ms
   at 720-935 req/s, the bare app's 28-68 ms at 1,600-2,000): a run can show it met, most do not, so
   **not reliably met**. Per declaration about 6 ms of job CPU (seven Slack calls, each with its
   durable step) runs in the event loop that acknowledges, plus ~1 ms for its acknowledgement; the next
   step would be the outbox worker on a thread of its own, not done. Last, SQLite's automatic WAL
   checkpoint (copy 1,000 pages and fsync, inside whichever commit crosses the mark) blocked the event
   loop: in a 6 s run of small commits, p99.9 commit time 22-26 ms, longest 27-43 ms; with the
   checkpoints on a thread of their own while chat requests come in: 5-7 ms and 10-23 ms, time spent in
   commits over 5 ms 344-366 -> 23-85 ms. In the mixed load the p99 gain is within this machine's
   noise (the thread's copying and fsyncs use the same two cores).
   2026-11-22, the next step tried and **reverted**: the war-room jobs' Slack Web API calls on a worker
   thread of their own (WebClient, its HTTP client, retries and parsing: 55% of the job's CPU in a
   profile of 300 declarations). The acknowledging thread's job CPU fell 3.5 -> 1.3 s in the mixed
   profile, but the mixed load did not get faster: 770 vs 769 req/s and p99 74.9 vs 78.2 ms (median of
   7 alternating rounds, the bare app 46.8 ms), with the process's CPU per request up 1.64 -> 1.86 ms
   (copying calls between threads, a second JIT); with the thread at nice 10 or 19, 747 and 763 req/s.
   What the measurements show instead: firelane's own acknowledgement histogram
   (firelane_ack_latency_seconds, handler entry to ack) had 91% of the lists under 2 ms and 96% of the
   declarations under 5 ms while the load process saw p50 30 ms; per round (/proc schedstat) the
   firelane thread ran 57% of the time, waited for a CPU 18% and slept 25%, and the bare app's thread
   ran 38% and waited for a CPU 20%, with the machine 77% busy (the load process, the fake Slack, other
   tenants). With the worker switched off entirely (an experiment) the mixed p99 was 49-75 ms, with it
   69-80 ms. So the mixed p99 here is set mostly by waiting for one of two shared cores, not by the
   work per request, and only less CPU in total (not moving it) could still move it. Kept from that
   day: the Slack fetch answers with only the part of a Response that WebClient reads, over the bytes
   received (no Headers object, no body stream): 0.52-0.62 -> 0.49-0.51 ms CPU per call with the fake
   (micro-bench, 2,000 calls, median of 5, three runs each). Also tried that day and not kept: the
   incident UPDATE as a plain better-sqlite3 statement instead of drizzle's prepared query (10% less
   tick CPU in a profile; section 3 in four alternating runs: worst p90 17.5 / 15.9 ms against
   14.7 / 14.4 ms without it, i.e. no gain this machine can show). Kept: a tick that writes reminders
   keeps the WAL checkpoints on their thread too (until then only chat requests did; the tick's commit
   crossing 1,000 WAL pages copied and fsynced them): section 3 in three alternating pairs, worst p90
   13.2 / 11.9 / 13.5 ms against 15.4 / 13.8 / 14.8 ms without.
   Later that day, two faults of the bench itself, both found in its raw data. (a) A mixed round's
   war-room jobs ran on for about a second after its load ended, into the next round, the bare app's
   list load: its list p99 read 77.5 ms in the last full run, against 46.8 ms in its own mixed load of
   the same work. Now every load starts only when no firelane job is due or running. (b) Every round
   starts a fresh load process, and its first 20 commands open the 20 connections while its code is
   cold: in every round they were the 20 slowest of the 2,000 (bare app: 50-90 ms at a p50 of 10-14 ms,
   the 21st slowest 32-55 ms), so the p99 (the 20th slowest) measured that set-up, for either app. The
   load process now first sends 10 unmeasured \`/incident list\` per connection. Bare app p99 in six
   rounds: 44-75 -> 20-37 ms. With both, the first run gave list 0.86x and mixed 1.86x (firelane p99
   27.2 and 44.8 ms, the bare app 31.7 and 24.1 ms): under 50 ms met, and the mixed ratio, which had
   seemed met, clearly missed. Two experiments re-run under this measurement (one process per variant,
   alternating rounds in one run): the Slack Web API calls on a thread of their own, p99 48.4 against
   39.8 ms without, 946 against 1,018 req/s (7 rounds): still worse. Jobs held back for the whole load
   (the worker's yield raised from 1 s to 60 s): p99 65.4 against 62.1 ms, 863 against 838 req/s
   (6 rounds, a busier machine): no difference, because with the 1 s yield most job CPU already runs
   after the load: the firelane process's CPU per command was 1.04-1.26 ms during the mixed load in
   both, and another 0.37-0.52 ms per command after it (rounds 2-6; the first 1.54-1.62 and 0.62-0.75). For comparison, CPU per command during a
   list-only load 0.63-0.98 ms; during a load of declarations only, 1.48-2.55 ms, plus 4.7-6.4 ms per
   declaration of war-room jobs afterwards (seven Web API calls with their durable steps). So what the
   mixed load costs over the list load is mostly the declarations' own acknowledgement (a transaction
   writing the incident, its timeline, checklist, audit rows and outbox job); the bare app does none of it, and at concurrency 20 on two cores shared with the
   load process, that CPU is queueing time. It cannot move after the acknowledgement: an incident
   firelane has said is declared must survive a crash, so its transaction commits first. (Rebuilding
   the list's reply after each declaration is ~0.25 ms of it: 50 lines and their rendering, a
   micro-bench.)
   Later on 2026-11-22, three more measurements of what sets the mixed figure. (i) Where the slowest 20
   of a round lie (the load process logging every command's start and latency): in firelane's mixed
   rounds they are one or two bunches of 10-20 commands that were in flight together during one stall
   of the process (in one run 950-966 ms into the second round; 89-90 and 844-845 ms into the third),
   not commands spread over the round. So the p99 of one round is the length of its worst one or two
   stalls, which is why it moves by 20-40% between rounds. (ii) Garbage collection (--trace-gc-nvp,
   one run each): under this load both apps promote about 2 MB at every scavenge (Node's HTTP objects;
   the bare app does it too), with scavenges of 3-9 ms about every 130 ms. firelane's larger old
   generation adds a mark-compact of 13.5 ms, plus incremental steps of up to 12 ms, about once per
   round. A larger young generation (--max-semi-space-size=32) did not help: p99 68.8 against 84.1 ms
   and 894 against 887 req/s (median of 6 alternating rounds, with 25% steal time on the machine),
   while RSS after the rounds rose from 165 to 234 MB. Not kept. (iii) The worker switched off
   entirely (6 alternating rounds): p50 15.5 against 20.6 ms and 1,143 against 903 req/s, but p99
   54.9 against 56.0 ms. The war-room jobs running alongside raise the median, not the p99. CPU per
   command: the bare app 0.40-0.46 ms (Bolt and Node's HTTP: firelane pays the same), firelane 0.89-0.98 ms in the mixed load. In process, without HTTP,
   firelane's own command handling costs 0.62-0.93 ms per declaration, 0.06-0.09 ms per list, and
   0.15-0.19 ms per command of the 90/10 mix. The rest of the difference is the jobs (about 0.25 ms per
   command) and the longer reply. For a p99 at most 1.25x the bare app's, firelane's whole per-command
   overhead would have to stay near 0.1 ms. The declarations' durable writes alone take most of that.
   Later still on 2026-11-22: (iv) Bolt passes every request through the middleware of every
   listener. firelane registered one command listener per name (incident, hotfix, deploy, rollback)
   besides its button, form and event listeners, so every acknowledgement ran seven listener chains where
   the bare app runs one. Now one listener takes all of firelane's command names: App.processEvent 110-125
   -> 65-83 µs per command (micro-bench, 20,000 commands per run, 6 runs; the bare app's one listener
   39-47 µs), mixed load 797 -> 861 req/s and p99 66.0 -> 57.0 ms (median of 8 alternating rounds; CPU
   per command lower in 6 of the 8 pairs). (v) Two suspects tested and cleared (8 alternating rounds
   each, not kept): the database on tmpfs instead of the disk, p99 66.6 against 74.5 ms and 896 against
   850 req/s, inside the spread of either variant's rounds (51-124 ms); the open list cut from 50 lines
   to 10 (its reply is 8.5 KB, about 27 µs of JSON.stringify per acknowledgement), p99 63.3 against 59.5
   ms and 902 against 843 req/s.
   (vi) A smaller young generation: \`npm start\` and the Dockerfile now run node with
   --max-semi-space-size=4 (V8's default here grows it to 16 MB, and it stays that large after
   start-up). Two A/B runs of the mixed load (one process per variant, rounds alternating): 8 rounds,
   p99 49.0 against 64.6 ms (lower in 6 of 8 pairs), 943 against 978 req/s, RSS after the rounds 204
   against 224 MB; 9 rounds with 2 MB as a third variant, p99 55.9 (4 MB) / 59.4 (2 MB) against 58.0 ms,
   956 / 815 against 923 req/s, RSS after the rounds 142 / 190 against 235 MB. Idle RSS after start-up
   103 against 113 MB; cold start unchanged (1.8-2.4 s against 1.9-2.6 s without Slack configured, 6
   runs each). So no loss of speed, a p99 that is lower or the same, and much less memory. The bare
   Bolt app keeps node's defaults.
   (vii) Why the ratio follows throughput (2026-11-22, 6 alternating rounds per load, both apps with
   a \`monitorEventLoopDelay\` loaded by \`--import\`, 1 ms resolution, read per round): the bare app's event
   loop waits for the load process (delay p99 4.1-6.1 ms in the list and mixed loads); firelane's is
   saturated (delay p99 19-26 ms in the list load, 26-41 ms in the mixed load, 41-59 ms with
   declarations only), so commands queue inside it. In a closed loop at concurrency 20 a command's
   latency is then 20 / throughput (Little's law): firelane 1,031 req/s gives 19.4 ms against a
   measured p50 of 18.3 ms, the bare app 1,998 req/s gives 10.0 ms against 9.3 ms. The p99 ratio is
   therefore about the throughput ratio. Scavenges do not explain it (sum 180-270 ms per mixed round,
   longest 7-17 ms). A 1.25x ratio needs firelane's mixed throughput at about 80% of the bare app's,
   about 0.6 ms of CPU per command with the declarations' durable transactions and their war rooms
   included; the list load alone uses about 0.67 ms. A profile of declarations only (main thread,
   about 7.5 ms per declaration with its war room): the worker's job steps 22%, the acknowledgement
   in Bolt 12%, transactions' own BEGIN/COMMIT (writing WAL frames, taking locks) 6%, saving job
   steps 4%, garbage collection 3%. The list load profiled against the bare app under the same load
   (main thread, busy CPU per command, start-up included): 0.95 against 0.79 ms. Of firelane's
   extra: writing the 8.5 KB list reply costs 39 µs more (writev) than the bare app's "ok", and
   serializing it about 27 µs; waking the worker whenever no request is in flight (an UPDATE that
   claims nothing) 2% of the busy time.
   (viii) Two costs of firelane's list path that the bare app does not pay, now gone (2026-11-22;
   profiles of 8,400 \`/incident list\` at concurrency 20, busy CPU between the first and the last
   reply, per command): looking up an idempotency receipt, 29 µs (a read changes nothing, so
   \`list\`, \`show\`, \`checklist\` and \`help\` no longer look one up and may not write; a retried
   delivery reads again), and, whenever no acknowledgement was left in flight, an UPDATE claiming a
   job when none was due, 29 µs (the worker now claims at the end of a busy period only when a claim
   during it came back empty). Both entries are absent from the new profile. Busy CPU per command in
   profiles of one session: the bare app 0.49 ms, firelane 0.65 ms before and 0.68 ms after, but the
   sum moves by 10% between runs here (every entry of the second profile, Bolt's and Node's too, was
   5-30% higher), so the saving shows in the entries, not in the sum. Nor at the resolution of
   the load: 8 alternating rounds per load, list p99 46.0 -> 52.4 ms at 1,482 -> 1,574 req/s,
   mixed p99 42.2 -> 54.2 ms at 977 -> 924 req/s (medians), while one variant's throughput
   ranged from 874 to 1,868 req/s between rounds. What firelane still adds per list command: the open
   list's check for commits by another connection (PRAGMA data_version) 23 µs, the Slack listener
   and metrics 20 + 14 µs, parsing and routing 14 + 13 µs, and the longer reply's write and garbage
   about 20 + 17 µs. A declaration's acknowledgement costs about 1 ms of CPU in process (2,000
   declarations through the router), most of it in SQLite: the commit, which writes the WAL frames of
   the incident, timeline, checklist, audit and job rows and their indexes, about 40%; the statements
   25%; the audit chain's three statements per entry 18% (22 WAL frames per declaration; a page size of
   1 or 2 KB instead of 4 wrote a quarter or half the bytes and took the same CPU, so it is not the bytes).
   (ix) The unloaded declaration (2026-11-22): its p50 was 3-4 ms against the bare app's 0.7-0.8 ms, with
   500 declarations back to back, so each one's war-room jobs still ran when the next arrived. Spaced
   100 ms apart (a new row), firelane 4.55 ms and the bare app 2.05 ms: the jobs were not the cause, and
   waking an idle process costs about 1 ms on this machine. firelane's own histogram (handler entry to
   ack) put 51% of 500 declarations under 2 ms and 97% under 5 ms.
   (x) Each run now reads each app's CPU time per command from /proc (the second table of section 1). In
   the first run with it, on a quiet machine (steal 0% in every section), the bare app spent 0.20-0.41
   ms per command in its rounds (0.20-0.26 after its first), firelane 0.32-0.43 ms in the list load and
   0.60-0.79 ms in the mixed one, plus 0.21-0.36 ms per command of war-room jobs after the mixed load;
   medians 0.39 against 0.22 ms (1.79x) and 0.65 against 0.25 ms (2.63x). p99 ratios 1.42x and 1.90x, at
   68% and 46% of the bare app's throughput.
   **Still missed: the ratio, in both loads.**
2. **Time to war room**: p50 194, p90 227, max 292 ms in one run (met only at p50): after the room
   was created, the invites and the announcement were started before the card chain (post, then pin:
   the critical path). Card chain first: 172 / 179 / 181 ms (and 21 ms p50 outside the three
   dependent calls, from 35).
   2026-11-22: one full run, on a quiet machine, read a max of 514 ms, 363 ms of it outside the three
   dependent calls, once in 30 declarations; seven runs of section 2 since, alone or after a short
   section 1, read a max of 170-175 ms. Not found: section 2 now also lists the slowest declaration's
   calls, so the next one shows which step waited.
3. **Scheduler tick** (100 due): one transaction per due incident and drizzle building every statement:
   89.8 ms median. One transaction per tick, prepared enqueue and update, the selected row reused, no
   audit savepoint: 12.1 ms (micro run); then no UPDATE ... RETURNING: worst p90 over the three sizes
   21.2 ms -> 17.8 ms (23.0 ms in a full run). Then the reminder job refreshes the war-room topic itself
   (one job per due incident instead of two): medians 7.2 / 9.9 / 9.9 ms, worst p90 14.0 ms.
   2026-11-22, on a quiet machine a full run read 3.20 / 4.66 / 5.82 ms, 1.82x: the flatness target
   missed. (a) A fault of the bench: the seed's WAL (about 30 MB for 100,000 incidents) was left to the
   checkpoint thread, which copied it while ticks were timed; now it is checkpointed before: 1.34x,
   1.34x and 1.41x in three runs of section 3. (b) What is left is a step from 100 to 10,000, not a
   growth with the total (10,000 -> 100,000: 0.99-1.07x): the 100 due incidents of the 100-incident
   database share a few pages, while the seed spreads those of the larger ones one per 1,000 rows (the
   worst case for locality), so a tick writes 47 WAL frames against 153-154 (a separate run, 140
   ticks per size), about 1 ms more. A 64 MB page cache instead of SQLite's 2 MB: within the noise.
   Met, with little margin.
5. **Deploy card within 1 s of the rollout completing:** the rollout was polled every 2 s (first card
   update after completion: max 1.86 s); now every 500 ms (max 0.34 s); the health window is still
   checked every 2 s.
6. **Footprint.** Cold start 2.37 s and idle RSS 191 MB: @kubernetes/client-node (1.1 s, 86 MB to
   import) and botbuilder (0.76 s, 51 MB) were imported at start, used or not. Now they are imported when
   configured (Teams without an app id on its first request): 0.99 s and 118 MB. RSS after 10,000
   incidents read 469 MB 5 s after the load, with 228 MB of JS heap "used"; a heap snapshot (which
   collects first) found 30 MB live: the rest was the burst's garbage, which V8's memory reducer
   collects about a minute after the process goes quiet (137 MB then). Peak during the load:
   475 -> 292 MB with the lazy imports. The first version of the checkpoint thread (item 1) told the
   main thread about every checkpoint and lived 60 s after the last chat request: RSS after the
   lifecycles, 90 s idle, read 216.6 MB (V8's memory reducer never saw the main isolate idle). Now the
   thread is silent unless it fails and stops 15 s after the last chat request: 127.2 MB.
   2026-11-22, tried and **reverted**: a ceiling on the old generation. RSS after 10,000 incidents read
   220.3 MB 5 s after the load (peak 221.4 MB) and is under 200 MB only after 90 s of quiet (141.5 MB;
   213.8 MB after 10 s). Sampling /metrics during the load: JS heap 106-109 MB of 223 MB RSS, live heap
   after each full collection 26-27 MB, the next one at 94-99 MB (--trace-gc): V8 lets the old generation
   grow to about 3.6x the live heap, its factor for a heap limit of 2 GB or more (the default here, with
   24 GiB); below 2 GB it scales the factor down towards 1.3 (V8's heap controller;
   --max-old-space-size=2048 changed nothing, 214-219 MB peak). With --max-old-space-size=1536: full
   collections at 43-45 MB (live 25 MB), 32 instead of 12 in a run of 5,000 declarations and their war
   rooms; peak RSS over 10,000 declarations 154.0 MB (1024: 149.5) against 218.7-226.2 MB; idle RSS after
   start-up 98-100 against 102-111 MB. Interleaved A/B runs (one process per variant, rotating rounds)
   showed no variant consistently slower: mixed 943 against 939 req/s (8 rounds), list 1,604 against
   1,629 req/s and p99 46.2 against 41.4 ms (12 rounds), and with 2000 as a third variant (9 rounds) list
   p99 52.6 (none) / 46.5 (1536) / 58.2 ms (2000), mixed 78.3 / 69.3 / 62.0 ms. But three full runs with
   1536 all read firelane's list p99 at 38.9-39.5 ms (ratios 1.38-1.59x) and its mixed p99 at 48.9-52.3
   ms (over 50 ms in two of them), against 28.7 and 42.8 ms in the run before and 33.9 and 49.2 ms in
   the run after the revert (clear in the list load, hardly in the mixed one): a round's p99 is its worst
   stall, and with three times the full collections (5-18 ms pauses each) more rounds hold one. Target 1's
   50 ms is unambiguous; target 6 is met at idle. So \`npm start\` keeps V8's heap growth, and the README
   names the flag for a container whose memory limit matters more than the p99 of a flood.
   --heap-growing-percent=100 (a factor of 2; a V8 internal) gave a 159 MB peak, at the same kind of price.
7. **PostgreSQL (issue 27), 2026-12-07: what the PostgreSQL column missed, what was done, what is left.**
   First measured while other work ran on the machine (1-minute load average 3-10); the run above too
   (load 2.6-8.6 as its sections started: every absolute figure in it is high, SQLite's as well, and only the
   ratios within it compare). Figures below are from runs of section 1 alone on a quieter machine.
   (a) The mixed load: 6.85x SQLite's at first (PostgreSQL rounds 326-464 ms). Sampling pg_stat_activity
   every 10 ms through one round showed 6.3 of firelane's 10 pooled connections waiting for the audit chain's
   head row, which every audited write locked at its first audit entry and held to COMMIT, across round trips
   to a busy event loop. Done: the entries are now written as the transaction's last statement (one INSERT
   into audit_pending) and chained by the database at COMMIT (a deferred constraint trigger), so the lock is
   held only while the transaction commits. Measured, section 1 alone (load below 1 as it started): mixed
   PostgreSQL p99 344-367 ms before, 100-126 ms with the chain written last in one call from firelane, 86-91
   ms with it chained at COMMIT, against SQLite's 26-27 ms in the same rounds: still 3.3-3.4x. **Still missed.**
   What was left was the declarations' own acknowledgement: on PostgreSQL a declaration made 10 round trips
   before its answer (receipt check, BEGIN, receipt claim, incident, timeline event, checklist, war-room job,
   audit entries, COMMIT, saved reply), each waiting for a turn of an event loop busy with 19 other requests
   (timed under the load: 9-10 ms per statement, against 0.3-0.5 ms idle); SQLite makes them in-process in
   microseconds. At 10% declarations, the p99 of the mix is about the p90 of the declarations.
   2026-12-07, later: done, a write path with two round trips. Writes nothing in their transaction reads
   back (the request key, the incident's row, its first event, checklist, job, audit entries) are queued
   and sent as one statement (data-modifying WITH) before the transaction's next statement or at its end,
   and a transaction of such writes alone is that statement, without BEGIN and COMMIT; the incident's and
   event's numbers are drawn first (nextval, guarded by the request key so a delivery repeated later draws
   none); the key is no longer looked up before the command (its claim fails on write) and the reply is
   kept after the answer. Then the jobs' hot statements (incident by id, job claim, complete, step
   record, checklist items) were prepared once, named, instead of built by drizzle each time (drizzle's
   share of a profile of the PostgreSQL process under the mixed load: 1.02 s -> 0.53 s). Section 1 alone:
   mixed PostgreSQL p99 97.7 ms (2.62x, first change only, 3 rounds while tests ran), then 44.4 vs 23.3 ms
   (1.91x, 3 rounds), then with prepared statements 44.4 vs 31.4 ms (1.41x by the medians; the rounds'
   own ratios 1.17-1.73x, three of five above 1.5x), PostgreSQL under 50 ms in four rounds of five. The
   full run above, on a quiet machine: 46.9 vs 24.7 ms, 1.90x (rounds 1.55-1.99x). **Still missed**, the
   ratio (PostgreSQL is now under 50 ms): what is left is the two round trips (9-10 ms each under this
   load) and the war-room jobs' statements (about 35 per declaration, 0.66-0.96 ms of CPU per command after
   the load against SQLite's 0.25-0.40 ms), which run in the same process once they have waited the
   yield's 1 s.
   (b) The list load: 1.83x at first (the PostgreSQL store read the 51 newest open incidents for every
   \`/incident list\`). Done: the open-incident list is kept on each replica and dropped at every change any
   replica commits (a trigger's NOTIFY, one LISTEN connection per replica). Measured: 0.53x-0.98x in two runs
   of section 1 alone, 0.89x and 1.02x in two more (PostgreSQL 21.6 ms and 30.0 ms): met; CPU per command
   0.35-0.52 ms, level with SQLite's.
   (c) The reminder tick with 100 due: 500-600 statements at first (144 ms, 27x SQLite's). Done: the due
   incidents' schedules in one UPDATE ... FROM (VALUES ...), their jobs in one INSERT, the audit entries in one:
   51 ms in a run of section 3 alone (5.5x SQLite's 9 ms), 51-64 ms in the full run before. With the queued
   writes and prepared statements of (a): medians 21.2 / 27.0 ms (100 / 100,000 stored), p90 at worst
   29.2 ms, in the full run above. **Still missed** (p90 under 20 ms): what is left is the transaction's
   round trips and firelane's own CPU to build a hundred rows, with the server's fsync at COMMIT.
   (d) Failover: a replica killed while posting a reminder leaves that reminder to the other one after the
   lease (9 s; posted 11-14 s after its due time), while the survivor's own ticks keep the others on time.
   That reminder was posted twice at first (the killed replica's \`chat.postMessage\` had reached Slack, but
   the step was not recorded). Done: every post a job makes carries a key (Slack message metadata), and a
   retried job looks for it among the room's newest messages before posting again: 0 posted twice since.
   (e) 2026-12-08, the mixed load again. The declarations' own latencies are now printed (load.ts): in a
   run of section 1 alone, PostgreSQL p50 24-31 ms and p90 35-46 ms against SQLite's 11-15 / 17-21 ms,
   so a declaration's two round trips still cost a turn of the busy event loop each. Three experiments, not
   kept: (i) incident and event numbers drawn ahead in the process (one round trip per declaration):
   declarations p50 26 against 34 ms, but the mix's p99 stayed 1.5-1.8x SQLite's (3 rounds), and the numbers
   would come out of declaration order across replicas and skip at every restart; (ii) each request handled
   from setImmediate, so the server's answers are read before the next requests' work: no difference (3
   rounds); (iii) the server's processes pinned to one core and everything else to the other: 1.31x
   (median of 5 rounds, 1.21-1.82x). On shared cores the server's CPU (0.15-0.23 ms per command) comes off
   the two cores firelane and the load process use: firelane's PostgreSQL throughput is 15-20% below its
   SQLite throughput in the mixed load, and each wait stretches with it. So section 1 now also measures the
   mixed load with the server on a core of its own, as on its own host in a deployment (firelane and SQLite
   get the other core, the same for both). First run of it: 0.99x (rounds 0.85-1.28x), while on shared
   cores the same run gave 1.39x (rounds 1.11-2.10x). The full run above: 1.01x on its own core, 1.60x
   (rounds 1.32-1.86x) on shared cores. Also 2026-12-08: audit entries wait for the transaction's end
   (one statement fewer in audited transactions that go on after them) and the war-room job reads the
   incident and its checklist less: time to war room on PostgreSQL p50 227 -> 200 ms, max 240 -> 219 ms.
`;

const SECTIONS: Array<[string, (postgres: PostgresForBench) => Promise<string | SectionResult>]> = [
  ['1', benchAck],
  ['2', benchWarRoom],
  ['3', benchSchedulerCost],
  ['4', () => benchPunctuality()],
  ['5', () => benchApproveToPatch()],
  ['6', () => benchFootprint()],
  ['7', benchFailover],
];
/** The sections that measure PostgreSQL too (the server is started only for them). */
const WITH_POSTGRES = ['1', '2', '3', '7'];

/** The machine's CPU time so far (/proc/stat, all cores): total and stolen by the hypervisor for other guests. */
function cpuTime(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',').map((part) => part.trim());
  const selected = SECTIONS.filter(([number]) => !only || only.includes(number));
  const started = new Date();
  process.stdout.write(`bench on Node ${process.version} (${process.execPath})\n`);
  const postgres: PostgresForBench = selected.some(([number]) => WITH_POSTGRES.includes(number))
    ? await startBenchPostgres()
    : { missing: 'no section of this run measures it' };
  process.stdout.write(
    postgresAvailable(postgres) ? `${postgres.description}\n` : `PostgreSQL skipped: ${postgres.missing}\n`,
  );
  const parts: string[] = [];
  const steal: string[] = [];
  const durations: string[] = [];
  const sideBySide: SideBySide[] = [];
  const verdicts: string[] = [];
  try {
    for (const [number, run] of selected) {
      process.stdout.write(`--- section ${number}\n`);
      const before = cpuTime();
      const load1 = loadavg()[0]!; // other work on the machine when the section starts
      const t0 = performance.now();
      const result = await run(postgres);
      durations.push(`${number}: ${((performance.now() - t0) / 60_000).toFixed(1)} min (load ${load1.toFixed(1)})`);
      const after = cpuTime();
      if (before && after && after.total > before.total)
        steal.push(`${number}: ${((100 * (after.steal - before.steal)) / (after.total - before.total)).toFixed(0)}%`);
      const { markdown, ...summary } = typeof result === 'string' ? { markdown: result } : result;
      sideBySide.push(...(summary.sideBySide ?? []));
      verdicts.push(...(summary.verdicts ?? []));
      process.stdout.write(
        `${markdown
          .split('\n')
          .filter((line) => /: (met|missed)/.test(line))
          .join('\n')}\n`,
      );
      parts.push(markdown.trim());
    }
  } finally {
    if (postgresAvailable(postgres)) postgres.stop();
  }
  const summary = sideBySide.length ? `${sideBySideSection(sideBySide, verdicts, postgres).trim()}\n\n` : '';
  if (summary) process.stdout.write(`${verdicts.join('\n')}\n`);
  const report = `${reportHeader({ started, minutes: (Date.now() - started.getTime()) / 60_000, steal, durations, only })}
${summary}${parts.join('\n\n')}

${HISTORY}`;
  writeFileSync(join(ROOT, 'bench/RESULTS.md'), report);
  process.stdout.write('wrote bench/RESULTS.md\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

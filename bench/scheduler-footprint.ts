// Benchmarks 3, 4 and 6 of issue 9: the cost of one reminder tick against the number of stored
// incidents, the punctuality of 1,000 staggered reminders across a restart (manual clock, fake
// Slack), and the footprint of `node dist/main.js` (cold start, RSS, database size), each beside
// its baseline from the same run. `npx tsx bench/scheduler-footprint.ts` prints the Markdown
// (BENCH_PARTS=3,4,6 picks sections); dist/ must be built (`npm run build`) for section 6.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createCheckpointer } from '../src/adapters/db/checkpointer.js';
import { openDatabase } from '../src/adapters/db/database.js';
import { createSqliteStore } from '../src/adapters/db/sqlite-store.js';
import { openPostgres } from '../src/adapters/postgres/database.js';
import { createPostgresStore } from '../src/adapters/postgres/pg-store.js';
import { tickReminders } from '../src/jobs/reminder-tick.js';
import { createManualClock } from '../src/ports/clock.js';
import { startFakeSlack, type FakeSlack } from '../test/fakes/fake-slack.js';
import { startHarness, type Harness } from '../test/support/harness.js';
import { signedHeaders } from '../test/support/slack-signing.js';
import { NODE_FLAGS, freePort } from '../test/support/process.js';
import {
  postgresAvailable,
  sqliteDueJobs,
  type BenchPostgres,
  type DueJobs,
  type PostgresForBench,
} from './postgres.js';
import { ratioText, verdictWord, type SectionResult, type SideBySide } from './side-by-side.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist/main.js');
/** firelane as `npm start` runs it (its node flags included). */
const FIRELANE = [...NODE_FLAGS, MAIN];

// ---------------------------------------------------------------------------------------------
// Small helpers

const sortNum = (values: number[]) => [...values].sort((a, b) => a - b);
/** Nearest-rank percentile. */
function pct(values: number[], p: number): number {
  const sorted = sortNum(values);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (values: number[]) => pct(values, 50);
const ms = (v: number, digits = 2) => `${v.toFixed(digits)} ms`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
const sleep = (millis: number) => new Promise<void>((done) => setTimeout(done, millis));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// 3. Scheduler cost

const DUE = 100;
const SIZES = [100, 10_000, 100_000];
/** PostgreSQL's tick is a round trip per statement (about 500 a tick): the two sizes issue 27 asks for, fewer ticks each. */
const PG_SIZES = [100, 100_000];
const PG_PER_ROUND = 5;
const SEVERITY_CYCLE = ['sev0', 'sev1', 'sev2', 'sev3'] as const;

interface SchedulerDb {
  kind: 'sqlite' | 'postgres';
  size: number;
  dueIds: number[];
  tick(now: number): Promise<{ reminders: number }>;
  query(now: number): Promise<number>;
  rearm(now: number): Promise<void>;
  /** The query plan of the due query, on one line. */
  plan(now: number): Promise<string>;
  close(): Promise<void>;
}

/** A database of `size` incidents: DUE open and due, the rest resolved (80%) or open and due later (20%). */
function seedSchedulerDb(dir: string, size: number, start: number): SchedulerDb {
  const path = join(dir, `tick-${size}.db`);
  const handle = openDatabase(path);
  const clock = createManualClock(start);
  const store = createSqliteStore(handle, clock);
  const config = loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' }, dir).file;
  const insert = handle.sqlite.prepare(
    `INSERT INTO incidents (title, description, severity, status, platform, declared_by, commander, declared_at, last_update_at, resolved_at, root_cause,
       next_reminder_at, missed_reminders, room_id, room_name, card_ref)
     VALUES (@title, 'seeded for the scheduler benchmark', @severity, @status, 'slack', 'U0BENCH', @commander, @declaredAt, @lastUpdateAt, @resolvedAt, @rootCause,
       @next, 0, @roomId, @roomName, @cardRef)`,
  );
  const dueIds: number[] = [];
  handle.sqlite.transaction(() => {
    for (let i = 0; i < size; i++) {
      const severity = SEVERITY_CYCLE[i % 4]!;
      const declaredAt = start - 3_600_000 - (i % 86_400) * 1000;
      // Spread the due ones across the table (every size/DUE-th row), not clustered at the start.
      const due = size <= DUE || i % Math.floor(size / DUE) === 0;
      const resolved = !due && i % 5 !== 0;
      const row = insert.run({
        title: `Seeded incident ${i}`,
        severity,
        status: resolved ? 'resolved' : 'investigating',
        commander: i % 2 ? 'U0LEAD' : null,
        declaredAt,
        lastUpdateAt: declaredAt,
        resolvedAt: resolved ? declaredAt + 1_800_000 : null,
        rootCause: resolved ? 'seeded' : null,
        next: resolved ? null : due ? start - 500 : start + 86_400_000 + (i % 3_600) * 1000,
        roomId: `C${String(i).padStart(9, '0')}`,
        roomName: `inc-${i + 1}-seeded-incident`,
        cardRef: `${start / 1000}.${i}`,
      });
      if (due && dueIds.length < DUE) dueIds.push(Number(row.lastInsertRowid));
    }
  })();
  handle.sqlite.pragma('optimize');
  // The seed's WAL (about 30 MB at 100,000 incidents) copied into the database now, not by the
  // checkpoint thread while ticks are timed: a database that has been running is at rest.
  handle.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const rearmStatement = handle.sqlite.prepare(
    `UPDATE incidents SET next_reminder_at = ?, missed_reminders = 0 WHERE id IN (${dueIds.join(',')})`,
  );
  const clearJobs = handle.sqlite.prepare('DELETE FROM jobs');
  // As in app.ts: a tick that wrote reminders keeps WAL checkpoints on their thread (onTick -> busy()).
  const checkpointer = createCheckpointer(handle, path, pino({ level: 'silent' }));
  return {
    kind: 'sqlite',
    size,
    dueIds,
    async tick(now) {
      clock.set(now);
      const result = await tickReminders({ store, config, clock });
      if (result.reminders) checkpointer.busy();
      return result;
    },
    async query(now) {
      return (await store.incidents.dueReminders(now, 500)).length;
    },
    rearm(now) {
      rearmStatement.run(now - 500);
      clearJobs.run();
      return Promise.resolve();
    },
    plan(now) {
      const rows = handle.sqlite
        .prepare(
          'EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE next_reminder_at <= ? ORDER BY next_reminder_at LIMIT ?',
        )
        .all(now, 500) as Array<{ detail: string }>;
      return Promise.resolve(rows.map((p) => p.detail).join('; '));
    },
    async close() {
      await checkpointer.stop();
      handle.close();
    },
  };
}

/**
 * The same database on PostgreSQL (a fresh database, migrated by the app's own openPostgres): the same
 * rows as seedSchedulerDb's, made by one INSERT ... SELECT over generate_series, then VACUUM ANALYZE
 * and a CHECKPOINT (the seed's WAL written out before ticks are timed, as the SQLite seed's is).
 */
async function seedPostgresSchedulerDb(
  postgres: BenchPostgres,
  dir: string,
  size: number,
  start: number,
): Promise<SchedulerDb> {
  const database = await postgres.database();
  const handle = await openPostgres(database.url);
  const clock = createManualClock(start);
  const store = createPostgresStore(handle, clock);
  const config = loadConfig({ DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' }, dir).file;
  const { pool } = handle;
  await pool.query(
    `INSERT INTO incidents (title, description, severity, status, platform, declared_by, commander, declared_at, last_update_at, resolved_at, root_cause,
       next_reminder_at, missed_reminders, room_id, room_name, card_ref)
     SELECT 'Seeded incident ' || i, 'seeded for the scheduler benchmark', (ARRAY['sev0', 'sev1', 'sev2', 'sev3'])[i % 4 + 1],
       CASE WHEN resolved THEN 'resolved' ELSE 'investigating' END, 'slack', 'U0BENCH', CASE WHEN i % 2 = 1 THEN 'U0LEAD' END,
       declared, declared, CASE WHEN resolved THEN declared + 1800000 END, CASE WHEN resolved THEN 'seeded' END,
       CASE WHEN resolved THEN NULL WHEN due THEN $1::bigint - 500 ELSE $1::bigint + 86400000 + (i % 3600) * 1000 END,
       0, 'C' || lpad(i::text, 9, '0'), 'inc-' || (i + 1) || '-seeded-incident', $2 || '.' || i
     FROM (SELECT i, due, NOT due AND i % 5 <> 0 AS resolved, $1::bigint - 3600000 - (i % 86400) * 1000::bigint AS declared
           FROM (SELECT i, ($3::int <= ${DUE} OR i % GREATEST($3::int / ${DUE}, 1) = 0) AS due
                 FROM generate_series(0, $3::int - 1) AS i) AS numbered) AS seeded
     ORDER BY i`,
    [start, String(start / 1000), size],
  );
  const dueIds = (
    await pool.query<{ id: number }>('SELECT id FROM incidents WHERE next_reminder_at = $1 ORDER BY id LIMIT $2', [
      start - 500,
      DUE,
    ])
  ).rows.map((r) => Number(r.id));
  await pool.query('VACUUM ANALYZE incidents');
  await pool.query('CHECKPOINT').catch(() => undefined); // superuser only: the bench's own server
  const dueQuery = `SELECT * FROM incidents WHERE next_reminder_at <= $1 ORDER BY next_reminder_at, id LIMIT 500 FOR UPDATE SKIP LOCKED`;
  return {
    kind: 'postgres',
    size,
    dueIds,
    async tick(now) {
      clock.set(now);
      return await tickReminders({ store, config, clock });
    },
    async query(now) {
      return (await store.incidents.dueReminders(now, 500)).length;
    },
    async rearm(now) {
      await pool.query('UPDATE incidents SET next_reminder_at = $1, missed_reminders = 0 WHERE id = ANY($2::int[])', [
        now - 500,
        dueIds,
      ]);
      await pool.query('DELETE FROM jobs');
    },
    async plan(now) {
      const rows = (await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${dueQuery}`, [now])).rows;
      return rows.map((r) => r['QUERY PLAN'].trim().replace(/^-> +/, '')).join('; ');
    },
    async close() {
      await handle.close();
      await database.drop();
    },
  };
}

export async function benchSchedulerCost(
  postgres: PostgresForBench = { missing: 'not asked for' },
): Promise<SectionResult> {
  const dir = mkdtempSync(join(tmpdir(), 'firelane-bench-tick-'));
  const start = Date.parse('2026-01-01T00:00:00Z');
  const ROUNDS = Number(process.env.BENCH_TICK_ROUNDS ?? 10);
  const PER_ROUND = 20;
  const seeded: Array<{ db: SchedulerDb; seedMs: number }> = [];
  try {
    for (const size of SIZES) {
      const t = performance.now();
      const db = seedSchedulerDb(dir, size, start);
      seeded.push({ db, seedMs: performance.now() - t });
      log(`scheduler: seeded ${size} incidents in ${(performance.now() - t).toFixed(0)} ms`);
    }
    if (postgresAvailable(postgres))
      for (const size of PG_SIZES) {
        const t = performance.now();
        const db = await seedPostgresSchedulerDb(postgres, dir, size, start);
        seeded.push({ db, seedMs: performance.now() - t });
        log(`scheduler: seeded ${size} incidents on PostgreSQL in ${(performance.now() - t).toFixed(0)} ms`);
      }
    const key = (db: SchedulerDb) => `${db.kind}:${db.size}`;
    const ticks = new Map<string, number[]>(seeded.map(({ db }) => [key(db), []]));
    const queries = new Map<string, number[]>(seeded.map(({ db }) => [key(db), []]));
    let now = start;
    // Warm-up (JIT, page cache), then rounds that alternate the sizes and databases so drift hits all alike.
    for (const { db } of seeded)
      for (let i = 0; i < 10; i++) {
        now += 1000;
        await db.rearm(now);
        await db.tick(now);
      }
    for (let round = 0; round < ROUNDS; round++) {
      for (const { db } of seeded) {
        for (let i = 0; i < (db.kind === 'postgres' ? PG_PER_ROUND : PER_ROUND); i++) {
          now += 1000;
          await db.rearm(now);
          const q0 = performance.now();
          const found = await db.query(now);
          queries.get(key(db))!.push(performance.now() - q0);
          if (found !== DUE) throw new Error(`scheduler: ${found} due incidents found in ${key(db)}, expected ${DUE}`);
          const t0 = performance.now();
          const result = await db.tick(now);
          ticks.get(key(db))!.push(performance.now() - t0);
          if (result.reminders !== DUE)
            throw new Error(
              `scheduler: a tick over ${key(db)} incidents made ${result.reminders} reminders, expected ${DUE}`,
            );
        }
      }
    }
    const plans = new Map<string, string>();
    for (const { db } of seeded) if (db.size === SIZES.at(-1)) plans.set(db.kind, await db.plan(now));
    const label = { sqlite: 'SQLite', postgres: 'PostgreSQL' } as const;
    const rows = seeded.map(({ db, seedMs }) => {
      const t = ticks.get(key(db))!;
      const q = queries.get(key(db))!;
      return `| ${label[db.kind]} | ${db.size.toLocaleString('en-US')} | ${DUE} | ${ms(median(t))} | ${ms(pct(t, 90))} | ${ms(Math.max(...t))} | ${ms(median(q), 3)} | ${(seedMs / 1000).toFixed(2)} s |`;
    });
    const tickMedian = (kind: SchedulerDb['kind'], size: number) => {
      const t = ticks.get(`${kind}:${size}`);
      return t ? median(t) : undefined;
    };
    const [smallest, largest] = [SIZES[0]!, SIZES.at(-1)!];
    const verdicts: string[] = [];
    const summaryVerdicts: string[] = [];
    for (const kind of ['sqlite', 'postgres'] as const) {
      const [m100, m100k] = [tickMedian(kind, smallest), tickMedian(kind, largest)];
      if (m100 === undefined || m100k === undefined) continue;
      const ratio = m100k / m100;
      const p90Max = Math.max(
        ...(kind === 'postgres' ? PG_SIZES : SIZES).map((s) => pct(ticks.get(`${kind}:${s}`)!, 90)),
      );
      const name = label[kind];
      verdicts.push(
        `- ${name}, flat in the total: median at ${largest.toLocaleString('en-US')} is ${ratio.toFixed(2)}x the median at ${smallest} (target at most 1.5x): ${verdict(ratio <= 1.5)}`,
        `- ${name}, under 20 ms: worst p90 ${ms(p90Max)} (target < 20 ms): ${verdict(p90Max < 20)}`,
      );
      summaryVerdicts.push(
        `- Reminder tick p90 under 20 ms at every size, ${name}: worst ${ms(p90Max)}: ${verdictWord(p90Max < 20)}`,
      );
    }
    const sideBySide: SideBySide[] = [smallest, largest].map((size) => {
      const [lite, pgm] = [tickMedian('sqlite', size)!, tickMedian('postgres', size)];
      return {
        figure: `reminder tick (${DUE} due) with ${size.toLocaleString('en-US')} stored incidents, median (section 3)`,
        sqlite: ms(lite),
        postgres: pgm === undefined ? `skipped${'missing' in postgres ? `: ${postgres.missing}` : ''}` : ms(pgm),
        ratio: pgm === undefined ? undefined : pgm / lite,
        target: 'p90 under 20 ms; flat in the total (at most 1.5x)',
      };
    });
    const pgFlat = (() => {
      const [a, b] = [tickMedian('postgres', smallest), tickMedian('postgres', largest)];
      return a === undefined || b === undefined ? undefined : b / a;
    })();
    return {
      sideBySide,
      verdicts: summaryVerdicts,
      markdown: `## 3. Scheduler cost

One reminder tick (\`tickReminders\` in src/jobs/reminder-tick.ts, what the once-a-second node-cron
task in app.ts runs) against SQLite files (WAL, migrated by the app's own \`openDatabase\`) holding
${SIZES.map((s) => s.toLocaleString('en-US')).join(', ')} incidents, ${DUE} of them due, and against PostgreSQL databases holding the same rows for
${PG_SIZES.map((s) => s.toLocaleString('en-US')).join(' and ')} incidents (${postgresAvailable(postgres) ? "fresh databases on the bench's server, migrated by the app's own `openPostgres`, the store the app uses on `DATABASE_URL`" : `**skipped**: ${postgres.missing}`}). The rest are resolved (80%, no next reminder) or
open with a reminder due later (20%); on SQLite all seeded in one transaction with a prepared INSERT, on PostgreSQL with
one INSERT ... SELECT over generate_series, then VACUUM ANALYZE and a CHECKPOINT.
Each tick finds the due incidents and, in one transaction for the whole tick, writes per incident
the new due time, its audit entry and the reminder job (which also refreshes the topic) and, for SEV0, the escalation job:
${DUE} reminders per tick. Between ticks, outside the timed part, the ${DUE} incidents are made due again by SQL and the
jobs table is emptied. ${ROUNDS * PER_ROUND} timed ticks per size on SQLite and ${ROUNDS * PG_PER_ROUND} on PostgreSQL after 10 warm-up ticks each, sizes and
databases alternating in ${ROUNDS} rounds (of ${PER_ROUND} ticks per SQLite size, ${PG_PER_ROUND} per PostgreSQL size). "query" is the due-incident SELECT alone (\`store.incidents.dueReminders\`).
As in app.ts, a tick that wrote reminders keeps SQLite's WAL checkpoints on their thread
(src/adapters/db/checkpointer.ts), so a commit that crosses 1,000 WAL pages does not copy and fsync them itself.
On PostgreSQL each statement is a round trip to the server and the tick's commit waits for the WAL's fsync
(synchronous_commit on): about 300 statements per tick (the due SELECT, then per incident its UPDATE, the audit chain's
head lock and INSERTs, the job INSERT).

| database | stored incidents | due | tick median | tick p90 | tick max | query median | seed time |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Query plan of the due query at ${largest.toLocaleString('en-US')}: SQLite \`${plans.get('sqlite')}\`${plans.has('postgres') ? `; PostgreSQL (inside the tick's transaction, FOR UPDATE SKIP LOCKED) \`${plans.get('postgres')}\`` : ''}.
PostgreSQL's tick median at ${largest.toLocaleString('en-US')} is ${ratioText(pgFlat === undefined ? undefined : tickMedian('postgres', largest)! / tickMedian('sqlite', largest)!)} SQLite's.

${verdicts.join('\n')}
`,
    };
  } finally {
    for (const { db } of seeded) await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Reminder punctuality

const PUNCTUALITY_YAML = `incidents:
  announceChannel: C0INCIDENTS
  escalationChannel: C0ESCALATE
  severities:
    sev0: { reminderEvery: 60s }
    sev1: { reminderEvery: 90s }
    sev2: { reminderEvery: 2m }
    sev3: { reminderEvery: 75s }
`;

export async function benchPunctuality(): Promise<string> {
  const INCIDENTS = Number(process.env.BENCH_PUNCTUALITY_INCIDENTS ?? 1000);
  const DECLARE_SECONDS = 100; // declarations spread over the first 100 s of fake time
  const END_SECONDS = 300; // 5 minutes of fake time, ticked every second
  const RESTART_AT = END_SECONDS / 2;
  const perSecond = Math.ceil(INCIDENTS / DECLARE_SECONDS);
  const t0 = Math.floor(Date.now() / 1000) * 1000;
  const clock = createManualClock(t0);
  const dir = mkdtempSync(join(tmpdir(), 'firelane-bench-punctuality-'));
  const slack = await startFakeSlack({
    channels: [
      { id: 'C0INCIDENTS', name: 'incidents' },
      { id: 'C0ESCALATE', name: 'escalations' },
      { id: 'C0GENERAL', name: 'general' },
    ],
  });
  const start = () => startHarness({ clock, slack, dir, configYaml: PUNCTUALITY_YAML });
  let h: Harness = await start();
  const wallStart = performance.now();
  /** Fake time at which each Slack message (by index) was posted: the time of the step that drained it. */
  const postedAtByIndex: number[] = [];
  const note = () => {
    while (postedAtByIndex.length < slack.messages.length) postedAtByIndex.push(clock.now());
  };
  const tickWall: number[] = [];
  const tick = async () => {
    const t = performance.now();
    const r = await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    tickWall.push(performance.now() - t);
    return r;
  };
  const declared: Array<{ id: number; severity: string; at: number }> = [];
  let declareWall = 0;
  let restartMs = 0;
  let pendingAtRestart = 0;
  try {
    let n = 0;
    for (let second = 0; second < END_SECONDS; second++) {
      if (second < DECLARE_SECONDS) {
        const d0 = performance.now();
        // Within the second, a declaration every 1000/perSecond ms: due times fall between ticks.
        for (let j = 0; j < perSecond && n < INCIDENTS; j++, n++) {
          clock.set(t0 + second * 1000 + Math.floor(((j + 0.5) * 1000) / perSecond));
          const severity = SEVERITY_CYCLE[n % 4]!;
          const ack = await h.command(`${severity} Punctuality incident ${n + 1}`, { triggerId: `punctuality-${n}` });
          const id = Number(/INC-(\d+)/.exec(String(ack.body?.text))?.[1]);
          if (ack.status !== 200 || !id)
            throw new Error(`punctuality: declaration ${n + 1} failed: ${ack.status} ${JSON.stringify(ack.body)}`);
          declared.push({ id, severity, at: clock.now() });
        }
        await h.drain(); // war rooms open (fake time stands still meanwhile)
        note();
        declareWall += performance.now() - d0;
      }
      clock.set(t0 + (second + 1) * 1000);
      await tick();
      if (second + 1 === RESTART_AT) {
        // The process goes away right after a tick, before the reminders it queued are posted.
        const r0 = performance.now();
        pendingAtRestart = (
          h.firelane
            .db!.sqlite.prepare(`SELECT count(*) AS n FROM jobs WHERE kind = 'incident.remind' AND status = 'queued'`)
            .get() as { n: number }
        ).n;
        await h.close();
        h = await start();
        restartMs = performance.now() - r0;
      }
      await h.drain();
      note();
    }
    const wallMs = performance.now() - wallStart;
    const endAt = clock.now();
    const severities = h.firelane.config.file.incidents.severities;
    // Which incident each war room belongs to, and every reminder (⏰) posted in one.
    const roomOf = new Map<string, number>();
    for (const d of declared) {
      const room = (await h.firelane.store.incidents.get(d.id))?.roomId;
      if (room) roomOf.set(room, d.id);
    }
    const posted = new Map<number, number[]>();
    slack.messages.forEach((m, index) => {
      const id = roomOf.get(m.channel);
      if (id === undefined || !JSON.stringify({ text: m.text, blocks: m.blocks }).includes('⏰')) return;
      posted.set(id, [...(posted.get(id) ?? []), postedAtByIndex[index] ?? NaN]);
    });
    let expected = 0;
    let matched = 0;
    let missing = 0;
    let duplicates = 0;
    const lateness: number[] = [];
    for (const d of declared) {
      const every = severities[d.severity as keyof typeof severities].reminderEveryMs;
      const dues: number[] = [];
      for (let due = d.at + every; due <= endAt; due += every) dues.push(due);
      expected += dues.length;
      // Each post serves the latest due time at or before it that no earlier post served.
      const served = new Set<number>();
      for (const at of (posted.get(d.id) ?? []).sort((a, b) => a - b)) {
        const due = dues.filter((x) => x <= at && !served.has(x)).at(-1);
        if (due === undefined) {
          duplicates++;
          continue;
        }
        served.add(due);
        matched++;
        lateness.push(at - due);
      }
      missing += dues.length - served.size;
    }
    const postedTotal = [...posted.values()].reduce((a, b) => a + b.length, 0);
    const remindJobs = (
      h.firelane.db!.sqlite.prepare(`SELECT count(*) AS n FROM jobs WHERE kind = 'incident.remind'`).get() as {
        n: number;
      }
    ).n;
    const escalations = slack.messagesIn('C0ESCALATE').length;
    const maxLate = lateness.length ? Math.max(...lateness) : NaN;
    const p99Late = pct(lateness, 99);
    const within2s = lateness.filter((x) => x <= 2000).length;
    const cadence = Object.entries(severities)
      .map(([sev, p]) => `${sev} every ${p.reminderEveryMs / 1000} s`)
      .join(', ');
    return `## 4. Reminder punctuality

${INCIDENTS.toLocaleString('en-US')} incidents declared through the real app (signed slash commands, war rooms opened by the
worker against the loopback fake Slack) at staggered fake times: ${perSecond} per second over the first
${DECLARE_SECONDS} s, ${Math.round(1000 / perSecond)} ms apart, severities in turn (${cadence}, set in firelane.yaml). A manual clock
then moves in 1 s steps to ${END_SECONDS / 60} minutes; each step runs one reminder tick (\`tickReminders\`, as the
once-a-second ticker does) and drains the job queue. At ${RESTART_AT} s, right after the tick and before its
reminders were posted, the instance is closed and a new one started on the same database
directory. A reminder's post time is the fake time of the step that posted it (taken from the
fake Slack's chat.postMessage records); expected due times are computed from each declaration
time and its severity's cadence. No status updates are posted, so every due time is owed a reminder.

| figure | value |
|---|---|
| reminders expected (due by ${END_SECONDS} s) | ${expected.toLocaleString('en-US')} |
| reminders posted (⏰ in the war rooms) | ${postedTotal.toLocaleString('en-US')} |
| matched to a due time | ${matched.toLocaleString('en-US')} |
| missing | ${missing} |
| duplicates (a second post for a due time) | ${duplicates} |
| reminders queued but not yet posted when the first instance closed | ${pendingAtRestart} |
| reminder jobs stored | ${remindJobs.toLocaleString('en-US')} |
| escalations posted (default escalateAfterMissed: SEV0 1, SEV1 2, SEV2 3) | ${escalations.toLocaleString('en-US')} |
| lateness by the fake clock: median / p99 / max | ${ms(median(lateness), 0)} / ${ms(p99Late, 0)} / ${ms(maxLate, 0)} |
| posted within 2 s of the due time | ${within2s.toLocaleString('en-US')} of ${matched.toLocaleString('en-US')} |
| tick wall time with ${INCIDENTS.toLocaleString('en-US')} open incidents: median / max | ${ms(median(tickWall))} / ${ms(Math.max(...tickWall))} |
| wall time: whole run / declarations and war rooms / restart | ${(wallMs / 1000).toFixed(1)} s / ${(declareWall / 1000).toFixed(1)} s / ${restartMs.toFixed(0)} ms |

- Every reminder within 2 s of its due time: max lateness ${ms(maxLate, 0)}: ${verdict(matched > 0 && within2s === matched && maxLate <= 2000)}
- None twice: ${duplicates} duplicates: ${verdict(duplicates === 0)}
- None lost across the restart: ${missing} missing of ${expected.toLocaleString('en-US')}: ${verdict(missing === 0 && expected > 0)}
`;
  } finally {
    await h.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 6. Footprint

const SECRET = 'bench-signing-secret-0123456789';
const TOKEN = 'xoxb-bench';

/** Baselines, run by plain node from the repository root (so @slack/bolt resolves) like dist/main.js. */
const BARE_NODE = `import http from 'node:http';
http.createServer((req, res) => { res.writeHead(req.url === '/readyz' ? 200 : 404); res.end('ready\\n'); }).listen(Number(process.env.PORT), '127.0.0.1');`;
// The same app as bench/bare-bolt.ts (which runs under tsx), plus a /readyz route to poll.
const BARE_BOLT = `import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
const receiver = new HTTPReceiver({ signingSecret: process.env.SIGNING_SECRET, endpoints: ['/slack/events'], logLevel: LogLevel.ERROR,
  customRoutes: [{ path: '/readyz', method: ['GET'], handler: (req, res) => { res.writeHead(200); res.end('ready\\n'); } }] });
const app = new App({ receiver, token: 'xoxb-bench', botId: 'BBOT', botUserId: 'UBOT', logLevel: LogLevel.ERROR });
app.command('/incident', async ({ ack }) => { await ack({ response_type: 'ephemeral', text: 'ok' }); });
await app.start(Number(process.env.PORT));`;

interface Started {
  child: ChildProcess;
  port: number;
  readyMs: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `args` with node, polls GET /readyz every 10 ms; readyMs is spawn to the first 200. */
async function spawnUntilReady(args: string[], env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  let output = '';
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((done) => child.once('exit', () => ((exited = true), done())));
  for (;;) {
    if (exited) throw new Error(`${args.join(' ').slice(0, 80)} exited before /readyz: ${output}`);
    if (performance.now() - t0 > 30_000)
      throw new Error(`${args.join(' ').slice(0, 80)}: no /readyz 200 in 30 s: ${output}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(10);
  }
  const readyMs = performance.now() - t0;
  return {
    child,
    port,
    readyMs,
    output: () => output,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await Promise.race([exit, sleep(15_000)]);
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
}

/** VmRSS and VmHWM (peak) of a process, bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * RSS once V8 has given back the heap a burst left behind. V8 collects and shrinks the heap of a
 * process that has gone quiet on its own schedule (its memory reducer: here about a minute after the
 * last burst), so a reading a few seconds after a burst still counts the burst's garbage.
 */
async function settledRss(pid: number, forMs = SETTLE_MS): Promise<number> {
  await sleep(forMs);
  return memoryOf(pid).rss;
}
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 90_000);

/** Values of unlabelled samples in a Prometheus text page. */
async function scrape(port: number, names: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Object.fromEntries(
    names.map((name) => [name, Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN)]),
  );
}

function dbBytes(path: string): number {
  return [path, `${path}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

/** Sends signed slash commands: `jobs` is worked through by `concurrency` workers, each job's commands in order. */
async function sendCommands(
  port: number,
  slack: FakeSlack,
  jobs: Array<Array<{ text: string; channel: string }>>,
  concurrency = 20,
) {
  const dispatcher = new Agent({ connections: concurrency });
  let next = 0;
  let failures = 0;
  let sent = 0;
  const latencies: number[] = [];
  const worker = async () => {
    while (next < jobs.length) {
      for (const command of jobs[next++]!) {
        const form = new URLSearchParams({
          token: 'deprecated',
          team_id: 'T0001',
          team_domain: 'acme',
          channel_id: command.channel,
          channel_name: 'general',
          user_id: 'U0BENCH',
          user_name: 'bench',
          command: '/incident',
          text: command.text,
          api_app_id: 'A0FIRELANE',
          response_url: slack.responseUrl(`footprint-${sent}`),
          trigger_id: `footprint-${sent++}-${Math.random().toString(36).slice(2)}`,
        }).toString();
        const t = performance.now();
        const response = await request(`http://127.0.0.1:${port}/slack/events`, {
          method: 'POST',
          headers: signedHeaders(SECRET, form),
          body: form,
          dispatcher,
        });
        const body = await response.body.text();
        latencies.push(performance.now() - t);
        // A declaration is answered in the channel; a refused command privately (checked in the database for the rest).
        if (response.statusCode !== 200 || (/^sev\d /.test(command.text) && !body.includes('"in_channel"'))) failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await dispatcher.close();
  return { sent, failures, latencies };
}

/**
 * Waits until no job is due (queued with run_at <= now) or running, as read from another process (a
 * SQLite connection, or a count such as bench/postgres.ts's pgDueJobs); returns the wait in ms.
 */
export async function waitForJobs(db: Database.Database | DueJobs, timeoutMs: number, everyMs = 250): Promise<number> {
  const due = typeof db === 'function' ? db : sqliteDueJobs(db);
  const t0 = performance.now();
  for (;;) {
    const n = await due(Date.now());
    if (n === 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${n} jobs still due after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export async function benchFootprint(): Promise<string> {
  if (!existsSync(MAIN)) throw new Error('footprint: dist/main.js is missing: run `npm run build` first');
  const RUNS = Number(process.env.BENCH_START_RUNS ?? 7);
  const IDLE_MS = 5_000;
  const TOTAL = Number(process.env.BENCH_FOOTPRINT_INCIDENTS ?? 10_000);
  const LIFECYCLES = Math.min(1000, TOTAL);
  const dir = mkdtempSync(join(tmpdir(), 'firelane-bench-footprint-'));
  const configPath = join(dir, 'firelane.yaml');
  writeFileSync(configPath, 'incidents:\n  announceChannel: C0INCIDENTS\n  escalationChannel: C0ESCALATE\n');
  const slack = await startFakeSlack({
    token: TOKEN,
    channels: [
      { id: 'C0INCIDENTS', name: 'incidents' },
      { id: 'C0ESCALATE', name: 'escalations' },
      { id: 'C0GENERAL', name: 'general' },
    ],
  });
  const firelaneEnv = (databasePath: string) => ({
    DATABASE_PATH: databasePath,
    FIRELANE_CONFIG: configPath,
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'info',
  });
  const kinds = {
    'bare node:http': { args: ['--input-type=module', '-e', BARE_NODE], env: () => ({}) },
    'bare @slack/bolt': { args: ['--input-type=module', '-e', BARE_BOLT], env: () => ({ SIGNING_SECRET: SECRET }) },
    'firelane, fresh database': { args: FIRELANE, env: (run: number) => firelaneEnv(join(dir, `fresh-${run}.db`)) },
    'firelane, existing database': { args: FIRELANE, env: () => firelaneEnv(join(dir, 'existing.db')) },
  } as const;
  type Kind = keyof typeof kinds;
  const starts = new Map<Kind, number[]>(Object.keys(kinds).map((k) => [k as Kind, []]));
  const idle = new Map<Kind, { rss: number; peak: number }>();
  try {
    // The existing database: created (and migrated) once before the timed runs.
    await (await spawnUntilReady(FIRELANE, firelaneEnv(join(dir, 'existing.db')))).stop();
    // Warm the OS file cache for node, dist/ and node_modules, then alternate the kinds run by run.
    for (const kind of Object.keys(kinds) as Kind[])
      await (await spawnUntilReady([...kinds[kind].args], kinds[kind].env(-1))).stop();
    for (let run = 0; run < RUNS; run++) {
      for (const kind of Object.keys(kinds) as Kind[]) {
        const started = await spawnUntilReady([...kinds[kind].args], kinds[kind].env(run));
        starts.get(kind)!.push(started.readyMs);
        if (run === RUNS - 1) {
          await sleep(IDLE_MS);
          idle.set(kind, memoryOf(started.child.pid!));
        }
        await started.stop();
      }
    }
    log(`footprint: start-up runs done`);

    // 10,000 incidents through the HTTP path, then 1,000 of them through a full lifecycle.
    const databasePath = join(dir, 'loaded.db');
    const server = await spawnUntilReady(FIRELANE, firelaneEnv(databasePath));
    const reader = new Database(databasePath);
    reader.pragma('busy_timeout = 5000');
    const count = (sql: string) => (reader.prepare(sql).get() as { n: number }).n;
    try {
      await sleep(IDLE_MS);
      const idleLoaded = memoryOf(server.child.pid!);
      const d0 = performance.now();
      const declared = await sendCommands(
        server.port,
        slack,
        Array.from({ length: TOTAL }, (_, i) => [
          {
            text: `${SEVERITY_CYCLE[i % 4]} Footprint incident ${i + 1}: checkout errors in eu-west`,
            channel: 'C0GENERAL',
          },
        ]),
      );
      const declareMs = performance.now() - d0;
      const declaredDrainMs = await waitForJobs(reader, 600_000);
      const incidentsStored = count('SELECT count(*) AS n FROM incidents');
      log(
        `footprint: ${incidentsStored} incidents declared in ${(declareMs / 1000).toFixed(1)} s, war rooms done ${(declaredDrainMs / 1000).toFixed(1)} s later`,
      );
      // Reads over everything: the status page and the open list.
      for (let i = 0; i < 5; i++) {
        await (await fetch(`http://127.0.0.1:${server.port}/status.json`)).arrayBuffer();
        await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).arrayBuffer();
      }
      await sleep(IDLE_MS);
      const afterDeclared = memoryOf(server.child.pid!);
      const metricsDeclared = await scrape(server.port, [
        'firelane_process_resident_memory_bytes',
        'firelane_nodejs_heap_size_used_bytes',
      ]);
      const settledDeclared = await settledRss(server.child.pid!);
      reader.pragma('wal_checkpoint(TRUNCATE)');
      const bytesDeclared = dbBytes(databasePath);
      const timelineDeclared = count('SELECT count(*) AS n FROM timeline_events');
      const auditDeclared = count('SELECT count(*) AS n FROM audit_log');
      const jobsDeclared = count('SELECT count(*) AS n FROM jobs');

      // Lifecycle: commander, status update, note, resolve with root cause and action items, in the war room.
      const rooms = new Map<number, string>();
      for (const channel of slack.channels.values()) {
        const n = /^inc-(\d+)-/.exec(channel.name)?.[1];
        if (n) rooms.set(Number(n), channel.id);
      }
      const lifecycleJobs = Array.from({ length: LIFECYCLES }, (_, i) => {
        const channel = rooms.get(i + 1);
        if (!channel) throw new Error(`footprint: no war room for INC-${i + 1}`);
        return [
          { text: 'lead <@U0BENCH|bench>', channel },
          { text: 'update identified "a bad config push to the eu-west load balancers" --eta=30m', channel },
          { text: 'note "rolled the config back; error rate falling"', channel },
          {
            text: 'resolve --root-cause="config push without canary" --action-items="canary config pushes; alert on 5xx ratio"',
            channel,
          },
        ];
      });
      const l0 = performance.now();
      const lifecycle = await sendCommands(server.port, slack, lifecycleJobs);
      const lifecycleMs = performance.now() - l0;
      await waitForJobs(reader, 600_000);
      const resolved = count(`SELECT count(*) AS n FROM incidents WHERE status = 'resolved'`);
      await sleep(IDLE_MS);
      const afterLifecycle = memoryOf(server.child.pid!);
      const settledLifecycle = await settledRss(server.child.pid!);
      reader.pragma('wal_checkpoint(TRUNCATE)');
      const bytesLifecycle = dbBytes(databasePath);
      const timelineLifecycle = count('SELECT count(*) AS n FROM timeline_events');
      const auditLifecycle = count('SELECT count(*) AS n FROM audit_log');
      const dead = count(`SELECT count(*) AS n FROM jobs WHERE status = 'dead'`);
      log(`footprint: ${resolved} resolved after lifecycles in ${(lifecycleMs / 1000).toFixed(1)} s`);

      const perK = bytesDeclared / (TOTAL / 1000);
      const lifecyclePerK = (bytesLifecycle - bytesDeclared) / (LIFECYCLES / 1000);
      const startRows = (Object.keys(kinds) as Kind[]).map((kind) => {
        const values = starts.get(kind)!;
        const mem = idle.get(kind)!;
        return `| ${kind} | ${ms(median(values), 0)} | ${ms(Math.min(...values), 0)} / ${ms(Math.max(...values), 0)} | ${mb(mem.rss)} |`;
      });
      const fresh = median(starts.get('firelane, fresh database')!);
      const existing = median(starts.get('firelane, existing database')!);
      const idleRss = Math.max(
        idle.get('firelane, fresh database')!.rss,
        idle.get('firelane, existing database')!.rss,
        idleLoaded.rss,
      );
      return `## 6. Footprint

Start-up: \`${['node', ...NODE_FLAGS, 'dist/main.js'].join(' ')}\` (\`npm start\`'s command) spawned with Slack configured against a loopback fake Slack (auth.test
answered), timed from spawn to the first 200 from GET /readyz, polled every 10 ms; ${RUNS} runs per kind
after a warm-up run, kinds alternating. "Fresh database": a new file each run, so all migrations
run; "existing": the same, already migrated file. Baselines from the same run: a bare
\`node:http\` server and a bare @slack/bolt app (bench/bare-bolt.ts's app, run by plain node with a
/readyz route). RSS is VmRSS from /proc/<pid>/status after ${IDLE_MS / 1000} s idle (last run of each kind).

| process | start to ready, median | min / max | RSS idle |
|---|---|---|---|
${startRows.join('\n')}

Load: one more firelane (fresh database, default cadences, worker and once-a-second reminder
ticker running) received ${TOTAL.toLocaleString('en-US')} signed \`/incident <sev> <title>\` declarations over HTTP at
concurrency 20 from this process; each opened its war room against the fake Slack (channel,
invites, pinned card, playbook, announcement). Then the status page and metrics were read, and
${LIFECYCLES.toLocaleString('en-US')} of the incidents went through a lifecycle in their war rooms (lead, status update with ETA,
note, resolve with root cause and two action items). RSS after ${IDLE_MS / 1000} s idle at each point;
database size = SQLite file + WAL after \`PRAGMA wal_checkpoint(TRUNCATE)\`.

| figure | value |
|---|---|
| RSS idle before the load | ${mb(idleLoaded.rss)} |
| ${TOTAL.toLocaleString('en-US')} declarations: ack p50 / p99, time to send / war rooms finished after | ${ms(median(declared.latencies))} / ${ms(pct(declared.latencies, 99))}, ${(declareMs / 1000).toFixed(1)} s / +${(declaredDrainMs / 1000).toFixed(1)} s |
| incidents stored / failed commands / dead jobs | ${incidentsStored.toLocaleString('en-US')} / ${declared.failures + lifecycle.failures} / ${dead} |
| RSS after ${TOTAL.toLocaleString('en-US')} incidents: ${IDLE_MS / 1000} s after the load (peak during it) | ${mb(afterDeclared.rss)} (${mb(afterDeclared.peak)}) |
| same, from /metrics: resident / JS heap used (most of it garbage not yet collected) | ${mb(metricsDeclared.firelane_process_resident_memory_bytes!)} / ${mb(metricsDeclared.firelane_nodejs_heap_size_used_bytes!)} |
| RSS after ${TOTAL.toLocaleString('en-US')} incidents, idle (${SETTLE_MS / 1000} s more) | ${mb(settledDeclared)} |
| RSS after ${LIFECYCLES.toLocaleString('en-US')} lifecycles (${resolved.toLocaleString('en-US')} resolved, ${(lifecycleMs / 1000).toFixed(1)} s): ${IDLE_MS / 1000} s after (peak) | ${mb(afterLifecycle.rss)} (${mb(afterLifecycle.peak)}) |
| RSS after the lifecycles, idle (${SETTLE_MS / 1000} s more) | ${mb(settledLifecycle)} |
| database after ${TOTAL.toLocaleString('en-US')} declarations | ${mb(bytesDeclared)}: ${(timelineDeclared / TOTAL).toFixed(1)} timeline events, ${(auditDeclared / TOTAL).toFixed(1)} audit rows, ${(jobsDeclared / TOTAL).toFixed(1)} jobs per incident |
| per 1,000 declared incidents (war room opened) | ${mb(perK)} |
| added per 1,000 lifecycles (${((timelineLifecycle - timelineDeclared) / LIFECYCLES).toFixed(1)} timeline events, ${((auditLifecycle - auditDeclared) / LIFECYCLES).toFixed(1)} audit rows each) | ${mb(lifecyclePerK)} |
| per 1,000 incidents with a full timeline (declared + lifecycle) | ${mb(perK + lifecyclePerK)} |

- Cold start to /readyz under 1.5 s: median ${ms(fresh, 0)} with a fresh database, ${ms(existing, 0)} with an existing one: ${verdict(Math.max(fresh, existing) < 1500)}
- RSS at idle under 120 MB: ${mb(idleRss)} (highest of the idle readings): ${verdict(idleRss < 120 * 2 ** 20)}
- RSS after ${TOTAL.toLocaleString('en-US')} incidents under 200 MB, at idle: ${mb(Math.max(settledDeclared, settledLifecycle))}: ${verdict(incidentsStored >= TOTAL && Math.max(settledDeclared, settledLifecycle) < 200 * 2 ** 20)}
  (${IDLE_MS / 1000} s after the burst: ${mb(Math.max(afterDeclared.rss, afterLifecycle.rss))}, ${verdict(Math.max(afterDeclared.rss, afterLifecycle.rss) < 200 * 2 ** 20)}; peak during it ${mb(Math.max(afterDeclared.peak, afterLifecycle.peak))}.
  Right after a burst the heap still holds its garbage, until V8's memory reducer collects it)
- Database size per 1,000 incidents with timelines: ${mb(perK + lifecyclePerK)} (no target; reported)
`;
    } finally {
      reader.close();
      await server.stop();
    }
  } finally {
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

export async function benchSchedulerFootprint(): Promise<string> {
  const parts = new Set((process.env.BENCH_PARTS ?? '3,4,6').split(',').map((p) => p.trim()));
  const sections: string[] = [];
  if (parts.has('3')) sections.push((await benchSchedulerCost()).markdown);
  if (parts.has('4')) sections.push(await benchPunctuality());
  if (parts.has('6')) sections.push(await benchFootprint());
  return sections.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchSchedulerFootprint()
    .then((markdown) => process.stdout.write(`${markdown}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}

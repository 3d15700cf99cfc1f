// `firelane audit verify` and `firelane audit export` as child processes (node dist/cli.js), against
// a database filled through `firelane run`, then tampered with directly as an attacker would.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../support/process.js';
import { databaseEnv, ON_POSTGRES, queryOne, sqliteOnly } from '../support/test-store.js';
import { createAuditStore } from '../../src/adapters/db/audit-store.js';
import { openDatabase } from '../../src/adapters/db/database.js';

const FIELDS = ['seq', 'at', 'actor', 'platform', 'action', 'incident', 'before', 'after', 'prevHash', 'hash'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI on a SQLite file (a path) or on the database the variables name (databaseEnv). */
const cli = (database: string | Record<string, string>, args: string[]): Promise<Result> =>
  runCli(args, typeof database === 'string' ? { DATABASE_PATH: database } : database);

/** RFC 4180 records (quoted fields may hold commas, doubled quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  expect(quoted).toBe(false);
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}

// On the store FIRELANE_TEST_STORE names; the tests about the file itself (a copy tampered with, a
// missing file not created, a big file built beside it) are SQLite only.
describe('firelane audit', () => {
  let dir: string;
  /** The database the commands below filled. */
  let main: Record<string, string>;
  /** Its file (SQLite). */
  let db: string;
  let rowCount: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-audit-cli-'));
    main = await databaseEnv(join(dir, 'main'));
    db = main.DATABASE_PATH!;
    const commands: Array<[string, string]> = [
      ['alice', '/incident sev1 Checkout down, "card" payments failing'],
      ['alice', '/incident update INC-1 identified Bad deploy, rolling back'],
      ['bob', '/incident lead INC-1 @me'],
      ['bob', '/incident note INC-1 "Rollback started, 50% done"'],
      ['bob', '/incident severity INC-1 sev2'],
    ];
    for (const [user, text] of commands) {
      const result = await cli(main, ['run', text, `--user=${user}`]);
      expect(result, `${text}\n${result.stderr}`).toMatchObject({ code: 0 });
    }
    rowCount = (await queryOne<{ n: number }>({ dir: join(dir, 'main') }, 'SELECT count(*) AS n FROM audit_log'))!.n;
    expect(rowCount).toBeGreaterThanOrEqual(8);
  }, 90_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the database (schema, triggers and rows) to tamper with. */
  function copy(name: string): string {
    const target = join(dir, name);
    const sqlite = new Database(db, { readonly: true });
    sqlite.prepare('VACUUM INTO ?').run(target);
    sqlite.close();
    return target;
  }

  it('verify: exit 0 and "intact" with the row count and head hash', async () => {
    const result = await cli(main, ['audit', 'verify']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^audit log intact: ${rowCount} rows, head [0-9a-f]{64}\\n$`));
  });

  it('export (jsonl by default): only JSON lines on stdout, oldest first, with the contract fields', async () => {
    const result = await cli(main, ['audit', 'export']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.endsWith('\n')).toBe(true);
    const lines = result.stdout.slice(0, -1).split('\n');
    expect(lines).toHaveLength(rowCount);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    records.forEach((record, i) => {
      expect(Object.keys(record)).toEqual(FIELDS);
      expect(record.seq).toBe(i + 1);
      expect(record.at).toMatch(ISO_UTC);
      expect(record.incident).toBe('INC-1');
      expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
      if (i > 0) expect(record.prevHash).toBe(records[i - 1]!.hash);
      for (const key of ['before', 'after'] as const)
        expect(record[key] === null || typeof record[key] === 'object').toBe(true);
    });
    expect(records[0]!.prevHash).toBe('0'.repeat(64));
    const actions = records.map((r) => r.action);
    expect(actions).toContain('incident.declared');
    expect(actions).toContain('incident.status_update');
    expect(actions).toContain('timeline.note');
    const declared = records.find((r) => r.action === 'incident.declared')!;
    expect(declared).toMatchObject({
      actor: 'alice',
      before: null,
      after: { id: 1, title: 'Checkout down, card payments failing', severity: 'sev1' },
    });
    expect(records.find((r) => r.action === 'incident.status_update')).toMatchObject({
      before: { status: 'investigating' },
      after: { status: 'identified' },
    });
    expect(records.find((r) => r.action === 'incident.severity_changed')).toMatchObject({
      actor: 'bob',
      before: { severity: 'sev1' },
      after: { severity: 'sev2' },
    });
  });

  it('export --format=csv: the header, then one record per row; JSON with commas and quotes survives quoting', async () => {
    const [csv, jsonl] = await Promise.all([
      cli(main, ['audit', 'export', '--format=csv']),
      cli(main, ['audit', 'export', '--format=jsonl']),
    ]);
    expect(csv.code).toBe(0);
    expect(csv.stderr).toBe('');
    expect(csv.stdout.split('\n')[0]).toBe('seq,at,actor,platform,action,incident,before,after,prevHash,hash');
    const [header, ...records] = parseCsv(csv.stdout);
    expect(header).toEqual(FIELDS);
    expect(records).toHaveLength(rowCount);
    const expected = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    records.forEach((fields, i) => {
      expect(fields).toHaveLength(FIELDS.length);
      const row = Object.fromEntries(FIELDS.map((name, k) => [name, fields[k]!]));
      const want = expected[i]!;
      expect(row.seq).toBe(String(want.seq));
      expect(row.at).toMatch(ISO_UTC);
      expect(row).toMatchObject({
        at: want.at,
        actor: want.actor,
        platform: want.platform,
        action: want.action,
        incident: want.incident ?? '',
        prevHash: want.prevHash,
        hash: want.hash,
      });
      for (const key of ['before', 'after'] as const)
        expect(row[key] === '' ? null : JSON.parse(row[key]!)).toEqual(want[key]);
    });
    // The declaration's JSON holds a comma and quotes: it must have been quoted.
    expect(csv.stdout).toContain('""title"":""Checkout down, card payments failing""');
  });

  it.skipIf(ON_POSTGRES)(
    sqliteOnly('verify: an edited row (triggers dropped first) exits 1 and names the row'),
    async () => {
      const tampered = copy('edited.db');
      const sqlite = new Database(tampered);
      sqlite.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
      sqlite.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").run();
      sqlite.close();
      const result = await cli(tampered, ['audit', 'verify']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('audit log broken at row 2: its contents do not match its hash (edited)\n');
    },
  );

  it.skipIf(ON_POSTGRES)(sqliteOnly('verify: a deleted middle row and a deleted newest row exit 1'), async () => {
    const middle = copy('gap.db');
    let sqlite = new Database(middle);
    sqlite.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3;');
    sqlite.close();
    const gap = await cli(middle, ['audit', 'verify']);
    expect(gap.code).toBe(1);
    expect(gap.stdout).toMatch(/^audit log broken at row 4: row 3 is missing/);

    const newest = copy('newest.db');
    sqlite = new Database(newest);
    sqlite.exec(`DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = ${rowCount};`);
    sqlite.close();
    const truncated = await cli(newest, ['audit', 'verify']);
    expect(truncated.code).toBe(1);
    expect(truncated.stdout).toMatch(
      new RegExp(`^audit log broken at row ${rowCount}: the log ends at row ${rowCount - 1}`),
    );
  });

  it('an unknown format exits 2 naming the accepted ones, with nothing on stdout', async () => {
    const result = await cli(main, ['audit', 'export', '--format=xml']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/unknown format "xml" \(accepted: jsonl, csv\)/);
  });

  it.skipIf(ON_POSTGRES)(sqliteOnly('a missing database exits 2 and is not created'), async () => {
    const missing = join(dir, 'nowhere', 'firelane.db');
    for (const args of [
      ['audit', 'verify'],
      ['audit', 'export'],
    ]) {
      const result = await cli(missing, args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`no database at ${missing}`);
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('export --format=csv neutralises text a spreadsheet would run (actors named like formulas); jsonl keeps it; verify passes', async () => {
    const hostile = await databaseEnv(join(dir, 'hostile'));
    const actors = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(1,2)', '\t=1+1', '\r=1+1'];
    const [declarer, ...others] = actors;
    expect(await cli(hostile, ['run', '/incident sev2 Search is slow', `--user=${declarer}`])).toMatchObject({
      code: 0,
    });
    for (const user of others)
      expect(await cli(hostile, ['run', `/incident note INC-1 ${user} was here`, `--user=${user}`])).toMatchObject({
        code: 0,
      });

    const [csv, jsonl, verify] = await Promise.all([
      cli(hostile, ['audit', 'export', '--format=csv']),
      cli(hostile, ['audit', 'export']),
      cli(hostile, ['audit', 'verify']),
    ]);
    expect(verify).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit log intact: /) });
    const [, ...records] = parseCsv(csv.stdout);
    const lines = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(lines.length);
    // JSONL is data: the actor exactly as it was stored (besides firelane's own jobs). The carriage
    // return of the last one became a line feed where it entered (domain/clean-text.ts).
    const stored = [...actors.slice(0, -1), '\n=1+1'];
    expect(new Set(lines.map((r) => r.actor))).toEqual(new Set([...stored, 'firelane']));
    // CSV: every field a spreadsheet would run begins with a single quote; the rest of the text is
    // intact (a cell beginning with a line break is no formula: quoted only).
    expect(new Set(records.map((r) => r[2]))).toEqual(
      new Set([...actors.slice(0, -1).map((a) => `'${a}`), '\n=1+1', 'firelane']),
    );
    expect(csv.stdout).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    for (const record of records) for (const field of record) expect(field).not.toMatch(/^[=+\-@\t\r]/);
  }, 60_000);

  it.skipIf(ON_POSTGRES)(sqliteOnly('export stops quietly when the reader goes away (like `| head -1`)'), async () => {
    const big = join(dir, 'big.db');
    const handle = openDatabase(big);
    const audit = createAuditStore(handle, { now: () => Date.parse('2026-11-21T13:05:00Z') });
    handle.sqlite.transaction(() => {
      for (let n = 0; n < 20_000; n++)
        audit.append({
          actor: `u${n}`,
          platform: 'cli',
          action: 'timeline.note',
          incidentId: 1,
          before: null,
          after: { text: 'x'.repeat(100) },
        });
    })();
    handle.close();

    const child = spawn(process.execPath, [CLI, 'audit', 'export'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_PATH: big, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await new Promise<string>((done) =>
      child.stdout.once('data', (chunk: Buffer) => done(chunk.toString())),
    );
    child.stdout.destroy();
    const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
    expect(first.split('\n')[0]).toMatch(/^\{"seq":1,/);
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });
});

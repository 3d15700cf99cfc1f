// The audit CLI's pieces without a process: the export record, CSV quoting, streaming with
// backpressure, a reader that goes away (EPIPE), and the verify verdict line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditStore, GENESIS_HASH, rowHash, type AuditRow } from '../../src/adapters/db/audit-store.js';
import { openDatabase } from '../../src/adapters/db/database.js';
import { createManualClock } from '../../src/ports/clock.js';
import {
  CSV_HEADER,
  csvField,
  csvLine,
  exportAudit,
  jsonlLine,
  runAuditCommand,
  toExportRecord,
  verdict,
} from '../../src/audit-cli.js';

function chain(count: number, extra: Partial<AuditRow> = {}): AuditRow[] {
  const out: AuditRow[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const row = {
      seq,
      at: Date.parse('2026-11-21T13:05:00.123Z') + seq,
      actor: 'alice',
      platform: 'slack',
      action: 'incident.status_update',
      incidentId: 7,
      before: '{"status":"investigating"}',
      after: '{"status":"identified","text":"db, \\"primary\\"\\nfailed over"}',
      prevHash,
      ...extra,
    };
    const hash = rowHash(row);
    out.push({ ...row, hash });
    prevHash = hash;
  }
  return out;
}

/** Collects everything written, optionally slowly (a small buffer so backpressure kicks in). */
function sink(options: { delayMs?: number } = {}) {
  let text = '';
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      if (options.delayMs) setTimeout(done, options.delayMs);
      else done();
    },
  });
  return { stream, text: () => text };
}

describe('export record', () => {
  it('has the contract fields in order, ISO UTC time, INC-n, parsed JSON', () => {
    const [row] = chain(1);
    const record = toExportRecord(row!);
    expect(Object.keys(record)).toEqual([
      'seq',
      'at',
      'actor',
      'platform',
      'action',
      'incident',
      'before',
      'after',
      'prevHash',
      'hash',
    ]);
    expect(record).toMatchObject({
      seq: 1,
      at: '2026-11-21T13:05:00.124Z',
      incident: 'INC-7',
      before: { status: 'investigating' },
      prevHash: GENESIS_HASH,
      hash: row!.hash,
    });
    expect(record.after).toEqual({ status: 'identified', text: 'db, "primary"\nfailed over' });
    expect(toExportRecord({ ...row!, incidentId: null, before: null })).toMatchObject({ incident: null, before: null });
  });

  it('keeps stored text that is not JSON (a tampered row) as a string instead of failing the export', () => {
    expect(toExportRecord({ ...chain(1)[0]!, after: '{broken' }).after).toBe('{broken');
  });

  it('one JSON object per line', () => {
    const line = jsonlLine(chain(1)[0]!);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toMatchObject({ seq: 1, incident: 'INC-7' });
  });
});

describe('CSV', () => {
  it('quotes fields with a comma, quote, CR or LF and doubles inner quotes; null is empty', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(12)).toBe('12');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField('')).toBe('');
  });

  it('neutralises a field beginning with =, +, -, @, tab or CR (OWASP): a quote inside the quoted field', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('+1+1')).toBe(`"'+1+1"`);
    expect(csvField('-2+3')).toBe(`"'-2+3"`);
    expect(csvField('@SUM(1,2)')).toBe(`"'@SUM(1,2)"`);
    expect(csvField('\t=1+1')).toBe(`"'\t=1+1"`);
    expect(csvField('\r=1+1')).toBe(`"'\r=1+1"`);
    expect(csvField(-5)).toBe(`"'-5"`);
    // Only the first character counts: elsewhere these are plain text.
    expect(csvField('a=b+c-d@e')).toBe('a=b+c-d@e');
    expect(csvField("'quoted")).toBe("'quoted");
  });

  it('writes before/after as the stored JSON text', () => {
    const row = chain(1, { incidentId: null, before: null })[0]!;
    expect(CSV_HEADER).toBe('seq,at,actor,platform,action,incident,before,after,prevHash,hash\n');
    expect(csvLine(row)).toBe(
      `1,2026-11-21T13:05:00.124Z,alice,slack,incident.status_update,,,"{""status"":""identified"",""text"":""db, \\""primary\\""\\nfailed over""}",${GENESIS_HASH},${row.hash}\n`,
    );
  });
});

describe('exportAudit', () => {
  it('streams many rows in order through a slow reader (backpressure), jsonl', async () => {
    const rows = chain(3000);
    const out = sink({ delayMs: 1 });
    expect(await exportAudit(rows, 'jsonl', out.stream)).toBe('done');
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(3000);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(rows.map((r) => r.seq));
  });

  it('writes the header and one record per row, csv', async () => {
    const out = sink();
    await exportAudit(chain(3), 'csv', out.stream);
    expect(out.text().split('\n')[0]).toBe('seq,at,actor,platform,action,incident,before,after,prevHash,hash');
    expect(out.text().startsWith(CSV_HEADER)).toBe(true);
  });

  it('writes only the header for an empty log (csv) and nothing for jsonl', async () => {
    const csv = sink();
    await exportAudit([], 'csv', csv.stream);
    expect(csv.text()).toBe(CSV_HEADER);
    const jsonl = sink();
    await exportAudit([], 'jsonl', jsonl.stream);
    expect(jsonl.text()).toBe('');
  });

  it('stops quietly when the reader goes away (EPIPE), without reading the remaining rows', async () => {
    let read = 0;
    const [template] = chain(1);
    function* rows() {
      for (let seq = 1; seq <= 100_000; seq++) {
        read++;
        yield { ...template!, seq };
      }
    }
    let writes = 0;
    const out = new Writable({
      write(_chunk, _enc, done) {
        writes++;
        if (writes === 2) done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        else done();
      },
    });
    expect(await exportAudit(rows(), 'jsonl', out)).toBe('closed');
    expect(read).toBeLessThan(100_000);
  });

  it('reports any other write failure', async () => {
    const out = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('no space left'), { code: 'ENOSPC' }));
      },
    });
    await expect(exportAudit(chain(10), 'jsonl', out)).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});

describe('verdict', () => {
  it('prints intact with the row count and head, or the broken row and problem', () => {
    expect(verdict({ ok: true, rows: 3, head: 'abc' })).toEqual({
      code: 0,
      line: 'audit log intact: 3 rows, head abc\n',
    });
    expect(verdict({ ok: false, rows: 2, seq: 2, problem: 'its contents do not match its hash (edited)' })).toEqual({
      code: 1,
      line: 'audit log broken at row 2: its contents do not match its hash (edited)\n',
    });
  });
});

describe('export of hostile text', () => {
  const HOSTILE = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(1,2)', '\t=1+1', '\r=1+1'];
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-audit-csv-'));
    path = join(dir, 'firelane.db');
    const handle = openDatabase(path);
    const audit = createAuditStore(handle, createManualClock(Date.parse('2026-11-21T13:05:00Z')));
    for (const actor of HOSTILE)
      audit.append({
        actor,
        platform: 'cli',
        action: 'timeline.note',
        incidentId: 1,
        before: null,
        after: { text: actor },
      });
    audit.append({ actor: 'alice', platform: 'cli', action: 'timeline.note', incidentId: null, before: -1, after: -2 });
    handle.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<{ code: number; out: string }> {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await runAuditCommand(args, { stdout, stderr: new PassThrough(), databasePath: () => path });
    return { code, out };
  }

  it('csv: no field begins with a formula character; a quote inside the quoted field says it is text', async () => {
    const { code, out } = await run(['export', '--format=csv']);
    expect(code).toBe(0);
    const records = out.split(/\n(?=\d+,)/).slice(1);
    expect(records).toHaveLength(HOSTILE.length + 1);
    HOSTILE.forEach((actor, i) => {
      const quoted = `"'${actor.replace(/"/g, '""')}"`;
      expect(records[i]).toContain(`,${quoted},cli,timeline.note,INC-1,`);
    });
    expect(out).toContain(`\n${HOSTILE.length + 1},2026-11-21T13:05:00.000Z,alice,cli,timeline.note,,"'-1","'-2",`);
    // No field, quoted or not, starts with a formula character.
    expect(out).not.toMatch(/(?:^|,|\n)"?[=+\-@\t\r]/);
  });

  it('jsonl is data, not a spreadsheet: it keeps the text exactly; verify still passes', async () => {
    const { code, out } = await run(['export', '--format=jsonl']);
    expect(code).toBe(0);
    const records = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { actor: string; after: unknown; before: unknown });
    expect(records.map((r) => r.actor)).toEqual([...HOSTILE, 'alice']);
    expect(records.slice(0, HOSTILE.length).map((r) => r.after)).toEqual(HOSTILE.map((text) => ({ text })));
    expect(records.at(-1)).toMatchObject({ before: -1, after: -2 });
    const verified = await run(['verify']);
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(new RegExp(`^audit log intact: ${HOSTILE.length + 1} rows`));
  });
});

describe('runAuditCommand arguments', () => {
  const io = () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    let asked = false;
    return {
      io: {
        stdout,
        stderr,
        databasePath: () => {
          asked = true;
          return '/nonexistent/firelane-audit-test/firelane.db';
        },
      },
      err: () => err,
      asked: () => asked,
    };
  };

  it('refuses an unknown format before reading the configuration, naming the accepted ones', async () => {
    const t = io();
    expect(await runAuditCommand(['export', '--format=xml'], t.io)).toBe(2);
    expect(t.err()).toContain('unknown format "xml" (accepted: jsonl, csv)');
    expect(t.asked()).toBe(false);
  });

  it('refuses a missing or unknown subcommand and unknown flags with the usage', async () => {
    for (const args of [[], ['rewrite'], ['verify', '--fix'], ['export', 'extra']]) {
      const t = io();
      expect(await runAuditCommand(args, t.io)).toBe(2);
      expect(t.err()).toContain('firelane audit verify');
    }
  });

  it('says so when the database file does not exist (and does not create it)', async () => {
    const t = io();
    expect(await runAuditCommand(['verify'], t.io)).toBe(2);
    expect(t.err()).toContain('no database at /nonexistent/firelane-audit-test/firelane.db');
  });
});

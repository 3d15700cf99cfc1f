// `firelane audit verify` and `firelane audit export [--format=jsonl|csv]`.
// The functions take the audit store (or its rows) and the output streams, so they are testable
// without a process; runAuditCommand is the part src/cli.ts dispatches to.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAuditStore, type AuditRow, type VerifyResult } from './adapters/db/audit-store.js';
import { databaseLabel } from './config/env.js';
import { openDatabase, type DbHandle } from './adapters/db/database.js';
import { incidentKey } from './domain/incident.js';
import { systemClock } from './ports/clock.js';

export const AUDIT_USAGE = `  firelane audit verify                 check the audit log's hash chain (exit 0 intact, 1 broken)
  firelane audit export [--format=jsonl|csv]
                                        write the audit log to standard output, oldest first`;

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The columns of an export, in order (also the CSV header). */
export const EXPORT_FIELDS = [
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
] as const;

export interface AuditExportRecord {
  seq: number;
  /** ISO-8601 UTC, e.g. 2026-11-21T13:05:00.123Z */
  at: string;
  actor: string;
  platform: string;
  action: string;
  /** INC-<n>, or null when the change is not about an incident. */
  incident: string | null;
  before: unknown;
  after: unknown;
  prevHash: string;
  hash: string;
}

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

/** Stored JSON text as a value. A value that does not parse (a tampered row) is kept as its raw text. */
function parseStoredJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

export function toExportRecord(row: AuditRow): AuditExportRecord {
  return {
    seq: row.seq,
    at: isoTime(row.at),
    actor: row.actor,
    platform: row.platform,
    action: row.action,
    incident: row.incidentId === null ? null : incidentKey(row.incidentId),
    before: parseStoredJson(row.before),
    after: parseStoredJson(row.after),
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

/** One JSON object and a newline. */
export function jsonlLine(row: AuditRow): string {
  return `${JSON.stringify(toExportRecord(row))}\n`;
}

/** A spreadsheet reads a cell beginning with one of these as a formula (OWASP, CSV Injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * RFC 4180: a field with a comma, a double quote, CR or LF is quoted, inner quotes doubled; null is
 * empty. A field that a spreadsheet would run as a formula (beginning with =, +, -, @, tab or CR) is
 * also quoted, with a single quote put first inside the quotes, as OWASP recommends: it then shows
 * as text (`=HYPERLINK(...)` arrives as `'=HYPERLINK(...)`). The JSONL export keeps the text as is.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  if (FORMULA_START.test(text)) return `"'${text.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_HEADER = `${EXPORT_FIELDS.join(',')}\n`;

/** One CSV record; before/after are the stored JSON text. */
export function csvLine(row: AuditRow): string {
  const record = toExportRecord(row);
  return `${[record.seq, record.at, record.actor, record.platform, record.action, record.incident, row.before, row.after, record.prevHash, record.hash].map(csvField).join(',')}\n`;
}

/** The verification verdict as printed: the line and the exit code. */
export function verdict(result: VerifyResult): { code: 0 | 1; line: string } {
  return result.ok
    ? { code: 0, line: `audit log intact: ${result.rows} rows, head ${result.head}\n` }
    : { code: 1, line: `audit log broken at row ${result.seq}: ${result.problem}\n` };
}

const CHUNK_CHARS = 64 * 1024;

/**
 * Streams the rows to `out` in the format, oldest first, in chunks, waiting for each chunk to be
 * flushed (backpressure; a database can hold millions of rows). Returns 'closed' when the reader
 * went away (EPIPE, e.g. `| head`): the export stops quietly. Any other write error is thrown.
 */
export async function exportAudit(
  rows: Iterable<AuditRow> | AsyncIterable<AuditRow>,
  format: ExportFormat,
  out: NodeJS.WritableStream,
): Promise<'done' | 'closed'> {
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  // Keeps a stream error (EPIPE arrives as an 'error' event too) from becoming an uncaught exception.
  out.on('error', onError);
  const write = (chunk: string) =>
    new Promise<void>((done) => {
      out.write(chunk, (error?: Error | null) => {
        if (error) failure ??= error;
        done();
      });
    });
  const line = format === 'csv' ? csvLine : jsonlLine;
  let buffer = format === 'csv' ? CSV_HEADER : '';
  // for..of closes the row iterator (and so the statement) on every way out of the loop.
  for await (const row of rows) {
    buffer += line(row);
    if (buffer.length >= CHUNK_CHARS) {
      await write(buffer);
      buffer = '';
      if (failure) break;
    }
  }
  if (!failure && buffer !== '') await write(buffer);
  if (!failure) {
    out.removeListener('error', onError);
    return 'done';
  }
  // The listener stays: a closed pipe may report again, and nobody else is listening.
  if (isClosedPipe(failure)) return 'closed';
  throw failure;
}

function isClosedPipe(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

/**
 * Runs `fn` inside one read transaction: everything it reads comes from the same snapshot, so a
 * server appending meanwhile cannot make the rows and the head disagree (a false "deleted" alarm).
 */
export function inSnapshot<T>({ sqlite }: DbHandle, fn: () => T): T {
  return sqlite.transaction(fn).deferred();
}

export interface AuditCommandIo {
  /**
   * Called only once the arguments are valid (it may stop the process on a configuration error):
   * the SQLite file, or PostgreSQL's URL when DATABASE_URL is set.
   */
  databasePath: () => string;
  databaseUrl?: () => string | undefined;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `audit <verify|export> ...`: returns the exit code (0 ok, 1 broken log or write failure, 2 usage or missing database). */
export async function runAuditCommand(args: string[], io: AuditCommandIo): Promise<number> {
  const problem = (message: string) => {
    io.stderr.write(`firelane: ${message}\n`);
    return 2;
  };
  const [sub, ...rest] = args;
  let format: ExportFormat = 'jsonl';
  if (sub === 'verify') {
    try {
      parseArgs({ args: rest, options: {}, allowPositionals: false });
    } catch (error) {
      return problem(`audit verify: ${(error as Error).message}\nUsage:\n${AUDIT_USAGE}`);
    }
  } else if (sub === 'export') {
    let raw: string | undefined;
    try {
      raw = parseArgs({ args: rest, options: { format: { type: 'string' } }, allowPositionals: false }).values.format;
    } catch (error) {
      return problem(`audit export: ${(error as Error).message}\nUsage:\n${AUDIT_USAGE}`);
    }
    if (raw !== undefined) {
      const wanted = raw.trim().toLowerCase();
      if (!isExportFormat(wanted))
        return problem(`audit export: unknown format "${raw}" (accepted: ${EXPORT_FORMATS.join(', ')})`);
      format = wanted;
    }
  } else {
    return problem(
      `${sub === undefined ? 'audit needs a subcommand' : `unknown audit subcommand "${sub}"`}\nUsage:\n${AUDIT_USAGE}`,
    );
  }

  const url = io.databaseUrl?.();
  if (url) return auditPostgres(sub, format, url, io);
  const path = io.databasePath();
  // Opening a missing file would create an empty database and report an empty log as intact.
  if (path !== ':memory:' && !existsSync(path)) return problem(`no database at ${path} (set DATABASE_PATH)`);
  // Pending migrations are applied, as `firelane migrate` does, so an older database can be read.
  const handle = openDatabase(path);
  try {
    const audit = createAuditStore(handle, systemClock);
    if (sub === 'verify') {
      const { code, line } = verdict(inSnapshot(handle, () => audit.verify()));
      io.stdout.write(line);
      return code;
    }
    // One statement reads the whole log, from one snapshot, however long the reader takes.
    return await exportTo(audit.rows(), format, io);
  } finally {
    handle.close();
  }
}

async function exportTo(
  rows: Iterable<AuditRow> | AsyncIterable<AuditRow>,
  format: ExportFormat,
  io: AuditCommandIo,
): Promise<0 | 1> {
  try {
    await exportAudit(rows, format, io.stdout);
    return 0;
  } catch (error) {
    io.stderr.write(
      `firelane: audit export: cannot write the output (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n`,
    );
    return 1;
  }
}

/** The same on PostgreSQL: the log read from one snapshot (REPEATABLE READ), in batches. */
async function auditPostgres(sub: 'verify' | 'export', format: ExportFormat, url: string, io: AuditCommandIo) {
  const { openPostgres } = await import('./adapters/postgres/database.js');
  const { createPgAuditStore } = await import('./adapters/postgres/audit-store.js');
  let handle;
  try {
    handle = await openPostgres(url, { poolSize: 1 });
  } catch (error) {
    io.stderr.write(`firelane: cannot open the database ${databaseLabel(url)}: ${(error as Error).message}\n`);
    return 2;
  }
  try {
    const audit = createPgAuditStore(handle, systemClock);
    if (sub === 'verify') {
      const { code, line } = verdict(await audit.verify());
      io.stdout.write(line);
      return code;
    }
    return await exportTo(audit.rows(), format, io);
  } finally {
    await handle.close();
  }
}

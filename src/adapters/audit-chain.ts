// The audit log's hash chain, the same on every database: how a row's hash is made, and the check
// that walks the rows in order and compares the end with the recorded head.
import { createHash } from 'node:crypto';

/** The prevHash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  platform: string;
  action: string;
  incidentId: number | null;
  /** JSON text as stored (hashed as is). */
  before: string | null;
  after: string | null;
  prevHash: string;
  hash: string;
}

/** The hash of a row: SHA-256 over its fields in a fixed order, including the previous hash. */
export function rowHash(row: Omit<AuditRow, 'hash'>): string {
  const canonical = JSON.stringify([
    row.seq,
    row.at,
    row.actor,
    row.platform,
    row.action,
    row.incidentId,
    row.before,
    row.after,
    row.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** An audit entry's before/after as stored: JSON text, or null. */
export const toJson = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

export type VerifyResult =
  { ok: true; rows: number; head: string } | { ok: false; rows: number; seq: number; problem: string };

/**
 * Walks the rows oldest first: `next(row)` answers the first break it finds, `end(head)` compares
 * the end of the chain with the recorded head (the newest rows deleted, rows added without it).
 * Feed it rows and the head read in one snapshot.
 */
export function createChainCheck() {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let rows = 0;
  return {
    next(row: AuditRow): VerifyResult | undefined {
      rows++;
      if (row.seq !== expectedSeq) {
        const missing =
          row.seq - 1 === expectedSeq
            ? `row ${expectedSeq} is missing`
            : `rows ${expectedSeq} to ${row.seq - 1} are missing`;
        return {
          ok: false,
          rows,
          seq: row.seq,
          problem: row.seq > expectedSeq ? `${missing} (deleted)` : 'sequence out of order (inserted)',
        };
      }
      if (row.prevHash !== prevHash)
        return {
          ok: false,
          rows,
          seq: row.seq,
          problem: `its link to row ${row.seq - 1} is broken (row ${row.seq - 1} was edited, or a row was deleted or inserted)`,
        };
      if (rowHash(row) !== row.hash)
        return { ok: false, rows, seq: row.seq, problem: 'its contents do not match its hash (edited)' };
      prevHash = row.hash;
      expectedSeq++;
      return undefined;
    },
    end(last: { seq: number; hash: string } | undefined): VerifyResult {
      if (!last && rows > 0) return { ok: false, rows, seq: 0, problem: 'the head record is missing (deleted)' };
      const headSeq = last?.seq ?? 0;
      if (headSeq > rows)
        return {
          ok: false,
          rows,
          seq: headSeq,
          problem: `the log ends at row ${rows} but its head says ${headSeq} (newest rows deleted)`,
        };
      if (headSeq < rows)
        return {
          ok: false,
          rows,
          seq: headSeq + 1,
          problem: `it comes after the recorded head (row ${headSeq}): added without the head (inserted)`,
        };
      if ((last?.hash ?? GENESIS_HASH) !== prevHash)
        return { ok: false, rows, seq: headSeq, problem: 'it does not match the recorded head (edited)' };
      return { ok: true, rows, head: prevHash };
    },
  };
}

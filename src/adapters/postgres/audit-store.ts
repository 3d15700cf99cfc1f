// The hash-chained audit log on PostgreSQL. A transaction's appends are queued with its other writes and
// chained by the database when it commits, under a lock on the head row (a deferred trigger), so appends
// from any number of replicas form one chain: the next waits until the one before commits, then reads the
// head it left.
import { sql } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { AuditEntry, AuditLog } from '../../ports/store.js';
import { createChainCheck, toJson, type AuditRow, type VerifyResult } from '../audit-chain.js';
import type { CommittedEntry } from '../db/audit-store.js';
import type { PgHandle, QueuedWrite } from './database.js';

export interface PgAuditStore extends AuditLog {
  /** All rows, oldest first, read in batches. */
  rows(): AsyncIterable<AuditRow>;
  /** The whole chain and the head, read in one snapshot. */
  verify(): Promise<VerifyResult>;
}

const BATCH = 1000;
const COLUMNS =
  'seq, at, actor, platform, action, incident_id AS "incidentId", before, after, prev_hash AS "prevHash", hash';

type Queryable = { query<R>(text: string, values?: unknown[]): Promise<{ rows: R[] }> };

const toRow = (r: Record<string, unknown>): AuditRow => ({
  seq: Number(r.seq),
  at: Number(r.at),
  actor: r.actor as string,
  platform: r.platform as string,
  action: r.action as string,
  incidentId: r.incidentId === null ? null : Number(r.incidentId),
  before: r.before as string | null,
  after: r.after as string | null,
  prevHash: r.prevHash as string,
  hash: r.hash as string,
});

async function* batches(client: Queryable): AsyncGenerator<AuditRow> {
  let after = 0;
  for (;;) {
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT ${BATCH}`,
      [after],
    );
    for (const row of rows) yield toRow(row);
    if (rows.length < BATCH) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

export function createPgAuditStore(
  handle: PgHandle,
  clock: Clock,
  onCommitted?: (entry: CommittedEntry) => void,
): PgAuditStore {
  // A transaction's entries go in one INSERT into audit_pending, queued with its other writes
  // (PgHandle.queueWrite) and, as nothing reads them before COMMIT, sent with the last of them or at the
  // end, not before each statement; the database chains them at COMMIT (a deferred trigger,
  // migrations/postgres/0005), holding the head row's lock only while it commits, never across a round
  // trip to this process. The table is not in schema.ts: nothing reads it (its rows live only until
  // their own transaction commits).
  const write: QueuedWrite<{ entry: AuditEntry; at: number }> = {
    unread: true,
    statement(entries) {
      const rows = entries.map(({ entry, at }) => ({
        ...entry,
        at,
        before: toJson(entry.before),
        after: toJson(entry.after),
      }));
      // rowHash's JSON array without its first element (seq) and last (prevHash), which the server adds.
      const middles = rows.map((r) =>
        JSON.stringify([r.at, r.actor, r.platform, r.action, r.incidentId, r.before, r.after]).slice(1, -1),
      );
      const column = (pick: (row: (typeof rows)[number]) => unknown) => sql.param(rows.map(pick));
      if (onCommitted) {
        const committed = entries.map(({ entry, at }): CommittedEntry => ({ ...entry, at }));
        handle.afterCommit(() => {
          for (const entry of committed) {
            try {
              onCommitted(entry);
            } catch {
              // An observer's failure must never reach the writer; observers log their own errors.
            }
          }
        });
      }
      return sql`
      INSERT INTO audit_pending (at, actor, platform, action, incident_id, before, after, middle)
      SELECT at, actor, platform, action, incident_id, before, after, middle
      FROM unnest(${column((r) => r.at)}::bigint[], ${column((r) => r.actor)}::text[],
                  ${column((r) => r.platform)}::text[], ${column((r) => r.action)}::text[],
                  ${column((r) => r.incidentId)}::integer[], ${column((r) => r.before)}::text[],
                  ${column((r) => r.after)}::text[], ${sql.param(middles)}::text[])
        WITH ORDINALITY AS e (at, actor, platform, action, incident_id, before, after, middle, n)
      ORDER BY n`;
    },
  };
  // The time of the change, not of its transaction's end.
  const append = (entry: AuditEntry) => handle.queueWrite(write, { entry, at: clock.now() });

  return {
    append,
    async *rows() {
      const client = await handle.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        yield* batches(client);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
    async verify() {
      const client = await handle.pool.connect();
      try {
        // One snapshot for the rows and the head: a row appended meanwhile cannot look like tampering.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        try {
          const chain = createChainCheck();
          for await (const row of batches(client)) {
            const broken = chain.next(row);
            if (broken) return broken;
          }
          const { rows } = await client.query<{ seq: number; hash: string }>(
            'SELECT seq, hash FROM audit_head WHERE id = 1',
          );
          const head = rows[0] && { seq: Number(rows[0].seq), hash: rows[0].hash };
          // A head at row 0 is the empty log's (PostgreSQL seeds it).
          return chain.end(head && head.seq === 0 ? undefined : head);
        } finally {
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
    },
  };
}

// The hash-chained audit log: append (in the caller's transaction), verify the chain, read it in order.
import type { Clock } from '../../ports/clock.js';
import type { AuditEntry, AuditRecords } from '../../ports/store.js';
import { atomic, type DbHandle } from './database.js';
import { createChainCheck, GENESIS_HASH, rowHash, toJson, type AuditRow, type VerifyResult } from '../audit-chain.js';

export { GENESIS_HASH, rowHash, type AuditRow, type VerifyResult };

export interface AuditStore extends AuditRecords {
  /** All rows, oldest first (streamed, for export). */
  rows(): IterableIterator<AuditRow>;
  verify(): VerifyResult;
}

/** An audit entry known to be committed: what observers (metrics) hear about. */
export interface CommittedEntry extends AuditEntry {
  /** Its place in the chain where the writer knows it (SQLite); PostgreSQL chains at COMMIT, on the server. */
  seq?: number;
  at: number;
}

/**
 * `onCommitted` hears every entry once its transaction has committed, never one that was rolled
 * back: a single write's own transaction has ended by the next microtask, a transaction of the
 * store's gate when `afterTransaction` calls back. The entry counts as committed when the row under
 * its seq still has its hash (a rolled-back seq is absent, or reused by a later row with another hash).
 */
export function createAuditStore(
  { sqlite }: DbHandle,
  clock: Clock,
  onCommitted?: (entry: CommittedEntry) => void,
  afterTransaction: (fn: () => void) => void = setImmediate,
): AuditStore {
  const head = sqlite.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1');
  const insert = sqlite.prepare(
    'INSERT INTO audit_log (seq, at, actor, platform, action, incident_id, before, after, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const moveHead = sqlite.prepare(
    'INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
  );
  const all = sqlite.prepare<[], AuditRow>(
    'SELECT seq, at, actor, platform, action, incident_id AS incidentId, before, after, prev_hash AS prevHash, hash FROM audit_log ORDER BY seq',
  );
  const appendRow = (entry: AuditEntry) => {
    const last = head.get();
    const row = {
      seq: (last?.seq ?? 0) + 1,
      at: clock.now(),
      actor: entry.actor,
      platform: entry.platform,
      action: entry.action,
      incidentId: entry.incidentId,
      before: toJson(entry.before),
      after: toJson(entry.after),
      prevHash: last?.hash ?? GENESIS_HASH,
    };
    const hash = rowHash(row);
    insert.run(
      row.seq,
      row.at,
      row.actor,
      row.platform,
      row.action,
      row.incidentId,
      row.before,
      row.after,
      row.prevHash,
      hash,
    );
    moveHead.run(row.seq, hash);
    if (onCommitted) hear({ ...entry, seq: row.seq, at: row.at }, row.seq, hash);
  };
  const append = atomic(sqlite, appendRow);

  const hashAt = sqlite.prepare<[number], { hash: string }>('SELECT hash FROM audit_log WHERE seq = ?');
  let heard: Array<{ entry: CommittedEntry; seq: number; hash: string }> = [];
  const tell = () => {
    if (!sqlite.open) return; // closed meanwhile: nobody is left to tell
    // A transaction that spans awaits (the store's gate) is still open: hear its entries when it ends.
    if (sqlite.inTransaction) return void afterTransaction(tell);
    const batch = heard;
    heard = [];
    for (const { entry, seq, hash } of batch) {
      if (hashAt.get(seq)?.hash !== hash) continue;
      try {
        onCommitted!(entry);
      } catch {
        // An observer's failure must never reach the writer; observers log their own errors.
      }
    }
  };
  function hear(entry: CommittedEntry, seq: number, hash: string) {
    if (heard.length === 0) queueMicrotask(tell);
    heard.push({ entry, seq, hash });
  }

  // Reads the chain and the head in one transaction: one snapshot, so a row appended meanwhile by
  // a running server cannot look like tampering.
  const verifySnapshot = sqlite.transaction((): VerifyResult => {
    const chain = createChainCheck();
    for (const row of all.iterate()) {
      const broken = chain.next(row);
      if (broken) return broken;
    }
    return chain.end(head.get());
  });

  return {
    append,
    rows: () => all.iterate(),
    verify: () => verifySnapshot(),
  };
}

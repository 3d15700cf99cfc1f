// The ReceiptRecords port on PostgreSQL: one row per handled request key, so a retried delivery
// (to this replica or another) is answered with the first reply instead of being run again.
import { eq, sql } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import { DuplicateRequest, type Receipts } from '../../ports/store.js';
import { violates, type PgHandle, type QueuedWrite } from './database.js';
import { receipts } from './schema.js';

export function createPgReceipts(handle: PgHandle, clock: Clock): Receipts {
  const q = () => handle.executor();
  const claimWrite: QueuedWrite<{ key: string; createdAt: number }> = {
    statement: (claims) => handle.db.insert(receipts).values(claims),
    failure: (error, claims) => (violates(error, 'receipts_pkey') ? new DuplicateRequest(claims[0]!.key) : undefined),
  };
  return {
    // Queued with the transaction's other writes (one round trip for all of them, database.ts). A key
    // taken before fails that statement and the whole transaction: DuplicateRequest. One being claimed
    // by another transaction that has not ended: the insert waits for it, then fails if it committed.
    async claim(key) {
      await handle.queueWrite(claimWrite, { key, createdAt: clock.now() });
      // A key taken before this transaction began is found before a number is drawn for nothing (a
      // repeated declaration would otherwise skip an incident number).
      handle.guard(sql`NOT EXISTS (SELECT 1 FROM receipts WHERE key = ${key})`, () => new DuplicateRequest(key));
      return true;
    },
    async reply(key) {
      const [row] = await q().select({ reply: receipts.reply }).from(receipts).where(eq(receipts.key, key));
      return row?.reply;
    },
    async saveReply(key, reply) {
      await q().update(receipts).set({ reply }).where(eq(receipts.key, key));
    },
  };
}

// The ReceiptRecords port on PostgreSQL: one row per handled request key, so a retried delivery
// (to this replica or another) is answered with the first reply instead of being run again.
import { eq } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { Receipts } from '../../ports/store.js';
import type { PgHandle } from './database.js';
import { receipts } from './schema.js';

export function createPgReceipts(handle: PgHandle, clock: Clock): Receipts {
  const q = () => handle.executor();
  return {
    // A claim of the same key by another transaction that has not ended yet: ON CONFLICT waits for
    // it, then adds nothing when it committed (false here) and the row when it rolled back.
    async claim(key) {
      const inserted = await q()
        .insert(receipts)
        .values({ key, createdAt: clock.now() })
        .onConflictDoNothing()
        .returning({ key: receipts.key });
      return inserted.length === 1;
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

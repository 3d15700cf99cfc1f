// Leases (ports/store.ts) on PostgreSQL: the same statements as on SQLite (adapters/db/lease-store.ts);
// the upsert's row lock makes two replicas racing for a free lease take turns, and only one wins.
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { LeaseStore } from '../../ports/store.js';
import type { PgHandle } from './database.js';
import { leases } from './schema.js';

export function createPgLeaseStore(handle: PgHandle, clock: Clock): LeaseStore {
  return {
    async acquire(name, holder, ttlMs) {
      const now = clock.now();
      const rows = await handle
        .executor()
        .insert(leases)
        .values({ name, holder, epoch: 1, expiresAt: now + ttlMs })
        .onConflictDoUpdate({
          target: leases.name,
          set: { holder, epoch: sql`${leases.epoch} + 1`, expiresAt: now + ttlMs },
          setWhere: lte(leases.expiresAt, now),
        })
        .returning({ epoch: leases.epoch });
      return rows[0]?.epoch;
    },
    async renew(name, holder, epoch, ttlMs) {
      const rows = await handle
        .executor()
        .update(leases)
        .set({ expiresAt: clock.now() + ttlMs })
        .where(and(eq(leases.name, name), eq(leases.holder, holder), eq(leases.epoch, epoch)))
        .returning({ epoch: leases.epoch });
      return rows.length === 1;
    },
    async release(name, holder, epoch) {
      await handle
        .executor()
        .delete(leases)
        .where(and(eq(leases.name, name), eq(leases.holder, holder), eq(leases.epoch, epoch)));
    },
  };
}

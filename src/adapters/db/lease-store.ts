// Leases (ports/store.ts LeaseRecords) on SQLite: one upsert takes a free or expired lease and moves
// its epoch on; renew and release hold only for the holder at its epoch.
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { LeaseRecords } from '../../ports/store.js';
import type { DbHandle } from './database.js';
import { leases } from './schema.js';

export function createLeaseStore({ db }: DbHandle, clock: Clock): LeaseRecords {
  return {
    acquire(name, holder, ttlMs) {
      const now = clock.now();
      return db
        .insert(leases)
        .values({ name, holder, epoch: 1, expiresAt: now + ttlMs })
        .onConflictDoUpdate({
          target: leases.name,
          set: { holder, epoch: sql`${leases.epoch} + 1`, expiresAt: now + ttlMs },
          setWhere: lte(leases.expiresAt, now),
        })
        .returning({ epoch: leases.epoch })
        .get()?.epoch;
    },
    renew(name, holder, epoch, ttlMs) {
      const result = db
        .update(leases)
        .set({ expiresAt: clock.now() + ttlMs })
        .where(and(eq(leases.name, name), eq(leases.holder, holder), eq(leases.epoch, epoch)))
        .run();
      return result.changes === 1;
    },
    release(name, holder, epoch) {
      db.delete(leases)
        .where(and(eq(leases.name, name), eq(leases.holder, holder), eq(leases.epoch, epoch)))
        .run();
    },
  };
}

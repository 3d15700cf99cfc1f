// Leases for what runs once across replicas, on both databases: one holder at a time, a new epoch for
// each new holder, renew and release only for the holder at its epoch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects, type StoreUnderTest } from '../../support/stores.js';

for (const dialect of dialects()) {
  describe(`leases on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(async () => {
      await t.close();
    });

    it('one holder at a time; after it expires another takes it with the next epoch, and the first has lost it', async () => {
      const { leases } = t.store;
      expect(await leases.acquire('reconcile', 'a', 30_000)).toBe(1);
      expect(await leases.acquire('reconcile', 'b', 30_000)).toBeUndefined();
      expect(await leases.acquire('other', 'b', 30_000)).toBe(1);
      expect(await leases.renew('reconcile', 'a', 1, 30_000)).toBe(true);

      t.clock.advance(29_999);
      expect(await leases.acquire('reconcile', 'b', 30_000)).toBeUndefined(); // renewed: still a's
      t.clock.advance(1);
      expect(await leases.acquire('reconcile', 'b', 30_000)).toBe(2);
      expect(await leases.renew('reconcile', 'a', 1, 30_000)).toBe(false);
      await leases.release('reconcile', 'a', 1); // a no longer holds it: nothing happens
      expect(await leases.acquire('reconcile', 'c', 30_000)).toBeUndefined();

      await leases.release('reconcile', 'b', 2);
      expect(await leases.acquire('reconcile', 'c', 30_000)).toBe(1);
    });

    if (dialect.name === 'postgres')
      it('replicas racing for a free lease: exactly one gets it', async () => {
        for (let round = 0; round < 20; round++) {
          const name = `race-${round}`;
          const won = await Promise.all(
            Array.from({ length: 8 }, (_, i) => t.store.leases.acquire(name, `replica-${i}`, 30_000)),
          );
          expect(won.filter((epoch) => epoch !== undefined)).toEqual([1]);
        }
      });
  });
}

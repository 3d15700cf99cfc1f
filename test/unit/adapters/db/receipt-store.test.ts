// Request receipts on each database: a key is claimed once, and its reply is kept as given. On
// PostgreSQL, replicas claiming one key at once: exactly one wins.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateRequest, type Store } from '../../../../src/ports/store.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

/**
 * Whether the claim took the key, in a transaction of its own: SQLite says false at once; PostgreSQL
 * writes the key with the transaction's last writes, and the transaction throws DuplicateRequest.
 */
async function claimed(store: Store, key: string): Promise<boolean> {
  try {
    return await store.transaction(() => store.receipts.claim(key));
  } catch (error) {
    if (error instanceof DuplicateRequest && error.key === key) return false;
    throw error;
  }
}

for (const dialect of dialects()) {
  describe(`receipts on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(async () => {
      await t.close();
    });

    it('claims a key once, and keeps its reply as given', async () => {
      t.clock.set(Date.parse('2026-11-21T10:00:00Z'));
      expect(await claimed(t.store, 'slack:1')).toBe(true);
      expect(await claimed(t.store, 'slack:1')).toBe(false);
      expect(await t.store.receipts.reply('slack:1')).toBeNull();
      expect(await t.store.receipts.reply('slack:2')).toBeUndefined();
      const reply = { visibility: 'channel', text: 'Declared INC-1', blocks: [{ z: 1, a: [true, null, 2.5] }] };
      await t.store.receipts.saveReply('slack:1', reply);
      expect(await t.store.receipts.reply('slack:1')).toEqual(reply);
      await t.store.receipts.saveReply('slack:1', 'plain text');
      expect(await t.store.receipts.reply('slack:1')).toBe('plain text');
      await t.store.receipts.saveReply('slack:2', { text: 'never claimed' }); // nothing to save it on
      expect(await t.store.receipts.reply('slack:2')).toBeUndefined();
      expect(await t.query('SELECT key, created_at FROM receipts')).toEqual([
        { key: 'slack:1', created_at: Date.parse('2026-11-21T10:00:00Z') },
      ]);
    });

    it('a claim in a transaction that rolls back frees the key again', async () => {
      await expect(
        t.store.transaction(async () => {
          expect(await t.store.receipts.claim('slack:1')).toBe(true);
          throw new Error('the command failed');
        }),
      ).rejects.toThrow('the command failed');
      expect(await claimed(t.store, 'slack:1')).toBe(true);
    });

    if (dialect.name === 'postgres')
      it('replicas claiming one key at once, each in a transaction of its own: exactly one wins', async () => {
        const [a, b] = [await t.replica!(), await t.replica!()];
        try {
          for (const key of ['slack:1', 'slack:2', 'slack:3']) {
            const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claimed((i % 2 ? a : b).store, key)));
            expect(claims.filter(Boolean)).toHaveLength(1);
          }
        } finally {
          await a.close();
          await b.close();
        }
      });
  });
}

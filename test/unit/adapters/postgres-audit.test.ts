// The audit log on PostgreSQL: one chain however many replicas append at once, appends that roll
// back with their transaction, triggers that refuse changes, and tampering found by verify. (The
// chain check itself is shared with SQLite: test/unit/adapters/db/audit-store.test.ts covers its cases.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openPostgres, type PgHandle } from '../../../src/adapters/postgres/database.js';
import { createPgAuditStore, type PgAuditStore } from '../../../src/adapters/postgres/audit-store.js';
import { GENESIS_HASH, rowHash, type AuditRow } from '../../../src/adapters/audit-chain.js';
import { createManualClock } from '../../../src/ports/clock.js';
import type { AuditEntry } from '../../../src/ports/store.js';
import { createDatabase, postgresServer } from '../../support/postgres.js';
import { TEMPLATE_DATABASE } from '../../support/postgres-server.js';

const server = postgresServer();

const entry = (n: number): AuditEntry => ({
  actor: `user${n}`,
  platform: 'slack',
  action: 'incident.status_update',
  incidentId: n % 3 === 0 ? null : 1,
  before: { status: 'investigating' },
  // Text the server's hash (firelane_audit_append) must encode exactly as rowHash does: quotes, a
  // backslash, a line break, U+2028, an emoji (a surrogate pair in JavaScript) and non-ASCII letters.
  after: { status: 'identified', text: `note ${n}, with "quotes" \\ a\nb \u2028 🔥 and ünïcode` },
});

describe.skipIf(!server)('the audit log on PostgreSQL', () => {
  const clock = createManualClock(Date.parse('2026-11-21T13:05:00.123Z'));
  let database: { url: string; drop(): Promise<void> };
  let handle: PgHandle;
  let audit: PgAuditStore;

  async function fresh(): Promise<void> {
    await handle?.close();
    await database?.drop();
    database = await createDatabase(server!, TEMPLATE_DATABASE);
    handle = await openPostgres(database.url, { migrate: false });
    audit = createPgAuditStore(handle, clock);
  }
  const rows = async (store = audit) => {
    const out: AuditRow[] = [];
    for await (const row of store.rows()) out.push(row);
    return out;
  };
  /** As the database owner with the triggers off: what someone with the database's password could do. */
  async function asOwner(...statements: string[]): Promise<void> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('SET session_replication_role = replica');
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
  }

  beforeAll(fresh);
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('an empty log verifies with the genesis hash as head', async () => {
    await fresh();
    expect(await audit.verify()).toEqual({ ok: true, rows: 0, head: GENESIS_HASH });
  });

  it('appends in order, each row chained to the one before; rows and hashes read back exactly', async () => {
    await fresh();
    for (let n = 1; n <= 3; n++) {
      await audit.append(entry(n));
      clock.advance(1000);
    }
    const all = await rows();
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(all[0]!.prevHash).toBe(GENESIS_HASH);
    for (const [i, row] of all.entries()) {
      expect(rowHash(row)).toBe(row.hash);
      if (i > 0) expect(row.prevHash).toBe(all[i - 1]!.hash);
    }
    expect(all[2]!.after).toBe(JSON.stringify(entry(3).after));
    expect(await audit.verify()).toEqual({ ok: true, rows: 3, head: all[2]!.hash });
  });

  it('an append inside a transaction that rolls back leaves no row, and observers never hear it', async () => {
    await fresh();
    const heard: string[] = [];
    const observed = createPgAuditStore(handle, clock, (e) => heard.push(e.actor));
    await observed.append(entry(1));
    await expect(
      handle.transaction(async () => {
        await observed.append(entry(2));
        throw new Error('the write after it failed');
      }),
    ).rejects.toThrow('the write after it failed');
    await observed.append(entry(3));
    await new Promise((resolve) => setImmediate(resolve));
    expect((await rows()).map((r) => r.actor)).toEqual(['user1', 'user3']);
    expect(heard).toEqual(['user1', 'user3']); // the rolled-back one was never heard
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it("a transaction's appends are written at its end: a slow writer does not hold other writers back", async () => {
    await fresh();
    const other = await openPostgres(database.url, { migrate: false });
    let release!: () => void;
    try {
      const replica = createPgAuditStore(other, clock);
      const held = new Promise<void>((resolve) => (release = resolve));
      // A writer that appends first, then goes on working (a slow statement, a call) before it commits.
      const slow = handle.transaction(async () => {
        await audit.append(entry(1));
        await held;
        await audit.append(entry(2));
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      await replica.append(entry(3)); // another replica's append commits at once
      const waited = Date.now() - started;
      release();
      await slow;
      expect(waited).toBeLessThan(1_000);
      expect((await rows()).map((r) => r.actor)).toEqual(['user3', 'user1', 'user2']);
      expect(await audit.verify()).toMatchObject({ ok: true, rows: 3 });
    } finally {
      release?.();
      await other.close();
    }
  });

  it('appends under a savepoint that rolls back are dropped with it; the rest of the transaction is kept', async () => {
    await fresh();
    const heard: string[] = [];
    const observed = createPgAuditStore(handle, clock, (e) => heard.push(e.actor));
    await handle.transaction(async () => {
      await observed.append(entry(1));
      await expect(
        handle.savepoint(async () => {
          await observed.append(entry(2));
          throw new Error('unique violation');
        }),
      ).rejects.toThrow('unique violation');
      await observed.append(entry(3));
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect((await rows()).map((r) => r.actor)).toEqual(['user1', 'user3']);
    expect(heard).toEqual(['user1', 'user3']);
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 2 });
  });

  it('a transaction of 2,500 appends is written in order and verifies (more rows than one INSERT takes)', async () => {
    await fresh();
    await handle.transaction(async () => {
      for (let n = 1; n <= 2_500; n++) await audit.append(entry(n));
    });
    const all = await rows();
    expect(all.map((r) => r.actor)).toEqual(Array.from({ length: 2_500 }, (_, i) => `user${i + 1}`));
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 2_500 });
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    await fresh();
    await audit.append(entry(1));
    for (const statement of ["UPDATE audit_log SET actor = 'mallory'", 'DELETE FROM audit_log', 'TRUNCATE audit_log'])
      await expect(handle.pool.query(statement)).rejects.toThrow(/audit_log is append-only/);
    expect(await audit.verify()).toMatchObject({ ok: true, rows: 1 });
  });

  it('with the triggers off, an edited row, a deleted newest row and an emptied log are each caught', async () => {
    await fresh();
    for (let n = 1; n <= 4; n++) await audit.append(entry(n));
    await asOwner("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2");
    expect(await audit.verify()).toMatchObject({ ok: false, seq: 2, problem: expect.stringMatching(/edited/) });

    await fresh();
    for (let n = 1; n <= 4; n++) await audit.append(entry(n));
    await asOwner('DELETE FROM audit_log WHERE seq = 4');
    expect(await audit.verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/newest rows deleted/) });

    // An emptied log is caught through the head (one reset to the start as well would not be: the same
    // limit as on SQLite, where only a head hash kept elsewhere reveals it).
    await fresh();
    for (let n = 1; n <= 2; n++) await audit.append(entry(n));
    await asOwner('DELETE FROM audit_log');
    expect(await audit.verify()).toMatchObject({ ok: false, problem: expect.stringMatching(/newest rows deleted/) });
  });

  it('two replicas appending 10,000 entries at once make one chain that verifies', async () => {
    await fresh();
    const other = await openPostgres(database.url, { migrate: false });
    try {
      const replicas = [audit, createPgAuditStore(other, clock)];
      const PER_REPLICA = 5_000;
      const CONCURRENCY = 8;
      const started = Date.now();
      await Promise.all(
        replicas.flatMap((store, r) =>
          Array.from({ length: CONCURRENCY }, async (_, lane) => {
            for (let n = lane; n < PER_REPLICA; n += CONCURRENCY) await store.append(entry(r * PER_REPLICA + n));
          }),
        ),
      );
      const verified = await audit.verify();
      expect(verified).toMatchObject({ ok: true, rows: 2 * PER_REPLICA });
      const actors = new Set((await rows()).map((r) => r.actor));
      expect(actors.size).toBe(2 * PER_REPLICA); // each entry exactly once
      console.log(`10,000 audit appends from 2 replicas × ${CONCURRENCY} lanes: ${Date.now() - started} ms`);
    } finally {
      await other.close();
    }
  }, 120_000);
});

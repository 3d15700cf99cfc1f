// What store tests on both databases check besides the store's answers: the audit rows a write
// left, a write failing with its audit entry, and another process or replica on the same database.
import { expect } from 'vitest';
import { openDatabase } from '../../src/adapters/db/database.js';
import { createSqliteStore } from '../../src/adapters/db/sqlite-store.js';
import type { Store } from '../../src/ports/store.js';
import type { StoreUnderTest } from './stores.js';

/** The audit log as written, oldest first, before and after parsed. */
export async function auditTrail(t: StoreUnderTest) {
  const rows = await t.query<{
    action: string;
    actor: string;
    platform: string;
    incidentId: number | null;
    before: string | null;
    after: string | null;
  }>('SELECT action, actor, platform, incident_id AS "incidentId", before, after FROM audit_log ORDER BY seq');
  return rows.map((row) => ({
    ...row,
    before: row.before === null ? null : (JSON.parse(row.before) as unknown),
    after: row.after === null ? null : (JSON.parse(row.after) as unknown),
  }));
}

/** From now on every audit insert fails, as a full disk or an I/O error would fail it. */
export async function breakTheAuditLog(t: StoreUnderTest): Promise<void> {
  if (t.sqliteHandle) {
    t.sqliteHandle.sqlite.exec(
      `CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`,
    );
    return;
  }
  await t.query(
    `CREATE FUNCTION audit_fails() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk I/O error'; END $$`,
  );
  await t.query(`CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_fails()`);
}

/** Expects `promise` to fail with `message`, in the error or its cause (drizzle wraps PostgreSQL's errors). */
export async function expectFailure(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  expect(error, `expected a failure with "${message}"`).toBeDefined();
  expect(`${error!.message}\n${error!.cause?.message ?? ''}`).toContain(message);
}

export const count = async (t: StoreUnderTest, table: string, where = 'TRUE', params: unknown[] = []) =>
  Number((await t.query<{ n: number }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, params))[0]!.n);

/**
 * Another writer on the same database: a second replica on PostgreSQL, a second connection (as the
 * CLI or another process opens) on SQLite's file.
 */
export async function otherWriter(t: StoreUnderTest): Promise<{ store: Store; close(): Promise<void> }> {
  if (t.replica) return t.replica();
  const handle = openDatabase(t.sqliteHandle!.sqlite.name);
  const store = createSqliteStore(handle, t.clock);
  return {
    store,
    async close() {
      await store.gate.idle();
      handle.close();
    },
  };
}

// Hotfixes on SQLite: one live hotfix per branch of a repo (a partial unique index), guarded
// status changes, and an audit row for every write in the same transaction (the caller's, or its own).
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { AuditRecords, HotfixPatch, HotfixRecords } from '../../ports/store.js';
import {
  branchConflict,
  LIVE,
  newHotfixRow,
  requestedEntry,
  toHotfix,
  updateEntry,
  type HotfixRow,
} from '../hotfix-records.js';
import { atomicWrites, type DbHandle } from './database.js';
import { hotfixes } from './schema.js';

const isUniqueViolation = (error: unknown) => (error as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE';

// The condition of the partial index hotfixes_live_branch_idx, written as a literal: with the status bound
// as a parameter SQLite plans the statement again on every run (a partial index might apply), which
// made reading a card's hotfixes ten times slower (35 µs instead of 4).
const NOT_FAILED = sql`${hotfixes.status} <> 'failed'`;

export function createHotfixStore({ db, sqlite }: DbHandle, audit: AuditRecords, clock: Clock): HotfixRecords {
  const get = (id: number) => {
    const row = db.select().from(hotfixes).where(eq(hotfixes.id, id)).get();
    return row && toHotfix(row);
  };
  // Every incident card shows the incident's hotfixes: read on each card update, so prepared once.
  const ofIncidentQuery = db
    .select()
    .from(hotfixes)
    .where(and(eq(hotfixes.incidentId, sql.placeholder('incidentId')), NOT_FAILED))
    .orderBy(asc(hotfixes.id))
    .prepare();
  const byBranch = (repo: string, branch: string) => {
    const row = db
      .select()
      .from(hotfixes)
      .where(and(eq(hotfixes.repo, repo), eq(hotfixes.branch, branch), NOT_FAILED))
      .get();
    return row && toHotfix(row);
  };

  const store: HotfixRecords = {
    create(input, via) {
      let row: HotfixRow;
      try {
        row = db.insert(hotfixes).values(newHotfixRow(input)).returning().get();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw branchConflict(input, byBranch(input.repo, input.branch));
      }
      const created = toHotfix(row);
      audit.append(requestedEntry(created, via));
      return created;
    },
    get,
    byBranch,
    live(incidentId) {
      return db
        .select()
        .from(hotfixes)
        .where(
          and(
            inArray(hotfixes.status, LIVE),
            ...(incidentId === undefined ? [] : [eq(hotfixes.incidentId, incidentId)]),
          ),
        )
        .orderBy(desc(hotfixes.id))
        .all()
        .map(toHotfix);
    },
    ofIncident(incidentId) {
      return ofIncidentQuery.all({ incidentId }).map(toHotfix);
    },
    update(id, from, patch: HotfixPatch, by) {
      const before = get(id);
      if (!before || !from.includes(before.status)) return undefined;
      const row = db
        .update(hotfixes)
        .set({ ...patch, updatedAt: clock.now() })
        .where(and(eq(hotfixes.id, id), inArray(hotfixes.status, [...from])))
        .returning()
        .get();
      if (!row) return undefined;
      const after = toHotfix(row);
      audit.append(updateEntry(before, after, patch, by));
      return after;
    },
  };
  return atomicWrites(sqlite, store, ['create', 'update']);
}

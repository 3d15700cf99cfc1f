// Hotfixes on PostgreSQL: one live hotfix per branch of a repo (the partial unique index
// hotfixes_live_branch_idx), guarded status changes, and an audit row for every write in the same
// transaction; the same answers as on SQLite (adapters/db/hotfix-store.ts), for any number of replicas.
// A second live hotfix on a branch is found before the insert, or (two replicas at the same moment) is an
// INSERT ... ON CONFLICT DO NOTHING that inserts nothing, so the caller's transaction stays usable; an
// update locks the row first, so its audit's "before" is exact.
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Clock } from '../../ports/clock.js';
import type { AuditLog, HotfixStore } from '../../ports/store.js';
import {
  branchConflict,
  LIVE,
  newHotfixRow,
  requestedEntry,
  toHotfix,
  updateEntry,
  type HotfixRow,
} from '../hotfix-records.js';
import type { PgHandle } from './database.js';
import { hotfixes } from './schema.js';

export function createPgHotfixStore(handle: PgHandle, audit: AuditLog, clock: Clock): HotfixStore {
  const select = () => handle.executor().select().from(hotfixes);
  const first = (rows: HotfixRow[]) => rows[0] && toHotfix(rows[0]);
  // The condition of hotfixes_live_branch_idx, as the index states it: ON CONFLICT finds that partial
  // index by its columns and this condition.
  const notFailed = sql`${hotfixes.status} <> 'failed'`;

  const store: HotfixStore = {
    create: (input, via) =>
      handle.transaction(async () => {
        // Looked up first so that the usual conflict (the same command again) spends no id of the
        // sequence; between two replicas at the same moment, ON CONFLICT decides.
        const live = await store.byBranch(input.repo, input.branch);
        if (live) throw branchConflict(input, live);
        const [row] = await handle
          .executor()
          .insert(hotfixes)
          .values(newHotfixRow(input))
          .onConflictDoNothing({ target: [hotfixes.repo, hotfixes.branch], where: notFailed })
          .returning();
        if (!row) throw branchConflict(input, await store.byBranch(input.repo, input.branch));
        const created = toHotfix(row);
        await audit.append(requestedEntry(created, via));
        return created;
      }),
    get: async (id) => first(await select().where(eq(hotfixes.id, id))),
    byBranch: async (repo, branch) =>
      first(await select().where(and(eq(hotfixes.repo, repo), eq(hotfixes.branch, branch), notFailed))),
    live: async (incidentId) =>
      (
        await select()
          .where(
            and(
              inArray(hotfixes.status, LIVE),
              ...(incidentId === undefined ? [] : [eq(hotfixes.incidentId, incidentId)]),
            ),
          )
          .orderBy(desc(hotfixes.id))
      ).map(toHotfix),
    ofIncident: async (incidentId) =>
      (
        await select()
          .where(and(eq(hotfixes.incidentId, incidentId), notFailed))
          .orderBy(asc(hotfixes.id))
      ).map(toHotfix),
    update: (id, from, patch, by) =>
      handle.transaction(async () => {
        const before = first(await select().where(eq(hotfixes.id, id)).for('update'));
        if (!before || !from.includes(before.status)) return undefined;
        const after = first(
          await handle
            .executor()
            .update(hotfixes)
            .set({ ...patch, updatedAt: clock.now() })
            .where(and(eq(hotfixes.id, id), inArray(hotfixes.status, [...from])))
            .returning(),
        );
        if (!after) return undefined;
        await audit.append(updateEntry(before, after, patch, by));
        return after;
      }),
  };
  return store;
}

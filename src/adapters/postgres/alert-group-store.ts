// Alert groups (ports/store.ts) on PostgreSQL: the same statements as on SQLite (adapters/db/alert-group-store.ts).
import { and, asc, desc, eq, gte, isNotNull } from 'drizzle-orm';
import type { AlertGroupStore } from '../../ports/store.js';
import { groupHash, toAlertGroup } from '../alert-group-records.js';
import type { PgHandle } from './database.js';
import { alertGroups } from './schema.js';

export function createPgAlertGroupStore(handle: PgHandle): AlertGroupStore {
  const db = () => handle.executor();
  const store: AlertGroupStore = {
    async get(ref) {
      const rows = await db()
        .select()
        .from(alertGroups)
        .where(eq(alertGroups.groupHash, groupHash(ref)));
      return rows[0] && toAlertGroup(rows[0]);
    },
    async byId(id) {
      const rows = await db().select().from(alertGroups).where(eq(alertGroups.id, id));
      return rows[0] && toAlertGroup(rows[0]);
    },
    async create(group) {
      const rows = await db()
        .insert(alertGroups)
        .values({ ...group, groupHash: groupHash(group) })
        .returning();
      return toAlertGroup(rows[0]!);
    },
    async update(id, patch) {
      if (Object.keys(patch).length === 0) return store.byId(id);
      const rows = await db().update(alertGroups).set(patch).where(eq(alertGroups.id, id)).returning();
      return rows[0] && toAlertGroup(rows[0]);
    },
    async ofIncident(incidentId) {
      const rows = await db()
        .select()
        .from(alertGroups)
        .where(eq(alertGroups.incidentId, incidentId))
        .orderBy(asc(alertGroups.id));
      return rows.map(toAlertGroup);
    },
    async tiedForService(service, since, limit) {
      const rows = await db()
        .select()
        .from(alertGroups)
        .where(
          and(
            eq(alertGroups.service, service),
            gte(alertGroups.lastDeliveryAt, since),
            isNotNull(alertGroups.incidentId),
          ),
        )
        .orderBy(desc(alertGroups.lastDeliveryAt), desc(alertGroups.id))
        .limit(limit);
      return rows.map(toAlertGroup);
    },
  };
  return store;
}

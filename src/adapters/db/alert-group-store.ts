// Alert groups (ports/store.ts AlertGroupRecords) on SQLite.
import { and, asc, desc, eq, gte, isNotNull } from 'drizzle-orm';
import type { AlertGroupRecords } from '../../ports/store.js';
import { groupHash, toAlertGroup } from '../alert-group-records.js';
import type { DbHandle } from './database.js';
import { alertGroups } from './schema.js';

export function createAlertGroupStore({ db }: DbHandle): AlertGroupRecords {
  const one = (row: typeof alertGroups.$inferSelect | undefined) => row && toAlertGroup(row);
  const byId = (id: number) => one(db.select().from(alertGroups).where(eq(alertGroups.id, id)).get());
  return {
    get(ref) {
      return one(
        db
          .select()
          .from(alertGroups)
          .where(eq(alertGroups.groupHash, groupHash(ref)))
          .get(),
      );
    },
    byId,
    create(group) {
      return toAlertGroup(
        db
          .insert(alertGroups)
          .values({ ...group, groupHash: groupHash(group) })
          .returning()
          .get(),
      );
    },
    update(id, patch) {
      if (Object.keys(patch).length === 0) return byId(id);
      return one(db.update(alertGroups).set(patch).where(eq(alertGroups.id, id)).returning().get());
    },
    ofIncident(incidentId) {
      return db
        .select()
        .from(alertGroups)
        .where(eq(alertGroups.incidentId, incidentId))
        .orderBy(asc(alertGroups.id))
        .all()
        .map(toAlertGroup);
    },
    tiedForService(service, since, limit) {
      return db
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
        .limit(limit)
        .all()
        .map(toAlertGroup);
    },
  };
}

// The Store port on SQLite through drizzle.
import { and, asc, count, desc, eq, inArray, sql } from 'drizzle-orm';
import { OPEN_STATUSES, type Incident } from '../../domain/incident.js';
import type { Clock } from '../../ports/clock.js';
import type { IncidentStore, NewTimelineEvent, Receipts, Store, TimelineEvent } from '../../ports/store.js';
import type { DbHandle } from './database.js';
import { incidents, receipts, timelineEvents } from './schema.js';
import { createJobStore, type JobStore } from './job-store.js';

type IncidentRow = typeof incidents.$inferSelect;

const eventColumns = {
  id: timelineEvents.id,
  incidentId: timelineEvents.incidentId,
  at: timelineEvents.at,
  actor: timelineEvents.actor,
  platform: timelineEvents.platform,
  kind: timelineEvents.kind,
  text: timelineEvents.text,
  data: timelineEvents.data,
};

const toIncident = (row: IncidentRow): Incident => ({
  id: row.id,
  title: row.title,
  description: row.description,
  severity: row.severity as Incident['severity'],
  status: row.status as Incident['status'],
  platform: row.platform,
  declaredBy: row.declaredBy,
  commander: row.commander,
  commsLead: row.commsLead,
  declaredAt: row.declaredAt,
  lastUpdateAt: row.lastUpdateAt,
  resolvedAt: row.resolvedAt,
  roomId: row.roomId,
  roomName: row.roomName,
  cardRef: row.cardRef,
});

// Queries on the acknowledgement path are prepared once: drizzle would otherwise build the SQL and
// better-sqlite3 prepare it again on every request (measured: ~15% of a busy process's CPU).
function createIncidentStore({ db }: DbHandle): IncidentStore {
  const byId = db.select().from(incidents).where(eq(incidents.id, sql.placeholder('id'))).prepare();
  const byRoomQuery = db
    .select()
    .from(incidents)
    .where(and(eq(incidents.platform, sql.placeholder('platform')), eq(incidents.roomId, sql.placeholder('roomId'))))
    .prepare();
  const openQuery = db
    .select()
    .from(incidents)
    .where(inArray(incidents.status, [...OPEN_STATUSES]))
    .orderBy(desc(incidents.id))
    .limit(sql.placeholder('limit'))
    .prepare();
  const openCounts = db
    .select({ severity: incidents.severity, n: count() })
    .from(incidents)
    .where(inArray(incidents.status, [...OPEN_STATUSES]))
    .groupBy(incidents.severity)
    .prepare();
  const get = (id: number) => {
    const row = byId.get({ id });
    return row && toIncident(row);
  };
  return {
    create(input) {
      const row = db
        .insert(incidents)
        .values({ ...input, status: 'investigating', lastUpdateAt: input.declaredAt })
        .returning()
        .get();
      return toIncident(row);
    },
    get,
    byRoom(platform, roomId) {
      const row = byRoomQuery.get({ platform, roomId });
      return row && toIncident(row);
    },
    listOpen(limit) {
      return openQuery.all({ limit }).map(toIncident);
    },
    countOpenBySeverity() {
      return Object.fromEntries(openCounts.all().map((c) => [c.severity, c.n]));
    },
    list(filter = {}) {
      const query = db.select().from(incidents);
      const filtered = filter.statuses ? query.where(inArray(incidents.status, filter.statuses)) : query;
      return filtered
        .orderBy(desc(incidents.id))
        .limit(filter.limit ?? 100)
        .all()
        .map(toIncident);
    },
    update(id, patch) {
      const row = db.update(incidents).set(patch).where(eq(incidents.id, id)).returning().get();
      if (!row) throw new Error(`incident ${id} does not exist`);
      return toIncident(row);
    },
    addEvent(event: NewTimelineEvent): TimelineEvent {
      const { dedupeKey: _, ...row } = db
        .insert(timelineEvents)
        .values({ ...event, data: event.data ?? null })
        .returning()
        .get();
      return row;
    },
    addEventOnce(event) {
      const inserted = db
        .insert(timelineEvents)
        .values({ ...event, data: event.data ?? null })
        .onConflictDoNothing({ target: timelineEvents.dedupeKey })
        .returning()
        .get();
      if (!inserted) return undefined;
      const { dedupeKey: _, ...row } = inserted;
      return row;
    },
    event(id) {
      return db.select(eventColumns).from(timelineEvents).where(eq(timelineEvents.id, id)).get();
    },
    timeline(incidentId) {
      return db
        .select(eventColumns)
        .from(timelineEvents)
        .where(eq(timelineEvents.incidentId, incidentId))
        .orderBy(asc(timelineEvents.at), asc(timelineEvents.id))
        .all();
    },
  };
}

function createReceipts({ db }: DbHandle, clock: Clock): Receipts {
  const insert = db
    .insert(receipts)
    .values({ key: sql.placeholder('key'), createdAt: sql.placeholder('at') })
    .onConflictDoNothing()
    .prepare();
  const select = db.select({ reply: receipts.reply }).from(receipts).where(eq(receipts.key, sql.placeholder('key'))).prepare();
  return {
    claim(key) {
      return insert.run({ key, at: clock.now() }).changes === 1;
    },
    reply(key) {
      return select.get({ key })?.reply;
    },
    saveReply(key, reply) {
      db.update(receipts).set({ reply }).where(eq(receipts.key, key)).run();
    },
  };
}

export type SqliteStore = Store & { jobs: JobStore };

export function createSqliteStore(handle: DbHandle, clock: Clock, onEnqueue?: () => void): SqliteStore {
  return {
    incidents: createIncidentStore(handle),
    jobs: createJobStore(handle, clock, onEnqueue),
    receipts: createReceipts(handle, clock),
    transaction: (fn) => handle.sqlite.transaction(fn).immediate(),
  };
}

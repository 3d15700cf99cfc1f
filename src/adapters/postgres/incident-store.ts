// The IncidentRecords port on PostgreSQL: incidents, their timelines and action items, each write
// committed with its audit entry. Any number of replicas share the tables, so the only copy kept in
// the process is the open-incident list, dropped at every change any replica makes (open-incidents.ts),
// and every write that depends on what it read holds the row: an update reads the incident FOR UPDATE,
// the reminder tick's rows are locked (SKIP LOCKED, so two replicas' ticks take different incidents),
// and timeline dedupe rides on the unique index.
import { and, asc, count, desc, eq, getTableColumns, gte, inArray, lte, sql, type SQL } from 'drizzle-orm';
import { OPEN_STATUSES, type Incident } from '../../domain/incident.js';
import type { Clock } from '../../ports/clock.js';
import type { AuditLog, IncidentPatch, IncidentStore, NewTimelineEvent, TimelineEvent } from '../../ports/store.js';
import {
  actionItemsEntry,
  declaredEntry,
  eventEntry,
  eventParams,
  patchIncident,
  toIncident,
} from '../store-records.js';
import type { PgExecutor, PgHandle, QueuedWrite } from './database.js';
import type { PgNotifications } from './notifications.js';
import { createPgOpenIncidents } from './open-incidents.js';
import { actionItems, incidents, timelineEvents } from './schema.js';

const { dedupeKey: _, ...eventColumns } = getTableColumns(timelineEvents);
type IncidentRow = typeof incidents.$inferSelect;
const { incidentId: _incident, ...actionItemColumns } = getTableColumns(actionItems);

const isOpen = inArray(incidents.status, [...OPEN_STATUSES]);
/** Incidents per UPDATE of updateMany (PostgreSQL takes at most 65,535 parameters per statement). */
const ROWS_PER_STATEMENT = 1000;

/**
 * The event as added: the row's id with the values written. `data` as the caller gave it (through
 * JSON, as stored): jsonb keeps no key order, and the audit entry then reads as it does on SQLite.
 */
const asAdded = (id: number, event: NewTimelineEvent): TimelineEvent => {
  const { dedupeKey: _, data, ...values } = eventParams(event);
  return { id, ...values, data: data && (JSON.parse(JSON.stringify(data)) as Record<string, unknown>) };
};

// The clock is the port's signature (the SQLite store takes none either: every time comes from the caller).
// Without `notifications` (a LISTEN connection), the open incidents are read from the database each time.
export function createPgIncidentStore(
  handle: PgHandle,
  audit: AuditLog,
  _clock: Clock,
  notifications?: Pick<PgNotifications, 'listening' | 'onIncidents'>,
): IncidentStore {
  const q = () => handle.executor();
  const incidentWrite: QueuedWrite<IncidentRow> = { statement: (rows) => handle.db.insert(incidents).values(rows) };
  const eventWrite: QueuedWrite<ReturnType<typeof eventParams> & { id: number }> = {
    statement: (rows) => handle.db.insert(timelineEvents).values(rows),
  };
  /** Inside `handle.transaction` the executor is the open transaction, not the pool's db. */
  const inTransaction = () => q() !== handle.db;
  const open = createPgOpenIncidents(
    notifications,
    async (limit) =>
      (await q().select().from(incidents).where(isOpen).orderBy(desc(incidents.id)).limit(limit)).map(toIncident),
    inTransaction,
  );
  /** This replica's next read sees its write at once, not when its own notification comes back. */
  const changedOnCommit = () => handle.afterCommit(open.changed);
  const incidentsWhere = async (where: SQL | undefined, lock = false) => {
    const query = q().select().from(incidents).where(where);
    return (await (lock ? query.for('update') : query)).map(toIncident);
  };
  const selectById = (on: PgExecutor) =>
    on
      .select()
      .from(incidents)
      .where(eq(incidents.id, sql.placeholder('id')));
  const byId = handle.prepared('incident_by_id', selectById);
  const byIdHeld = handle.prepared('incident_by_id_for_update', (on) => selectById(on).for('update'));
  const get = async (id: number, lock = false) => {
    const [row] = await (lock ? byIdHeld : byId)().execute({ id });
    return row && toIncident(row);
  };

  const insertEvent = async (event: NewTimelineEvent, once: boolean) => {
    const insert = q().insert(timelineEvents).values(eventParams(event));
    const [row] = await (once ? insert.onConflictDoNothing({ target: timelineEvents.dedupeKey }) : insert).returning({
      id: timelineEvents.id,
    });
    if (!row) return undefined;
    const added = asAdded(row.id, event);
    await audit.append(eventEntry(added));
    return added;
  };

  return {
    // The numbers are drawn first (a sequence is outside transactions), so the rows and their audit
    // entries are queued writes: a declaration is one statement with the request's key and the rest.
    create: (input, via = input.platform, opening) =>
      handle.transaction(async () => {
        const { title, description, severity, platform, declaredBy, declaredAt, nextReminderAt } = input;
        const [ids] = await handle.outside<{ incident: number; event: number | null }>(
          sql`SELECT nextval('incidents_id_seq')::integer AS incident, ${opening ? sql`nextval('timeline_events_id_seq')::integer` : sql`NULL`} AS event`,
        );
        const row: IncidentRow = {
          id: ids!.incident,
          title,
          description,
          severity,
          status: 'investigating',
          platform,
          declaredBy,
          commander: null,
          commsLead: null,
          declaredAt,
          lastUpdateAt: declaredAt,
          resolvedAt: null,
          rootCause: null,
          nextReminderAt,
          missedReminders: 0,
          snoozedUntil: null,
          roomId: null,
          roomName: null,
          cardRef: null,
          playbookRef: null,
        };
        await handle.queueWrite(incidentWrite, row);
        const created = toIncident(row);
        changedOnCommit();
        await audit.append(declaredEntry(created, via));
        if (opening) {
          const event = { ...opening, incidentId: created.id };
          await handle.queueWrite(eventWrite, { ...eventParams(event), id: ids!.event! });
          await audit.append(eventEntry(asAdded(ids!.event!, event)));
        }
        return created;
      }),
    // Inside a transaction the row is read FOR UPDATE and held until it ends (on SQLite the
    // transaction holds the whole database): a command that checks the incident and then writes
    // (a second "Take command" click on another replica) waits here and sees the first one's write.
    get: (id) => get(id, inTransaction()),
    byRoom: async (platform, roomId) =>
      (await incidentsWhere(and(eq(incidents.platform, platform), eq(incidents.roomId, roomId))))[0],
    async list(filter = {}) {
      const rows = await q()
        .select()
        .from(incidents)
        .where(filter.statuses && inArray(incidents.status, filter.statuses))
        .orderBy(desc(incidents.id))
        .limit(filter.limit ?? 100);
      return rows.map(toIncident);
    },
    // Frozen like SQLite's shared list, so code that would change it fails on both.
    listOpen: (limit) => open.list(limit),
    async recentlyResolved(since, limit) {
      const rows = await q()
        .select()
        .from(incidents)
        .where(and(eq(incidents.status, 'resolved'), gte(incidents.resolvedAt, since)))
        .orderBy(desc(incidents.resolvedAt), desc(incidents.id))
        .limit(limit);
      return rows.map(toIncident);
    },
    // Inside a transaction (the reminder tick) the rows stay locked until it ends, and rows another
    // transaction holds are passed over: two replicas ticking at once never take the same incident,
    // and one that committed first has moved the reminder past `now` for the other.
    async dueReminders(now, limit) {
      const query = q()
        .select()
        .from(incidents)
        .where(lte(incidents.nextReminderAt, now))
        .orderBy(asc(incidents.nextReminderAt), asc(incidents.id))
        .limit(limit);
      const rows = await (inTransaction() ? query.for('update', { skipLocked: true }) : query);
      return rows.map(toIncident);
    },
    async countOpenBySeverity() {
      const counts = await q()
        .select({ severity: incidents.severity, n: count() })
        .from(incidents)
        .where(isOpen)
        .groupBy(incidents.severity);
      return Object.fromEntries(counts.map((c) => [c.severity, c.n]));
    },
    // Without `current`, the incident is read FOR UPDATE: a replica changing it meanwhile waits, so
    // the audit's before is the row this update replaced. `current` comes from rows the caller
    // locked in its transaction (the reminder tick's dueReminders).
    update: (id, patch, by, current) =>
      handle.transaction(async (): Promise<Incident> => {
        const before = current ?? (await get(id, true));
        if (!before) throw new Error(`incident ${id} does not exist`);
        const { set, after, entry } = patchIncident(id, before, patch, by);
        if (Object.keys(set).length > 0) {
          await q().update(incidents).set(set).where(eq(incidents.id, id));
          changedOnCommit();
        }
        if (entry) await audit.append(entry);
        return after;
      }),
    // The incidents are the ones the caller locked (the reminder tick's): no read, and one
    // UPDATE ... FROM (VALUES ...) per set of columns instead of a round trip per incident.
    updateMany: (changes) =>
      handle.transaction(async () => {
        const patched = changes.map(({ id, patch, by, current }) => ({ id, ...patchIncident(id, current, patch, by) }));
        const groups = new Map<string, typeof patched>();
        for (const change of patched) {
          const columns = Object.keys(change.set).sort().join(',');
          if (!columns) continue;
          const group = groups.get(columns);
          if (group) group.push(change);
          else groups.set(columns, [change]);
        }
        for (const [names, group] of groups) {
          const keys = names.split(',') as Array<keyof IncidentPatch>;
          const columns = keys.map((key) => incidents[key]);
          const list = (parts: Parameters<typeof sql.join>[0]) => sql.join(parts, sql`, `);
          for (let from = 0; from < group.length; from += ROWS_PER_STATEMENT) {
            const rows = group
              .slice(from, from + ROWS_PER_STATEMENT)
              .map(
                (change) =>
                  sql`(${change.id}::integer, ${list(
                    keys.map((key, i) => sql`${change.set[key]}::${sql.raw(columns[i]!.getSQLType())}`),
                  )})`,
              );
            await q().execute(sql`
              UPDATE incidents SET ${list(columns.map((c) => sql`${sql.identifier(c.name)} = v.${sql.identifier(c.name)}`))}
              FROM (VALUES ${list(rows)}) AS v (id, ${list(columns.map((c) => sql.identifier(c.name)))})
              WHERE incidents.id = v.id`);
          }
          changedOnCommit();
        }
        for (const { entry } of patched) if (entry) await audit.append(entry);
        return patched.map((change) => change.after);
      }),
    addEvent: (event) => handle.transaction(async () => (await insertEvent(event, false))!),
    // A replica adding the same key meanwhile: ON CONFLICT waits for its transaction, then adds
    // nothing when it committed (and the event when it rolled back).
    addEventOnce: (event) => handle.transaction(() => insertEvent(event, true)),
    addActionItems: async (incidentId, texts, by, at) => {
      if (texts.length === 0) return;
      await handle.transaction(async () => {
        await q()
          .insert(actionItems)
          .values(texts.map((text) => ({ incidentId, text, createdBy: by.actor, createdAt: at })));
        await audit.append(actionItemsEntry(incidentId, texts, by));
      });
    },
    actionItems: (incidentId) =>
      q()
        .select(actionItemColumns)
        .from(actionItems)
        .where(eq(actionItems.incidentId, incidentId))
        .orderBy(asc(actionItems.id)),
    event: async (id) => (await q().select(eventColumns).from(timelineEvents).where(eq(timelineEvents.id, id)))[0],
    timeline: (incidentId) =>
      q()
        .select(eventColumns)
        .from(timelineEvents)
        .where(eq(timelineEvents.incidentId, incidentId))
        .orderBy(asc(timelineEvents.at), asc(timelineEvents.id)),
  };
}

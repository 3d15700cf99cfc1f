// The Store port on SQLite through drizzle.
import { and, asc, count, desc, eq, getTableColumns, gte, inArray, lte, sql } from 'drizzle-orm';
import { OPEN_STATUSES } from '../../domain/incident.js';
import type { Clock } from '../../ports/clock.js';
import type {
  Async,
  AuditRecords,
  IncidentRecords,
  NewTimelineEvent,
  Outbox,
  ReceiptRecords,
  Store,
  TimelineEvent,
} from '../../ports/store.js';
import {
  actionItemsEntry,
  declaredEntry,
  eventEntry,
  eventParams,
  patchIncident,
  toIncident,
} from '../store-records.js';
import { createSqliteGate, gated, type SqliteGate } from './sqlite-gate.js';
import { atomicWrites, type DbHandle } from './database.js';
import { createOpenIncidents } from './open-incidents.js';
import { actionItems, incidents, receipts, timelineEvents } from './schema.js';
import { createJobStore } from './job-store.js';
import { createAuditStore, type AuditStore, type CommittedEntry } from './audit-store.js';
import { createPlaybookStore } from './playbook-store.js';
import { createDeployStore } from './deploy-store.js';
import { createHotfixStore } from './hotfix-store.js';
import { createLeaseStore } from './lease-store.js';
import { createAlertGroupStore } from './alert-group-store.js';

const { dedupeKey: _, ...eventColumns } = getTableColumns(timelineEvents);
const { incidentId: _incident, ...actionItemColumns } = getTableColumns(actionItems);

// Queries on the acknowledgement path are prepared once: drizzle would otherwise build the SQL and
// better-sqlite3 prepare it again on every request (measured: ~15% of a busy process's CPU).
function createIncidentStore(handle: DbHandle, audit: AuditRecords): IncidentRecords {
  const { db } = handle;
  const byId = db
    .select()
    .from(incidents)
    .where(eq(incidents.id, sql.placeholder('id')))
    .prepare();
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
  // Resolved incidents have no next reminder, so the index on next_reminder_at alone finds the due ones.
  const dueQuery = db
    .select()
    .from(incidents)
    .where(lte(incidents.nextReminderAt, sql.placeholder('now')))
    .orderBy(asc(incidents.nextReminderAt))
    .limit(sql.placeholder('limit'))
    .prepare();
  // Reopening clears resolved_at, so status = 'resolved' and resolved_at agree; both predicates keep the
  // query on incidents_resolved_idx (status, resolved_at): a range scan read backwards, no sort.
  const resolvedSinceQuery = db
    .select()
    .from(incidents)
    .where(and(eq(incidents.status, 'resolved'), gte(incidents.resolvedAt, sql.placeholder('since'))))
    .orderBy(desc(incidents.resolvedAt), desc(incidents.id))
    .limit(sql.placeholder('limit'))
    .prepare();
  const openCounts = db
    .select({ severity: incidents.severity, n: count() })
    .from(incidents)
    .where(inArray(incidents.status, [...OPEN_STATUSES]))
    .groupBy(incidents.severity)
    .prepare();
  // Updates prepared once per set of patched columns (a handful exist: the reminder tick's, an
  // update's, a severity change's...): building and preparing the UPDATE each time was a third of a
  // reminder tick's time.
  type UpdateQuery = { run(params: Record<string, unknown>): { changes: number } };
  const updates = new Map<string, UpdateQuery>();
  const updateStatement = (patch: Record<string, unknown>): UpdateQuery => {
    const columns = Object.keys(patch).sort();
    const cacheKey = columns.join(',');
    let query = updates.get(cacheKey);
    if (!query) {
      const set = Object.fromEntries(columns.map((column) => [column, sql.placeholder(column)]));
      query = db
        .update(incidents)
        .set(set)
        .where(eq(incidents.id, sql.placeholder('id')))
        .prepare();
      updates.set(cacheKey, query);
    }
    return query;
  };
  const get = (id: number) => {
    const row = byId.get({ id });
    return row && toIncident(row);
  };
  const open = createOpenIncidents(handle, { open: (limit) => openQuery.all({ limit }).map(toIncident), byId: get });
  // The inserts of a declaration, prepared once (built and prepared per call they were a third of a
  // declaration's acknowledgement). Drizzle still encodes placeholder values by column (`data` as JSON).
  const p = sql.placeholder;
  const insertIncident = db
    .insert(incidents)
    .values({
      title: p('title'),
      description: p('description'),
      severity: p('severity'),
      platform: p('platform'),
      declaredBy: p('declaredBy'),
      declaredAt: p('declaredAt'),
      nextReminderAt: p('nextReminderAt'),
      status: 'investigating',
      lastUpdateAt: p('declaredAt'),
    })
    .returning()
    .prepare();
  const eventValues = {
    incidentId: p('incidentId'),
    at: p('at'),
    actor: p('actor'),
    platform: p('platform'),
    kind: p('kind'),
    text: p('text'),
    data: p('data'),
    dedupeKey: p('dedupeKey'),
  };
  const insertEvent = db.insert(timelineEvents).values(eventValues).returning().prepare();
  const insertEventOnce = db
    .insert(timelineEvents)
    .values(eventValues)
    .onConflictDoNothing({ target: timelineEvents.dedupeKey })
    .returning()
    .prepare();
  const store: IncidentRecords = {
    create(input, via = input.platform, opening) {
      const { title, description, severity, platform, declaredBy, declaredAt, nextReminderAt } = input;
      const created = toIncident(
        insertIncident.get({ title, description, severity, platform, declaredBy, declaredAt, nextReminderAt })!,
      );
      open.wrote(created.id);
      audit.append(declaredEntry(created, via));
      if (opening) store.addEvent({ ...opening, incidentId: created.id });
      return created;
    },
    get,
    byRoom(platform, roomId) {
      const row = byRoomQuery.get({ platform, roomId });
      return row && toIncident(row);
    },
    dueReminders(now, limit) {
      return dueQuery.all({ now, limit }).map(toIncident);
    },
    recentlyResolved(since, limit) {
      return resolvedSinceQuery.all({ since, limit }).map(toIncident);
    },
    listOpen: open.list,
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
    update(id, patch, by, current) {
      const before = current ?? get(id);
      if (!before) throw new Error(`incident ${id} does not exist`);
      // The row after is the row before with the patch: no RETURNING to read back (the reminder tick
      // updates a hundred incidents in one go). A patch of nothing but undefined writes nothing.
      const { set, after, entry } = patchIncident(id, before, patch, by);
      if (Object.keys(set).length > 0) updateStatement(set).run({ ...set, id });
      open.wrote(id);
      if (entry) audit.append(entry);
      return after;
    },
    updateMany(changes) {
      // One prepared UPDATE per incident: inside one transaction, SQLite has no round trip to save.
      return changes.map(({ id, patch, by, current }) => store.update(id, patch, by, current));
    },
    addEvent(event: NewTimelineEvent): TimelineEvent {
      const { dedupeKey: _, ...row } = insertEvent.get(eventParams(event))!;
      audit.append(eventEntry(row));
      return row;
    },
    addEventOnce(event) {
      const inserted = insertEventOnce.get(eventParams(event));
      if (!inserted) return undefined;
      const { dedupeKey: _, ...row } = inserted;
      audit.append(eventEntry(row));
      return row;
    },
    addActionItems(incidentId, texts, by, at) {
      if (texts.length === 0) return;
      db.insert(actionItems)
        .values(texts.map((text) => ({ incidentId, text, createdBy: by.actor, createdAt: at })))
        .run();
      audit.append(actionItemsEntry(incidentId, texts, by));
    },
    actionItems(incidentId) {
      return db
        .select(actionItemColumns)
        .from(actionItems)
        .where(eq(actionItems.incidentId, incidentId))
        .orderBy(asc(actionItems.id))
        .all();
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
  return atomicWrites(handle.sqlite, store, [
    'create',
    'update',
    'updateMany',
    'addEvent',
    'addEventOnce',
    'addActionItems',
  ]);
}

function createReceipts({ db, sqlite }: DbHandle, clock: Clock): ReceiptRecords {
  const insert = db
    .insert(receipts)
    .values({ key: sql.placeholder('key'), createdAt: sql.placeholder('at') })
    .onConflictDoNothing()
    .prepare();
  // Looked up before every command (a retried delivery gets the first reply): a plain statement,
  // without drizzle's per-call placeholder filling and row mapping (1.4% of a busy process's CPU).
  const select = sqlite.prepare<[string], string | null>('SELECT reply FROM receipts WHERE key = ?').pluck();
  const save = db
    .update(receipts)
    .set({ reply: sql.placeholder('reply') })
    .where(eq(receipts.key, sql.placeholder('key')))
    .prepare();
  return {
    claim(key) {
      return insert.run({ key, at: clock.now() }).changes === 1;
    },
    reply(key) {
      const reply = select.get(key);
      return typeof reply === 'string' ? (JSON.parse(reply) as unknown) : reply;
    },
    saveReply(key, reply) {
      save.run({ key, reply });
    },
  };
}

export type SqliteStore = Store & {
  jobs: Outbox;
  audit: Async<AuditStore>;
  /** The gate every statement of this connection goes through (the console's rooms share it). */
  gate: SqliteGate;
};

export interface StoreHooks {
  /** A job was queued (wakes the worker). */
  onEnqueue?: () => void;
  /** An audit entry committed (metrics). */
  onCommitted?: (entry: CommittedEntry) => void;
}

export function createSqliteStore(handle: DbHandle, clock: Clock, hooks: StoreHooks = {}): SqliteStore {
  const { onEnqueue, onCommitted } = hooks;
  const gate = createSqliteGate(handle.sqlite);
  const audit = createAuditStore(handle, clock, onCommitted, (fn) => gate.afterTransaction(fn));
  return {
    incidents: gated(createIncidentStore(handle, audit), gate),
    // The worker wakes once the job's transaction has committed, and outside it.
    jobs: gated(createJobStore(handle, clock, onEnqueue && (() => gate.afterTransaction(onEnqueue))), gate),
    receipts: gated(createReceipts(handle, clock), gate),
    audit: gated(audit, gate),
    playbooks: gated(createPlaybookStore(handle, audit), gate),
    deploys: gated(createDeployStore(handle, audit, clock), gate),
    hotfixes: gated(createHotfixStore(handle, audit, clock), gate),
    leases: gated(createLeaseStore(handle, clock), gate),
    alertGroups: gated(createAlertGroupStore(handle), gate),
    transaction: (fn) => gate.transaction(fn),
    gate,
  };
}

// The pure part of the incident, timeline and checklist records, the same on every database (SQLite
// in adapters/db, PostgreSQL in adapters/postgres): rows to domain objects, and the audit entry of
// each write, so both stores answer and audit alike.
import type { Incident } from '../domain/incident.js';
import type {
  AuditEntry,
  ChangeBy,
  IncidentPatch,
  NewTimelineEvent,
  PlaybookItem,
  TimelineEvent,
} from '../ports/store.js';

/** An incidents row as both schemas read it (severity and status are plain text there). */
export type IncidentRow = Omit<Incident, 'severity' | 'status'> & { severity: string; status: string };

type By = Omit<ChangeBy, 'action'>;

export const toIncident = (row: IncidentRow): Incident => ({
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
  playbookRef: row.playbookRef,
  rootCause: row.rootCause,
  nextReminderAt: row.nextReminderAt,
  missedReminders: row.missedReminders,
  snoozedUntil: row.snoozedUntil,
});

/** The timeline_events row of a new event (no data and no dedupe key: null). */
export const eventParams = (event: NewTimelineEvent) => ({
  incidentId: event.incidentId,
  at: event.at,
  actor: event.actor,
  platform: event.platform,
  kind: event.kind,
  text: event.text,
  data: event.data ?? null,
  dedupeKey: event.dedupeKey ?? null,
});

export const declaredEntry = (created: Incident, via: string): AuditEntry => ({
  actor: created.declaredBy,
  platform: via,
  action: 'incident.declared',
  incidentId: created.id,
  before: null,
  after: created,
});

export const eventEntry = (event: TimelineEvent): AuditEntry => ({
  actor: event.actor,
  platform: event.platform,
  action: `timeline.${event.kind}`,
  incidentId: event.incidentId,
  before: null,
  after: { eventId: event.id, text: event.text, ...(event.data && { data: event.data }) },
});

export const actionItemsEntry = (incidentId: number, texts: string[], by: By): AuditEntry => ({
  ...by,
  action: 'incident.action_items_added',
  incidentId,
  before: null,
  after: { actionItems: texts },
});

/**
 * An update of incident `id`: `set`, the columns to write (keys left undefined in the patch change
 * nothing); `after`, the row before with them (no need to read it back); `entry`, the audit entry
 * with the changed fields before and after, or undefined when nothing changed.
 */
export function patchIncident(
  id: number,
  before: Incident,
  patch: IncidentPatch,
  by: ChangeBy,
): { set: IncidentPatch; after: Incident; entry: AuditEntry | undefined } {
  const set = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as IncidentPatch;
  const after: Incident = { ...before, ...set };
  const changed = (Object.keys(patch) as Array<keyof Incident>).filter((key) => before[key] !== after[key]);
  const pick = (incident: Incident) => Object.fromEntries(changed.map((key) => [key, incident[key]]));
  const entry = changed.length > 0 ? { ...by, incidentId: id, before: pick(before), after: pick(after) } : undefined;
  return { set, after, entry };
}

export const checklistEntry = (incidentId: number, texts: string[], by: By): AuditEntry => ({
  ...by,
  action: 'incident.playbook_created',
  incidentId,
  before: null,
  after: { items: texts },
});

export const itemDoneEntry = (incidentId: number, before: PlaybookItem, after: PlaybookItem, by: By): AuditEntry => ({
  ...by,
  action: 'incident.playbook_item_done',
  incidentId,
  before,
  after,
});

// The PlaybookRecords port on SQLite: each incident's checklist, every change audited in the same transaction.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { AuditRecords, PlaybookItem, PlaybookRecords } from '../../ports/store.js';
import { checklistEntry, itemDoneEntry } from '../store-records.js';
import { atomicWrites, type DbHandle } from './database.js';
import { playbookItems } from './schema.js';

const itemColumns = {
  position: playbookItems.position,
  text: playbookItems.text,
  doneBy: playbookItems.doneBy,
  doneAt: playbookItems.doneAt,
};

export function createPlaybookStore({ db, sqlite }: DbHandle, audit: AuditRecords): PlaybookRecords {
  // `show`, `check` and every checklist card read these; prepared once like the incident hot paths.
  const itemsQuery = db
    .select(itemColumns)
    .from(playbookItems)
    .where(eq(playbookItems.incidentId, sql.placeholder('incidentId')))
    .orderBy(asc(playbookItems.position))
    .prepare();
  const itemQuery = db
    .select(itemColumns)
    .from(playbookItems)
    .where(
      and(
        eq(playbookItems.incidentId, sql.placeholder('incidentId')),
        eq(playbookItems.position, sql.placeholder('position')),
      ),
    )
    .prepare();
  // Only an item not yet done is marked: two ticks racing in separate transactions cannot both win.
  const markDone = db
    .update(playbookItems)
    .set({ doneBy: sql`${sql.placeholder('doneBy')}`, doneAt: sql`${sql.placeholder('doneAt')}` })
    .where(
      and(
        eq(playbookItems.incidentId, sql.placeholder('incidentId')),
        eq(playbookItems.position, sql.placeholder('position')),
        isNull(playbookItems.doneAt),
      ),
    )
    .returning(itemColumns)
    .prepare();

  const tick = (incidentId: number, position: number, by: { actor: string; platform: string }, at: number) => {
    const before = itemQuery.get({ incidentId, position });
    if (!before) return undefined;
    if (before.doneAt !== null) return { item: before, changed: false };
    const after = markDone.get({ incidentId, position, doneBy: by.actor, doneAt: at });
    if (!after) return { item: itemQuery.get({ incidentId, position })!, changed: false };
    audit.append(itemDoneEntry(incidentId, before, after, by));
    return { item: after, changed: true };
  };

  // Prepared once: every declaration creates a checklist (a multi-row insert built per call was a
  // sixth of a declaration's acknowledgement).
  const insertItem = db
    .insert(playbookItems)
    .values({
      incidentId: sql.placeholder('incidentId'),
      position: sql.placeholder('position'),
      text: sql.placeholder('text'),
    })
    .prepare();

  const store: PlaybookRecords = {
    create(incidentId, texts, by) {
      if (texts.length === 0) return;
      texts.forEach((text, i) => insertItem.run({ incidentId, position: i + 1, text }));
      audit.append(checklistEntry(incidentId, texts, by));
    },
    items(incidentId): PlaybookItem[] {
      return itemsQuery.all({ incidentId });
    },
    tick,
  };
  return atomicWrites(sqlite, store, ['create', 'tick']);
}

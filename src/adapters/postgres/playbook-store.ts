// The PlaybookRecords port on PostgreSQL: each incident's checklist, every change audited in the
// same transaction. Ticking an item is a guarded update (only while not done), so two replicas
// ticking one item at once cannot both win: the second waits for the first, then finds it done.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { AuditLog, PlaybookItem, PlaybookStore } from '../../ports/store.js';
import { checklistEntry, itemDoneEntry } from '../store-records.js';
import type { PgHandle, QueuedWrite } from './database.js';
import { playbookItems } from './schema.js';

const itemColumns = {
  position: playbookItems.position,
  text: playbookItems.text,
  doneBy: playbookItems.doneBy,
  doneAt: playbookItems.doneAt,
};

export function createPgPlaybookStore(handle: PgHandle, audit: AuditLog): PlaybookStore {
  const q = () => handle.executor();
  const itemsWrite: QueuedWrite<Array<{ incidentId: number; position: number; text: string }>> = {
    statement: (lists) => handle.db.insert(playbookItems).values(lists.flat()),
  };
  const ofIncident = (incidentId: number) => eq(playbookItems.incidentId, incidentId);
  // Read by every card and checklist post: prepared once (database.ts, PgHandle.prepared).
  const itemsOf = handle.prepared('playbook_items_of', (on) =>
    on
      .select(itemColumns)
      .from(playbookItems)
      .where(eq(playbookItems.incidentId, sql.placeholder('incidentId')))
      .orderBy(asc(playbookItems.position)),
  );
  const at = (incidentId: number, position: number) =>
    and(ofIncident(incidentId), eq(playbookItems.position, position));
  const item = async (incidentId: number, position: number): Promise<PlaybookItem | undefined> =>
    (await q().select(itemColumns).from(playbookItems).where(at(incidentId, position)))[0];

  return {
    // Queued writes (database.ts): with a declaration, part of its one statement.
    create: async (incidentId, texts, by) => {
      if (texts.length === 0) return;
      await handle.transaction(async () => {
        await handle.queueWrite(
          itemsWrite,
          texts.map((text, i) => ({ incidentId, position: i + 1, text })),
        );
        await audit.append(checklistEntry(incidentId, texts, by));
      });
    },
    items: (incidentId) => itemsOf().execute({ incidentId }),
    tick: (incidentId, position, by, doneAt) =>
      handle.transaction(async () => {
        const before = await item(incidentId, position);
        if (!before) return undefined;
        if (before.doneAt !== null) return { item: before, changed: false };
        const [after] = await q()
          .update(playbookItems)
          .set({ doneBy: by.actor, doneAt })
          .where(and(at(incidentId, position), isNull(playbookItems.doneAt)))
          .returning(itemColumns);
        // Done meanwhile by another transaction: the update waited for it and found the item done.
        if (!after) return { item: (await item(incidentId, position))!, changed: false };
        await audit.append(itemDoneEntry(incidentId, before, after, by));
        return { item: after, changed: true };
      }),
  };
}

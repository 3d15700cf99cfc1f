import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../../src/adapters/db/sqlite-store.js';
import { createManualClock } from '../../../../src/ports/clock.js';
import { OPEN_STATUSES, type IncidentStatus } from '../../../../src/domain/incident.js';

let dir: string;
let handle: DbHandle;
let store: SqliteStore;
const by = { actor: 'U0ALICE', platform: 'slack', action: 'incident.updated' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firelane-incidentstore-'));
  handle = openDatabase(join(dir, 'firelane.db'));
  store = createSqliteStore(handle, createManualClock());
});
afterEach(() => {
  handle.close();
  rmSync(dir, { recursive: true, force: true });
});

const declare = (title: string) =>
  store.incidents.create({
    title,
    description: null,
    severity: 'sev2',
    platform: 'slack',
    declaredBy: 'U0ALICE',
    declaredAt: Date.parse('2026-11-21T10:00:00Z'),
    nextReminderAt: Date.parse('2026-11-21T10:15:00Z'),
  });
const titles = () =>
  store.incidents.listOpen(50).map((incident) => `${incident.title} (${incident.commander ?? 'no IC'})`);

describe('incident store: the open list (read often, cached until an incident is written)', () => {
  it("sees this connection's writes at once: a declaration, an update, a resolution", () => {
    declare('Checkout errors');
    expect(titles()).toEqual(['Checkout errors (no IC)']);
    const second = declare('Search slow');
    expect(titles()).toEqual(['Search slow (no IC)', 'Checkout errors (no IC)']);
    store.incidents.update(second.id, { commander: 'U0BOB' }, by);
    expect(titles()).toEqual(['Search slow (U0BOB)', 'Checkout errors (no IC)']);
    store.incidents.update(second.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect(titles()).toEqual(['Checkout errors (no IC)']);
  });

  it("sees another process's commits (the CLI on the same file)", () => {
    declare('Checkout errors');
    expect(titles()).toEqual(['Checkout errors (no IC)']);
    const other = openDatabase(join(dir, 'firelane.db'));
    try {
      createSqliteStore(other, createManualClock()).incidents.update(1, { commander: 'U0BOB' }, by);
    } finally {
      other.close();
    }
    expect(titles()).toEqual(['Checkout errors (U0BOB)']);
  });

  it('keeps the list through writes to other tables (jobs, timeline, audit)', () => {
    const incident = declare('Checkout errors');
    const first = store.incidents.listOpen(50);
    store.jobs.enqueue({ kind: 'incident.open_room', key: 'open_room:1', payload: { incidentId: incident.id } });
    store.incidents.addEvent({
      incidentId: incident.id,
      at: 1,
      actor: 'U0ALICE',
      platform: 'slack',
      kind: 'note',
      text: 'looking',
    });
    expect(store.incidents.listOpen(50)).toBe(first);
    store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
    expect(store.incidents.listOpen(50)).not.toBe(first);
    expect(titles()).toEqual(['Checkout errors (U0BOB)']);
  });

  it('does not keep what a transaction saw when the transaction rolls back', () => {
    const incident = declare('Checkout errors');
    expect(titles()).toEqual(['Checkout errors (no IC)']);
    expect(() =>
      store.transaction(() => {
        store.incidents.update(incident.id, { commander: 'U0BOB' }, by);
        expect(titles()).toEqual(['Checkout errors (U0BOB)']);
        throw new Error('the rest of the command failed');
      }),
    ).toThrow('the rest of the command failed');
    expect(titles()).toEqual(['Checkout errors (no IC)']);
  });

  it("hands out rows that cannot be changed behind the cache's back", () => {
    declare('Checkout errors');
    const [incident] = store.incidents.listOpen(50);
    expect(() => {
      (incident as { title: string }).title = 'edited';
    }).toThrow(TypeError);
    expect(titles()).toEqual(['Checkout errors (no IC)']);
  });

  it('patches in what this process wrote instead of reading the whole list again', () => {
    declare('Checkout errors');
    declare('Search slow');
    const before = store.incidents.listOpen(50);
    const third = declare('Login broken');
    const after = store.incidents.listOpen(50);
    expect(after.map((i) => i.title)).toEqual(['Login broken', 'Search slow', 'Checkout errors']);
    expect(after[1]).toBe(before[0]); // the rows nobody wrote are the very objects read before
    expect(after[2]).toBe(before[1]);
    store.incidents.update(third.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect(store.incidents.listOpen(50)).toEqual(before);
  });

  it('a full window that loses an incident shows the next older one', () => {
    const [first, second, third] = [declare('A'), declare('B'), declare('C')];
    expect(store.incidents.listOpen(2).map((i) => i.id)).toEqual([third.id, second.id]);
    store.incidents.update(second.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect(store.incidents.listOpen(2).map((i) => i.id)).toEqual([third.id, first.id]);
    store.incidents.update(second.id, { status: 'identified', resolvedAt: null }, by); // reopened
    expect(store.incidents.listOpen(2).map((i) => i.id)).toEqual([third.id, second.id]);
  });

  it('a window filled up by new incidents, then losing one, is read again (it no longer holds them all)', () => {
    const a = declare('A');
    expect(store.incidents.listOpen(2).map((i) => i.id)).toEqual([a.id]); // every open incident
    const [b, c] = [declare('B'), declare('C')];
    expect(store.incidents.listOpen(2).map((i) => i.id)).toEqual([c.id, b.id]); // A is cut off now
    store.incidents.update(c.id, { status: 'resolved', resolvedAt: 1 }, by);
    expect(store.incidents.listOpen(2).map((i) => i.id)).toEqual([b.id, a.id]);
  });

  it('after more writes than it remembers, the list is read again', () => {
    const [a, b] = [declare('A'), declare('B')];
    expect(store.incidents.listOpen(5)).toHaveLength(2);
    store.incidents.update(a.id, { status: 'resolved', resolvedAt: 1 }, by);
    for (let i = 0; i < 300; i++) store.incidents.update(b.id, { missedReminders: i + 1 }, by);
    expect(store.incidents.listOpen(5).map((i) => [i.id, i.missedReminders])).toEqual([[b.id, 300]]);
  });

  it('always equals a fresh read: random declarations, updates, resolutions, reopenings, rollbacks and other processes', () => {
    const statuses: IncidentStatus[] = [...OPEN_STATUSES, 'resolved'];
    const op = fc.oneof(
      fc.constant({ kind: 'declare' as const }),
      fc.record({
        kind: fc.constant('status' as const),
        pick: fc.nat(),
        status: fc.constantFrom(...statuses),
        rollback: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('commander' as const),
        pick: fc.nat(),
        who: fc.constantFrom('U0BOB', 'U0CAROL', null),
      }),
      fc.record({ kind: fc.constant('other' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('list' as const), limit: fc.constantFrom(1, 2, 3, 5, 51) }),
    );
    let runs = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        // A database of its own per run (emptying one with raw SQL would go around the store).
        const file = join(dir, `run-${++runs}.db`);
        const own = openDatabase(file);
        try {
          const s = createSqliteStore(own, createManualClock());
          const fresh = (limit: number) => s.incidents.list({ statuses: [...OPEN_STATUSES], limit });
          const ids: number[] = [];
          for (const o of ops) {
            const id = ids.length ? ids[('pick' in o ? o.pick : 0) % ids.length]! : undefined;
            if (o.kind === 'declare') {
              ids.push(
                s.incidents.create({
                  title: `Incident ${ids.length}`,
                  description: null,
                  severity: 'sev2',
                  platform: 'slack',
                  declaredBy: 'U0ALICE',
                  declaredAt: 1,
                  nextReminderAt: 2,
                }).id,
              );
            } else if (o.kind === 'list') {
              expect(s.incidents.listOpen(o.limit)).toEqual(fresh(o.limit));
            } else if (id === undefined) {
              continue;
            } else if (o.kind === 'status') {
              const write = () =>
                s.incidents.update(id, { status: o.status, resolvedAt: o.status === 'resolved' ? 1 : null }, by);
              if (!o.rollback) write();
              else
                expect(() => s.transaction(() => (write(), s.incidents.listOpen(3), rollBack()))).toThrow(
                  'rolled back',
                );
            } else if (o.kind === 'commander') {
              s.incidents.update(id, { commander: o.who }, by);
            } else {
              const other = openDatabase(file);
              try {
                createSqliteStore(other, createManualClock()).incidents.update(
                  id,
                  { status: 'resolved', resolvedAt: 2 },
                  by,
                );
              } finally {
                other.close();
              }
            }
          }
          for (const limit of [1, 2, 3, 5, 51]) expect(s.incidents.listOpen(limit)).toEqual(fresh(limit));
        } finally {
          own.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

function rollBack(): never {
  throw new Error('rolled back');
}

describe('incident store: updates', () => {
  it('writes every patched column, null included, and leaves the others and the other rows alone', () => {
    const one = declare('Checkout errors');
    const other = declare('Search slow');
    const at = Date.parse('2026-11-21T10:30:00Z');
    store.incidents.update(
      one.id,
      { commander: 'U0BOB', status: 'identified', nextReminderAt: at, missedReminders: 2, lastUpdateAt: at },
      by,
    );
    store.incidents.update(one.id, { nextReminderAt: null, rootCause: 'a bad config' }, by);
    const fresh = handle.sqlite.prepare(
      'SELECT commander, status, next_reminder_at, missed_reminders, last_update_at, root_cause, title FROM incidents WHERE id = ?',
    );
    expect(fresh.get(one.id)).toEqual({
      commander: 'U0BOB',
      status: 'identified',
      next_reminder_at: null,
      missed_reminders: 2,
      last_update_at: at,
      root_cause: 'a bad config',
      title: 'Checkout errors',
    });
    expect(fresh.get(other.id)).toMatchObject({
      commander: null,
      status: 'investigating',
      next_reminder_at: other.nextReminderAt,
      missed_reminders: 0,
    });
    expect(store.incidents.get(one.id)).toMatchObject({ commander: 'U0BOB', nextReminderAt: null, missedReminders: 2 });
  });
});

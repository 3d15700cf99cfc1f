import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../../src/adapters/db/sqlite-store.js';
import { createManualClock } from '../../../../src/ports/clock.js';

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
  store.incidents.create({ title, description: null, severity: 'sev2', platform: 'slack', declaredBy: 'U0ALICE', declaredAt: Date.parse('2026-11-21T10:00:00Z'), nextReminderAt: Date.parse('2026-11-21T10:15:00Z') });
const titles = () => store.incidents.listOpen(50).map((incident) => `${incident.title} (${incident.commander ?? 'no IC'})`);

describe('incident store: the open list (read often, cached until an incident is written)', () => {
  it('sees this connection\'s writes at once: a declaration, an update, a resolution', () => {
    declare('Checkout errors');
    expect(titles()).toEqual(['Checkout errors (no IC)']);
    const second = declare('Search slow');
    expect(titles()).toEqual(['Search slow (no IC)', 'Checkout errors (no IC)']);
    store.incidents.update(second.id, { commander: 'U0BOB' }, by);
    expect(titles()).toEqual(['Search slow (U0BOB)', 'Checkout errors (no IC)']);
    store.incidents.update(second.id, { status: 'resolved', resolvedAt: Date.parse('2026-11-21T11:00:00Z') }, by);
    expect(titles()).toEqual(['Checkout errors (no IC)']);
  });

  it('sees another process\'s commits (the CLI on the same file)', () => {
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
    store.incidents.addEvent({ incidentId: incident.id, at: 1, actor: 'U0ALICE', platform: 'slack', kind: 'note', text: 'looking' });
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

  it('hands out rows that cannot be changed behind the cache\'s back', () => {
    declare('Checkout errors');
    const [incident] = store.incidents.listOpen(50);
    expect(() => {
      (incident as { title: string }).title = 'edited';
    }).toThrow(TypeError);
    expect(titles()).toEqual(['Checkout errors (no IC)']);
  });
});

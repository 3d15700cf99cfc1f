// Every audited store write commits with its audit entry or not at all, also when it is called
// outside any transaction (jobs update incidents, deploys and hotfixes on their own): when the
// audit insert fails, the write before it is rolled back too.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../../src/adapters/db/sqlite-store.js';
import { createManualClock } from '../../../../src/ports/clock.js';

let handle: DbHandle;
let store: SqliteStore;
const clock = createManualClock(Date.parse('2026-11-21T10:00:00Z'));
const by = (action: string) => ({ actor: 'U0ALICE', platform: 'slack', action });

beforeEach(() => {
  handle = openDatabase(':memory:');
  store = createSqliteStore(handle, clock);
});
afterEach(() => handle.close());

/** From now on every audit insert fails, as a full disk or an I/O error would fail it. */
function breakTheAuditLog(): void {
  handle.sqlite.exec(
    `CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`,
  );
}

const count = (table: string) => handle.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get();

const declare = () =>
  store.incidents.create({
    title: 'Payments down',
    description: null,
    severity: 'sev1',
    platform: 'slack',
    declaredBy: 'U0ALICE',
    declaredAt: clock.now(),
    nextReminderAt: clock.now() + 900_000,
  });

describe('audited writes are atomic on their own', () => {
  it('incidents: declaring, updating, adding timeline events and action items', async () => {
    const incident = await declare();
    breakTheAuditLog();
    await expect(declare()).rejects.toThrow('disk I/O error');
    await expect(store.incidents.update(incident.id, { commander: 'U0BOB' }, by('incident.lead'))).rejects.toThrow(
      'disk I/O error',
    );
    await expect(
      store.incidents.addEvent({
        incidentId: incident.id,
        at: clock.now(),
        actor: 'U0ALICE',
        platform: 'slack',
        kind: 'note',
        text: 'looking',
      }),
    ).rejects.toThrow('disk I/O error');
    await expect(
      store.incidents.addEventOnce({
        incidentId: incident.id,
        at: clock.now(),
        actor: 'firelane',
        platform: 'slack',
        kind: 'escalated',
        text: 'Escalated',
        dedupeKey: 'escalate:1',
      }),
    ).rejects.toThrow('disk I/O error');
    await expect(
      store.incidents.addActionItems(incident.id, ['Add a canary'], by('incident.action_items_added'), clock.now()),
    ).rejects.toThrow('disk I/O error');
    expect(count('incidents')).toBe(1);
    expect((await store.incidents.get(incident.id))!.commander).toBeNull();
    expect((await store.incidents.listOpen(5)).map((i) => i.commander)).toEqual([null]);
    expect(count('timeline_events')).toBe(0);
    expect(count('action_items')).toBe(0);
  });

  it('deploy requests: the request and its transitions', async () => {
    const newRequest = (service: string) =>
      ({
        kind: 'deploy',
        service,
        environment: 'production',
        strategy: 'rolling',
        requester: 'U0ALICE',
        platform: 'slack',
        roomId: 'C1',
        target: 'v2',
        container: 'app',
        expiresAt: clock.now() + 60_000,
        incidentId: null,
        createdAt: clock.now(),
      }) as const;
    const request = await store.deploys.create(newRequest('payments'), 'slack');
    breakTheAuditLog();
    await expect(
      store.deploys.transition(request.id, { from: ['pending'] }, { status: 'rejected' }, by('deploy.rejected')),
    ).rejects.toThrow('disk I/O error');
    expect(await store.deploys.get(request.id)).toMatchObject({ status: 'pending', changeCount: 0 });
    await expect(store.deploys.create(newRequest('search'), 'slack')).rejects.toThrow('disk I/O error');
    expect(count('deploy_requests')).toBe(1);
  });

  it('hotfixes: the branch record and its progress', async () => {
    const input = {
      service: 'payments',
      repo: 'acme/payments',
      branch: 'hotfix/inc-1-timeout',
      baseRef: 'v2.1.0',
      incidentId: null,
      requester: 'U0ALICE',
      platform: 'slack',
      roomId: 'C1',
      description: 'timeout',
      createdAt: clock.now(),
    };
    const hotfix = await store.hotfixes.create(input, 'slack');
    breakTheAuditLog();
    await expect(
      store.hotfixes.update(hotfix.id, ['creating'], { status: 'open', baseSha: 'abc123' }, by('hotfix.opened')),
    ).rejects.toThrow('disk I/O error');
    expect(await store.hotfixes.get(hotfix.id)).toMatchObject({ status: 'creating', baseSha: null });
    await expect(store.hotfixes.create({ ...input, branch: 'hotfix/inc-1-retry' }, 'slack')).rejects.toThrow(
      'disk I/O error',
    );
    expect(count('hotfixes')).toBe(1);
  });

  it('checklists: creating one and ticking an item', async () => {
    const [incident, other] = [await declare(), await declare()];
    const lead = { actor: 'U0BOB', platform: 'slack' };
    await store.playbooks.create(incident.id, ['Page the database owner'], lead);
    breakTheAuditLog();
    await expect(store.playbooks.tick(incident.id, 1, lead, clock.now())).rejects.toThrow('disk I/O error');
    expect(await store.playbooks.items(incident.id)).toEqual([expect.objectContaining({ position: 1, doneAt: null })]);
    await expect(store.playbooks.create(other.id, ['Check the replica lag'], lead)).rejects.toThrow('disk I/O error');
    expect(count('playbook_items')).toBe(1);
  });
});

// The deploy request store: guarded transitions (the exactly-once core), the per-service lock, audit rows.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../../src/adapters/db/sqlite-store.js';
import { FirelaneError } from '../../../../src/errors.js';
import { createManualClock } from '../../../../src/ports/clock.js';
import type { NewDeployRequest } from '../../../../src/ports/store.js';

let handle: DbHandle;
let store: SqliteStore;
const clock = createManualClock(Date.parse('2026-03-01T10:00:00Z'));
const by = (action: string) => ({ actor: 'U0LEAD1', platform: 'slack', action });
const plan = { fromRevision: 2, fromImage: 'img:v1', toImage: 'img:v2', toRevision: null };

function newRequest(service = 'payments', environment = 'production'): NewDeployRequest {
  return {
    kind: 'deploy',
    service,
    environment,
    strategy: 'rolling',
    requester: 'U0ALICE',
    platform: 'slack',
    roomId: 'C1',
    target: 'v2',
    container: 'app',
    expiresAt: clock.now() + 60_000,
    incidentId: null,
    createdAt: clock.now(),
  };
}

beforeEach(() => {
  handle = openDatabase(':memory:');
  store = createSqliteStore(handle, clock);
});
afterEach(() => handle.close());

describe('deploy store', () => {
  it('creates REQ rows pending with no plan, and audits the request', async () => {
    const created = await store.deploys.create(newRequest(), 'slack');
    expect(created).toMatchObject({ id: 1, status: 'pending', plan: null, approvals: [], changeCount: 0 });
    const [row] = [...(await store.audit.rows())];
    expect(row).toMatchObject({ action: 'deploy.requested', actor: 'U0ALICE', platform: 'slack' });
    expect(JSON.parse(row!.after!)).toMatchObject({ request: 'REQ-1', service: 'payments', status: 'pending' });
  });

  it('a transition applies only from the guarded status, so the second of two identical ones changes nothing', async () => {
    await store.deploys.create(newRequest(), 'slack');
    await store.deploys.transition(1, { from: ['pending'] }, { plan }, by('deploy.planned'));
    const first = await store.deploys.transition(
      1,
      { from: ['pending'] },
      { status: 'approved' },
      by('deploy.approved'),
    );
    const second = await store.deploys.transition(
      1,
      { from: ['pending'] },
      { status: 'approved' },
      by('deploy.approved'),
    );
    expect(first?.status).toBe('approved');
    expect(second).toBeUndefined();
    expect([...(await store.audit.rows())].filter((r) => r.action === 'deploy.approved')).toHaveLength(1);
  });

  it('a stale changeCount loses: two approvals read at the same time cannot both be written', async () => {
    const read = await store.deploys.create(newRequest(), 'slack');
    const a = await store.deploys.transition(
      1,
      { from: ['pending'], changeCount: read.changeCount },
      { approvals: [{ by: 'A', at: 1 }] },
      by('deploy.approval'),
    );
    const b = await store.deploys.transition(
      1,
      { from: ['pending'], changeCount: read.changeCount },
      { approvals: [{ by: 'B', at: 1 }] },
      by('deploy.approval'),
    );
    expect(a?.approvals).toEqual([{ by: 'A', at: 1 }]);
    expect(b).toBeUndefined();
    expect((await store.deploys.get(1))!.approvals).toEqual([{ by: 'A', at: 1 }]);
  });

  it('holds one running request per target (service and environment): a second becomes a conflict naming the first', async () => {
    await store.deploys.create(newRequest(), 'slack');
    await store.deploys.create(newRequest(), 'slack');
    await store.deploys.create(newRequest('search'), 'slack');
    await store.deploys.create(newRequest('payments', 'staging'), 'slack');
    await store.deploys.transition(1, { from: ['pending'] }, { status: 'approved' }, by('deploy.approved'));
    expect((await store.deploys.running('payments', 'production'))?.id).toBe(1);
    expect(await store.deploys.running('payments', 'staging')).toBeUndefined();
    let error: unknown;
    try {
      await store.transaction(() =>
        store.deploys.transition(2, { from: ['pending'] }, { status: 'approved' }, by('deploy.approved')),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FirelaneError);
    expect((error as FirelaneError).message).toMatch(/payments \(production\) is being deployed by REQ-1 right now/);
    expect((await store.deploys.get(2))!.status).toBe('pending');
    // Other services and other environments are not held up, and a finished rollout frees the lock.
    expect(
      (await store.deploys.transition(3, { from: ['pending'] }, { status: 'approved' }, by('deploy.approved')))?.status,
    ).toBe('approved');
    expect(
      (await store.deploys.transition(4, { from: ['pending'] }, { status: 'approved' }, by('deploy.approved')))?.status,
    ).toBe('approved');
    await store.deploys.transition(1, { from: ['approved'] }, { status: 'executing' }, by('deploy.started'));
    await store.deploys.transition(1, { from: ['executing'] }, { status: 'succeeded' }, by('deploy.succeeded'));
    expect(
      (await store.deploys.transition(2, { from: ['pending'] }, { status: 'approved' }, by('deploy.approved')))?.status,
    ).toBe('approved');
  });

  it('audits the changed fields before and after', async () => {
    await store.deploys.create(newRequest(), 'slack');
    await store.deploys.transition(
      1,
      { from: ['pending'] },
      { status: 'rejected', rejectedBy: 'U0LEAD1', reason: 'freeze' },
      by('deploy.rejected'),
    );
    const row = [...(await store.audit.rows())].at(-1)!;
    expect(row.action).toBe('deploy.rejected');
    expect(JSON.parse(row.before!)).toEqual({ request: 'REQ-1', status: 'pending', rejectedBy: null, reason: null });
    expect(JSON.parse(row.after!)).toEqual({
      request: 'REQ-1',
      status: 'rejected',
      rejectedBy: 'U0LEAD1',
      reason: 'freeze',
    });
    expect((await store.audit.verify()).ok).toBe(true);
  });
});

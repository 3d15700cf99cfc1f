// The Store port on PostgreSQL: the same records as on SQLite (adapters/db), for any number of
// replicas sharing one database. Every write commits with its audit entry; store.transaction(fn)
// groups calls, and what is inside it rides on AsyncLocalStorage (database.ts).
import type { Clock } from '../../ports/clock.js';
import type { Outbox, Store } from '../../ports/store.js';
import type { StoreHooks } from '../db/sqlite-store.js';
import type { PgHandle } from './database.js';
import { createPgAuditStore, type PgAuditStore } from './audit-store.js';
import { createPgIncidentStore } from './incident-store.js';
import { createPgReceipts } from './receipt-store.js';
import { createPgPlaybookStore } from './playbook-store.js';
import { createPgJobStore } from './job-store.js';
import { createPgDeployStore } from './deploy-store.js';
import { createPgHotfixStore } from './hotfix-store.js';
import { createPgLeaseStore } from './lease-store.js';
import { createPgAlertGroupStore } from './alert-group-store.js';
import type { PgNotifications } from './notifications.js';

export type PostgresStore = Store & {
  jobs: Outbox;
  audit: PgAuditStore;
  handle: PgHandle;
};

/** With `notifications` (this replica's LISTEN connection), the open incidents are kept between changes. */
export function createPostgresStore(
  handle: PgHandle,
  clock: Clock,
  hooks: StoreHooks = {},
  notifications?: PgNotifications,
): PostgresStore {
  const { onEnqueue, onCommitted } = hooks;
  const audit = createPgAuditStore(handle, clock, onCommitted);
  return {
    incidents: createPgIncidentStore(handle, audit, clock, notifications),
    // The worker wakes once the job's transaction has committed (other replicas find it when they poll).
    jobs: createPgJobStore(handle, clock, onEnqueue && (() => handle.afterCommit(onEnqueue))),
    receipts: createPgReceipts(handle, clock),
    audit,
    playbooks: createPgPlaybookStore(handle, audit),
    deploys: createPgDeployStore(handle, audit, clock),
    hotfixes: createPgHotfixStore(handle, audit, clock),
    leases: createPgLeaseStore(handle, clock),
    alertGroups: createPgAlertGroupStore(handle),
    transaction: (fn) => handle.transaction(fn),
    handle,
  };
}

// What the command core needs from storage: SQLite (adapters/db, the default) or PostgreSQL. Tests
// use SQLite on `:memory:`, which is fast and is the real thing rather than a look-alike.
import type { AnyJob, JobRow, NewJob } from './jobs.js';
import type { Hotfix, HotfixStatus } from '../domain/hotfix.js';
import type { Incident, IncidentStatus } from '../domain/incident.js';
import type { Severity } from '../domain/severity.js';
import type { DeployRequest, RequestStatus } from '../domain/deploy-request.js';
import type { AlertGroup, AlertGroupPatch, AlertGroupRef, NewAlertGroup } from '../domain/alert-group.js';

export interface NewIncident {
  /** First reminder due (see domain/reminders). */
  nextReminderAt: number;
  title: string;
  description: string | null;
  severity: Severity;
  platform: string;
  declaredBy: string;
  declaredAt: number;
}

export type IncidentPatch = Partial<
  Pick<
    Incident,
    | 'severity'
    | 'status'
    | 'commander'
    | 'commsLead'
    | 'lastUpdateAt'
    | 'resolvedAt'
    | 'roomId'
    | 'roomName'
    | 'cardRef'
    | 'playbookRef'
    | 'rootCause'
    | 'nextReminderAt'
    | 'missedReminders'
    | 'snoozedUntil'
  >
>;

export interface TimelineEvent {
  id: number;
  incidentId: number;
  at: number;
  actor: string;
  platform: string;
  kind: string;
  text: string;
  data: Record<string, unknown> | null;
}

export type NewTimelineEvent = Omit<TimelineEvent, 'id' | 'data'> & {
  data?: Record<string, unknown>;
  dedupeKey?: string;
};

/** Who changed what: every change through the store lands in the audit log with this. */
export interface ChangeBy {
  actor: string;
  platform: string;
  /** What happened, e.g. `incident.status_update`. */
  action: string;
}

/** One change of `updateMany`: the patch, who made it, and the incident as read in the caller's transaction. */
export interface IncidentChange {
  id: number;
  patch: IncidentPatch;
  by: ChangeBy;
  current: Incident;
}

// Every write below also appends to the audit log in the same transaction, so no state change can
// skip it: create (incident.declared), update (the given action, with the changed fields before and
// after), addEvent (timeline.<kind>).
export interface IncidentRecords {
  /**
   * `via`: the platform the declaration came from (the audit row's platform; the CLI declares console
   * incidents). `opening`: the incident's first timeline event, added in the same write.
   */
  create(input: NewIncident, via?: string, opening?: Omit<NewTimelineEvent, 'incidentId' | 'dedupeKey'>): Incident;
  get(id: number): Incident | undefined;
  byRoom(platform: string, roomId: string): Incident | undefined;
  list(filter?: { statuses?: IncidentStatus[]; limit?: number }): Incident[];
  /** Open incidents, newest first (the hot path of /incident list; shared and frozen: copy to sort). */
  listOpen(limit: number): readonly Incident[];
  /**
   * Incidents resolved at or after `since` (ms), newest resolution first, at most `limit` (the status page).
   * A range on the (status, resolved_at) index, so the cost follows the window, not the history.
   */
  recentlyResolved(since: number, limit: number): Incident[];
  /** Open incidents whose next reminder is due at `now`, oldest due first (an index keeps this flat in the total). */
  dueReminders(now: number, limit: number): Incident[];
  /** Open incidents per severity (metrics). */
  countOpenBySeverity(): Partial<Record<string, number>>;
  /**
   * Applies the patch and audits what changed. `current`: the incident as read earlier in the
   * caller's transaction (the reminder tick passes the rows it selected), so it is not read again.
   */
  update(id: number, patch: IncidentPatch, by: ChangeBy, current?: Incident): Incident;
  /**
   * Each change as `update` makes it, all in one go where the database allows (the reminder tick's
   * hundred due incidents: on PostgreSQL one statement instead of a round trip each).
   */
  updateMany(changes: ReadonlyArray<IncidentChange>): Incident[];
  /** Appends to the timeline; with a dedupeKey seen before, nothing is added and undefined returned. */
  addEvent(event: NewTimelineEvent): TimelineEvent;
  addEventOnce(event: NewTimelineEvent & { dedupeKey: string }): TimelineEvent | undefined;
  timeline(incidentId: number): TimelineEvent[];
  /** Adds follow-up action items (audited as incident.action_items_added). */
  addActionItems(incidentId: number, texts: string[], by: Omit<ChangeBy, 'action'>, at: number): void;
  actionItems(incidentId: number): Array<{ id: number; text: string; createdBy: string; createdAt: number }>;
  event(id: number): TimelineEvent | undefined;
}

export type { JobRow, NewJob } from './jobs.js';

export interface JobRecords {
  /** True when the job was added, false when one with the same key exists. */
  enqueue(job: NewJob): boolean;
  /** Several jobs in one go; how many were added (the others' keys existed). */
  enqueueMany(jobs: readonly NewJob[]): number;
  /**
   * Adds the job unless one with its key exists, as enqueue does, when the caller needs no answer: on
   * PostgreSQL it is written with the transaction's last writes (in one statement with them).
   */
  enqueueLater(job: NewJob): void;
  /** The state of the job with this key, if there is one. */
  state(key: string): 'queued' | 'running' | 'done' | 'dead' | undefined;
}

/** What the worker (jobs/worker.ts) and the CLI need of the job table besides enqueueing. */
export interface OutboxRecords extends JobRecords {
  /** Any kind of job: the catalogue (ports/jobs.ts) types what firelane enqueues; the table takes any. */
  enqueue(job: AnyJob): boolean;
  enqueueMany(jobs: readonly AnyJob[]): number;
  /** Takes the next due job and leases it to `worker` until now + leaseMs. */
  /** Claims the job due longest, among those due by `dueBy` (default now). */
  claimNext(worker: string, leaseMs: number, dueBy?: number): JobRow | undefined;
  complete(id: number, worker: string): void;
  /** Records the result of a finished step of a job. */
  saveStep(id: number, step: string, result: unknown): void;
  /** Keeps a long job's lease alive. */
  extendLease(id: number, worker: string, until: number): void;
  /** Back to the queue, to run at `runAt`; `countAttempt: false` when it only waited for something. */
  retry(id: number, worker: string, error: string, runAt: number, options?: { countAttempt?: boolean }): void;
  /** Gives up on a job for good. */
  bury(id: number, worker: string, error: string): void;
  /** Running jobs whose lease ran out or whose worker is gone go back to the queue. Returns how many. */
  requeueOrphans(isWorkerAlive: (worker: string) => boolean): number;
  /** Queued jobs and the age of the oldest due one (ms). */
  depth(): { queued: number; running: number; dead: number; oldestDueAgeMs: number };
  nextRunAt(): number | undefined;
  /** What is not done of the jobs created at or after `since` (what a `firelane run` left behind). */
  leftSince(since: number): JobsLeft;
  get(key: string): (JobRow & { status: string; lastError: string | null }) | undefined;
}

export interface JobsLeft {
  /** Due, running, or waiting to retry after an error: work that should have happened by now. */
  unfinished: number;
  /** Queued for a later time and not tried yet (a reminder). */
  scheduled: number;
  firstScheduledAt?: number;
}

/** A request whose key was claimed before: its first delivery made the change (or is making it). */
export class DuplicateRequest extends Error {
  constructor(readonly key: string) {
    super(`request ${key} was handled before`);
  }
}

export interface ReceiptRecords {
  /**
   * Records `key` in the caller's transaction; returns false (and changes nothing) when it was
   * recorded before. On PostgreSQL the key is written with the transaction's last writes, so a key
   * recorded before makes the transaction throw DuplicateRequest there instead, and roll back.
   */
  claim(key: string): boolean;
  reply(key: string): unknown;
  saveReply(key: string, reply: unknown): void;
}

/**
 * The store's operations as callers use them: each answers through a promise (PostgreSQL has no
 * synchronous client). The *Records interfaces say what each operation takes and gives.
 */
export type Async<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K];
};

export type IncidentStore = Async<IncidentRecords>;
export type JobQueue = Async<JobRecords>;
export type Outbox = Async<OutboxRecords>;
export type Receipts = Async<ReceiptRecords>;
export type AuditLog = Async<AuditRecords>;
export type PlaybookStore = Async<PlaybookRecords>;
export type DeployStore = Async<DeployRecords>;
export type HotfixStore = Async<HotfixRecords>;
export type LeaseStore = Async<LeaseRecords>;
export type AlertGroupStore = Async<AlertGroupRecords>;

export interface Store {
  incidents: IncidentStore;
  jobs: JobQueue;
  receipts: Receipts;
  audit: AuditLog;
  playbooks: PlaybookStore;
  deploys: DeployStore;
  hotfixes: HotfixStore;
  leases: LeaseStore;
  alertGroups: AlertGroupStore;
  /**
   * Runs `fn` atomically: every store call `fn` makes (awaited inside it, in the same async context)
   * joins one transaction, committed when `fn` resolves and rolled back when it throws. Nested calls
   * join the outer transaction.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * Leases for what must run in one process at a time across replicas. The epoch grows with every new
 * holder: a fencing token, so a holder that stalled past its lease can tell it lost it.
 */
export interface LeaseRecords {
  /** Takes `name` for `holder` until now + ttlMs if it is free or expired: the new epoch, or undefined when another holds it. */
  acquire(name: string, holder: string, ttlMs: number): number | undefined;
  /** Extends the lease while `holder` still holds it at `epoch`: false when it was lost. */
  renew(name: string, holder: string, epoch: number, ttlMs: number): boolean;
  /** Gives it up (nothing if it was lost meanwhile). */
  release(name: string, holder: string, epoch: number): void;
}

/**
 * Alert groups (source, receiver, groupKey) and their state across deliveries. Not audited: the
 * timeline records what a delivery did to an incident, and the audit log what people did.
 */
export interface AlertGroupRecords {
  get(ref: AlertGroupRef): AlertGroup | undefined;
  byId(id: number): AlertGroup | undefined;
  /** Throws when the group exists (the caller holds the group's lease and looked first). */
  create(group: NewAlertGroup): AlertGroup;
  update(id: number, patch: AlertGroupPatch): AlertGroup | undefined;
  /** The groups tied to the incident, oldest first. */
  ofIncident(incidentId: number): AlertGroup[];
  /** Groups of the service tied to an incident whose last delivery came at or after `since`, latest first. */
  tiedForService(service: string, since: number, limit: number): AlertGroup[];
}

/** One state change for the audit log. `before`/`after` are JSON values (null when not applicable). */
export interface AuditEntry {
  actor: string;
  platform: string;
  action: string;
  incidentId: number | null;
  before: unknown;
  after: unknown;
}

export interface AuditRecords {
  /** Appends inside the caller's transaction, chained to the row before. */
  append(entry: AuditEntry): void;
}

export interface PlaybookItem {
  position: number;
  text: string;
  doneBy: string | null;
  doneAt: number | null;
}

/** The incident's checklist, copied from the severity's playbook when it is declared. */
export interface PlaybookRecords {
  create(incidentId: number, texts: string[], by: Omit<ChangeBy, 'action'>): void;
  items(incidentId: number): PlaybookItem[];
  /** Marks an item done; undefined when there is no such item, the item as it was when it was done before. */
  tick(
    incidentId: number,
    position: number,
    by: Omit<ChangeBy, 'action'>,
    at: number,
  ): { item: PlaybookItem; changed: boolean } | undefined;
}

export type NewDeployRequest = Omit<
  DeployRequest,
  | 'id'
  | 'cardRef'
  | 'plan'
  | 'status'
  | 'approvals'
  | 'rejectedBy'
  | 'reason'
  | 'resultRevision'
  | 'updatedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'changeCount'
  | 'facts'
  | 'githubDeploymentId'
  | 'whereTo'
  | 'undoes'
  | 'requesterPerson'
> &
  Partial<Pick<DeployRequest, 'whereTo' | 'undoes' | 'requesterPerson'>>;

export type DeployPatch = Partial<
  Pick<
    DeployRequest,
    | 'status'
    | 'cardRef'
    | 'plan'
    | 'approvals'
    | 'rejectedBy'
    | 'reason'
    | 'resultRevision'
    | 'startedAt'
    | 'finishedAt'
    | 'facts'
    | 'githubDeploymentId'
  >
>;

/**
 * Deploy and rollback requests. Every write is audited (`<kind>.<action>`, with the changed fields
 * before and after) in the caller's transaction.
 */
export interface DeployRecords {
  create(input: NewDeployRequest, via: string): DeployRequest;
  get(id: number): DeployRequest | undefined;
  /** The request holding the rollout lock of the service's environment (approved or executing), if any. */
  running(service: string, environment: string): DeployRequest | undefined;
  /** Pending requests of the service's environment, oldest first. */
  pending(service: string, environment: string): DeployRequest[];
  /** The request that last started changing the service's environment (any status since), if any. */
  lastStarted(service: string, environment: string): DeployRequest | undefined;
  /** Every request holding a rollout lock (approved or executing), oldest first: the start-up reconcile. */
  inProgress(): DeployRequest[];
  /**
   * Inside a transaction, keeps every other transaction that holds the same target waiting until this
   * one ends, so that what a command checks of the target's requests (a rollback already waiting)
   * still holds when its own request is written. PostgreSQL: a transaction-level advisory lock;
   * SQLite: nothing to do (a transaction holds the whole database).
   */
  holdTarget(service: string, environment: string): void;
  /**
   * A guarded change: applied only while the status is one of `from` (and, when given, nothing else
   * changed the request since `changeCount`). Undefined when the guard did not hold. Throws a
   * conflict when the change would give the service's environment a second running request.
   */
  transition(
    id: number,
    guard: { from: readonly RequestStatus[]; changeCount?: number },
    patch: DeployPatch,
    by: ChangeBy,
  ): DeployRequest | undefined;
  /**
   * Records a failed health signal (an alert firing for the service) for a deploy that is executing:
   * its health window reads it at the next look and rolls back. The first signal counts; false when
   * the request is not an executing deploy or already has one. Audited as `by.action`.
   */
  signalHealth(id: number, reason: string, by: ChangeBy, at: number): boolean;
  /** The failed health signal recorded for the request, if any. */
  healthSignal(id: number): string | undefined;
}

export type NewHotfix = Pick<
  Hotfix,
  | 'service'
  | 'repo'
  | 'branch'
  | 'baseRef'
  | 'incidentId'
  | 'requester'
  | 'platform'
  | 'roomId'
  | 'description'
  | 'createdAt'
>;

export type HotfixPatch = Partial<
  Pick<
    Hotfix,
    | 'status'
    | 'reason'
    | 'baseRef'
    | 'baseSha'
    | 'prNumber'
    | 'prUrl'
    | 'mergeSha'
    | 'tag'
    | 'releaseUrl'
    | 'backMergeUrl'
  >
>;

/** Hotfix branches and what became of them. Every write is audited (`hotfix.<action>`). */
export interface HotfixRecords {
  /** Throws a conflict when a live hotfix (not failed) already uses the branch in that repo. */
  create(input: NewHotfix, via: string): Hotfix;
  get(id: number): Hotfix | undefined;
  /** The live hotfix on this branch of the repo, if any. */
  byBranch(repo: string, branch: string): Hotfix | undefined;
  /** Live hotfixes (creating, open or merged), newest first; of one incident when given. */
  live(incidentId?: number): Hotfix[];
  /** Every hotfix of an incident that did not fail (finished ones too), oldest first: its card. */
  ofIncident(incidentId: number): Hotfix[];
  /** Applied only while the status is one of `from`; undefined when the guard did not hold. */
  update(id: number, from: readonly HotfixStatus[], patch: HotfixPatch, by: ChangeBy): Hotfix | undefined;
}

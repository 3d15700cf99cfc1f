// The outbox's catalogue: every kind of job, the payload it carries, and (through JobHandlers) the
// handler that runs it. Commands and jobs enqueue through it; app.ts builds one JobHandlers map, so
// the compiler names a kind that nobody handles, or a payload that does not fit its kind.
import type { AlertDelivery } from '../domain/alert.js';
import type { RequestStatus } from '../domain/deploy-request.js';
import type { PostOnce } from './chat.js';

/** What a running job gets besides its payload (jobs/worker.ts provides it). */
export interface JobContext {
  job: JobRow;
  /**
   * Runs `fn` once per job: a retried job gets the recorded result instead of running it again.
   * Steps may run concurrently; each result must be JSON. A step that posts a chat message passes
   * `once` to the post (at most one post per step): when the process died after the platform posted
   * it but before the result was recorded, the retry finds that message instead of posting again.
   */
  step<T>(name: string, fn: (once: PostOnce) => Promise<T>): Promise<T>;
}

export interface JobRow {
  id: number;
  kind: string;
  key: string;
  payload: Record<string, unknown>;
  attempts: number;
  runAt: number;
  progress: Record<string, unknown>;
  /** When it was enqueued (epoch ms): with the key, it names the job across databases started over. */
  createdAt: number;
}

// Incidents
export const OPEN_WAR_ROOM = 'incident.open-war-room';
export const BROADCAST = 'incident.broadcast';
export const REFRESH_TOPIC = 'incident.refresh-topic';
export const REFRESH_INCIDENT_CARD = 'incident.refresh-card';
export const PIN_MESSAGE = 'incident.pin-message';
export const REMIND = 'incident.remind';
export const ESCALATE = 'incident.escalate';
export const POSTMORTEM_REMINDER = 'incident.postmortem-reminder';
export const UPLOAD_POSTMORTEM = 'incident.upload-postmortem';
export const REFRESH_CHECKLIST = 'incident.refresh-checklist';
// Deploys and rollbacks
export const PREPARE_REQUEST = 'deploy.prepare';
export const EXPIRE_REQUEST = 'deploy.expire';
export const REFRESH_REQUEST_CARD = 'deploy.refresh-card';
export const EXECUTE_REQUEST = 'deploy.execute';
/** Records the rollout as a GitHub Deployment status (jobs/github-deploys); a no-op without GitHub. */
export const GITHUB_DEPLOYMENT = 'deploy.github';
export const ESCALATE_REQUEST = 'deploy.escalate';
export const RECONCILE_DEPLOYS = 'deploy.reconcile';
// Hotfixes
export const HOTFIX_CREATE = 'hotfix.create';
export const HOTFIX_PR = 'hotfix.pr';
export const HOTFIX_STATUS = 'hotfix.status';
export const HOTFIX_FINISH = 'hotfix.finish';
// Alerts
/** One stored webhook delivery (its key is the delivery's idempotency key). */
export const ALERT_DELIVERY = 'alerts.delivery';
/** Asks the war room whether to resolve an incident whose alert group resolved. */
export const ALERT_RESOLVE_PROMPT = 'alerts.resolve-prompt';
/** The card offering the rollback of a recent deploy of an alert's service (one per alert group and deploy). */
export const ALERT_DEPLOY_CARD = 'alerts.deploy-card';

/** A hotfix step someone asked for: who, and on which platform (their answer goes there). */
interface HotfixStep {
  hotfixId: number;
  actor: string;
  platform: string;
}

/** A reminder or escalation, keyed by the due time it serves. */
interface ReminderDue {
  incidentId: number;
  dueAt: number;
  missed: number;
}

export interface JobPayloads {
  [OPEN_WAR_ROOM]: { incidentId: number; origin?: string };
  [BROADCAST]: { incidentId: number; eventId: number; announce: boolean; invite?: string[] };
  [REFRESH_TOPIC]: { incidentId: number };
  [REFRESH_INCIDENT_CARD]: { incidentId: number };
  [PIN_MESSAGE]: { incidentId: number; roomId: string; messageId: string; actor: string; platform: string };
  [REMIND]: ReminderDue;
  [ESCALATE]: ReminderDue;
  [POSTMORTEM_REMINDER]: { incidentId: number; resolvedAt: number };
  [UPLOAD_POSTMORTEM]: { incidentId: number; events: number; at: number };
  [REFRESH_CHECKLIST]: { incidentId: number };
  [PREPARE_REQUEST]: { requestId: number };
  [EXPIRE_REQUEST]: { requestId: number };
  [REFRESH_REQUEST_CARD]: { requestId: number };
  /** `watchRevision`: only follow a rollout the start-up reconcile found already applied at this revision. */
  [EXECUTE_REQUEST]: { requestId: number; watchRevision?: number };
  [GITHUB_DEPLOYMENT]: { requestId: number; status: RequestStatus };
  [ESCALATE_REQUEST]: { requestId: number };
  [RECONCILE_DEPLOYS]: { occasion?: 'buried' };
  [HOTFIX_CREATE]: { hotfixId: number };
  [HOTFIX_PR]: HotfixStep;
  [HOTFIX_STATUS]: HotfixStep;
  [HOTFIX_FINISH]: HotfixStep;
  [ALERT_DELIVERY]: { delivery: AlertDelivery };
  [ALERT_RESOLVE_PROMPT]: { incidentId: number; groupId: number };
  /** `incidentId`: its war room gets the card; null: alerts.triageChannel on `platform`. */
  [ALERT_DEPLOY_CARD]: {
    requestId: number;
    incidentId: number | null;
    platform: string;
    alert: { name: string; source: string };
    /** The actor of the alert's source (`alertmanager`): on the incident's timeline. */
    actor: string;
    at: number;
  };
}

export type JobKind = keyof JobPayloads;

/** A job to enqueue: its kind decides the payload's shape. */
export type NewJob = {
  [K in JobKind]: {
    kind: K;
    /** Idempotency key: a second enqueue with the same key is ignored. */
    key: string;
    payload: JobPayloads[K];
    runAt?: number;
  };
}[JobKind];

/** Any job, as the outbox stores it (the store and the worker are not tied to the catalogue). */
export interface AnyJob {
  kind: string;
  key: string;
  payload: object;
  runAt?: number;
}

export type TypedJobHandler<K extends JobKind> = (payload: JobPayloads[K], context: JobContext) => Promise<void>;

/** One handler per kind: app.ts builds this map, so a kind without a handler does not compile. */
export type JobHandlers = { [K in JobKind]: TypedJobHandler<K> };

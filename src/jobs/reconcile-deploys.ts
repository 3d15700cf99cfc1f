// Start-up reconcile of deploys left in progress: a request approved or executing whose execute job
// gave up (dead) or is missing would hold its service's rollout lock for ever. Its outcome is read
// from the cluster instead:
//
//   the change is in the cluster and the rollout is done      -> succeeded
//   the change is in the cluster and the rollout is progressing -> a fresh watch follows it (no second change)
//   the rollout failed, the change was never made, or the cluster runs something else -> failed, with why
//   the cluster cannot be read                                 -> left as it is; tried again later
//
// Blue-green is judged by what the Service selects: switched to the new colour and ready -> succeeded;
// still on the old colour -> failed, with nothing to undo (the old colour serves). A canary that was
// not promoted is cleaned up the way a failed step is (canary to 0, the main Deployment at its size)
// and failed; a promoted one is judged as rolling, after the canary is scaled to 0.
//
// Every change goes through changeRequest (guard, audit, timeline, card). A request whose execute
// job is still queued or running is left to it: the outbox resumes that job by itself.
import { executeJobKey, executeJobStates, watchJobKey } from '../flows/change-request.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { FileConfig } from '../config.js';
import type { KubernetesTarget } from '../config/types.js';
import { requestTarget } from '../config/environments.js';
import { changeRequest, type RequestChange } from '../flows/change-request.js';
import { requestKey, type DeployRequest } from '../domain/deploy-request.js';
import type { Clock } from '../ports/clock.js';
import type { Cluster } from '../ports/cluster.js';
import { canaryTarget, serviceTarget, SLOT_LABEL, slotTarget, targetOf } from './deploy-targets.js';
import type { Store } from '../ports/store.js';
import { WATCH_REVISION } from './deploy-jobs.js';
import { RetryLater } from './worker.js';
import { EXECUTE_REQUEST, type JobHandlers, RECONCILE_DEPLOYS } from '../ports/jobs.js';

const FIRELANE = 'firelane';
/** Why the reconcile runs: at start-up, or because an execute job failed for good while firelane ran. */
export type ReconcileOccasion = 'start-up' | 'buried';
const PREFIXES: Record<ReconcileOccasion, string> = {
  'start-up': 'reconciled at start-up',
  buried: 'reconciled after its execution gave up',
};

/** The job keys changeRequest gives a request's execute jobs (keep them in step). */
export { executeJobKey, watchJobKey };

export interface ReconcileDeps {
  store: Store;
  config: FileConfig;
  clock: Clock;
  logger: Logger;
  cluster?: Cluster;
  occasion?: ReconcileOccasion;
  /** False once the lease this reconcile runs under was lost: it stops before the next request. */
  held?: () => boolean;
}

export type ReconcileOutcome =
  | { request: number; outcome: 'active' }
  | { request: number; outcome: 'succeeded' | 'failed' | 'void'; reason: string | null }
  | { request: number; outcome: 'watching'; job: string }
  /** Changed by someone else while the cluster was read: nothing done. */
  | { request: number; outcome: 'changed' }
  /** The cluster could not be read (or there is none): left as it is. */
  | { request: number; outcome: 'unreachable'; error: string };

/** Whether an execute job (the first or a reconcile watch) still owns the request, and the next watch number. */
async function executeJobs(store: Store, id: number): Promise<{ active: boolean; next: number }> {
  const states = await executeJobStates(store, id);
  return { active: states.some((state) => state === 'queued' || state === 'running'), next: states.length };
}

/** What the cluster says about one request, read once. */
type Verdict =
  | { kind: 'succeeded'; revision: number }
  | { kind: 'progressing'; revision: number }
  | { kind: 'failed'; reason: string; revision: number | null }
  | { kind: 'void'; reason: string };

async function readVerdict(
  request: DeployRequest,
  k: KubernetesTarget | undefined,
  cluster: Cluster,
  prefix: string,
): Promise<Verdict> {
  const plan = request.plan!;
  if (!k) {
    const reason = `${request.service} has no kubernetes target in ${request.environment} in firelane.yaml any more`;
    return request.status === 'approved'
      ? { kind: 'void', reason }
      : { kind: 'failed', reason: `${reason}, so its rollout cannot be followed`, revision: null };
  }
  if (plan.slots) return blueGreenVerdict(request, k, cluster);
  const target = targetOf(k);
  const where = `${k.namespace}/${k.deployment}`;
  const canary = request.strategy === 'canary' && request.kind === 'deploy';
  const meta = { changeCause: `firelane ${requestKey(request.id)} ${prefix}: interrupted canary cleaned up` };
  if (canary) await scaleIfPresent(cluster, canaryTarget(k), 0, meta);
  const d = await cluster.readDeployment(target);
  if (!d) return { kind: 'failed', reason: `the deployment ${where} is gone`, revision: null };
  const image = d.images[request.container];
  // The change makes a new revision whose container runs the target image (a rollback's target
  // revision comes back under a new number, so the image and a moved revision identify it).
  const applied = image === plan.toImage && d.revision !== plan.fromRevision;
  if (applied) {
    const progress = await cluster.rolloutProgress(target);
    if (progress.failure) return { kind: 'failed', reason: progress.failure, revision: d.revision };
    if (progress.done) return { kind: 'succeeded', revision: d.revision };
    return { kind: 'progressing', revision: d.revision };
  }
  if (canary && image === plan.fromImage) {
    const total = plan.replicas ?? d.desired;
    if (d.desired !== total) await cluster.scale(target, total, meta);
    return {
      kind: 'failed',
      reason: `the canary was interrupted before it was promoted: the canary is scaled to 0 and ${where} runs ${plan.fromImage} on all ${total} replicas; ask again with a new request`,
      revision: null,
    };
  }
  if (d.revision === plan.fromRevision && image === plan.fromImage) {
    return {
      kind: 'failed',
      reason: `the rollout never started: ${where} still runs ${plan.fromImage} (revision ${plan.fromRevision}) and nothing was changed; ask again with a new request`,
      revision: null,
    };
  }
  return {
    kind: 'failed',
    reason: `${where} runs ${image ?? `no container named ${request.container}`} (revision ${d.revision}), neither the target ${plan.toImage} nor ${plan.fromImage} (revision ${plan.fromRevision}) from before; someone else changed it`,
    revision: d.revision,
  };
}

async function scaleIfPresent(
  cluster: Cluster,
  target: ReturnType<typeof targetOf>,
  replicas: number,
  meta: { changeCause: string },
): Promise<void> {
  const d = await cluster.readDeployment(target);
  if (d && d.desired !== replicas) await cluster.scale(target, replicas, meta);
}

/** Blue-green: which colour the Service selects says whether the switch happened. */
async function blueGreenVerdict(request: DeployRequest, k: KubernetesTarget, cluster: Cluster): Promise<Verdict> {
  const plan = request.plan!;
  const { from, to } = plan.slots!;
  const service = serviceTarget(k);
  const where = `${k.namespace}/${service.service}`;
  const selected = (await cluster.readService(service))?.selector[SLOT_LABEL];
  if (selected === from) {
    return {
      kind: 'failed',
      reason: `interrupted before the switch: the Service ${where} still selects ${from} (${plan.fromImage}), so ${plan.toImage} never took traffic; ask again with a new request`,
      revision: null,
    };
  }
  const target = slotTarget(k, to);
  const d = await cluster.readDeployment(target);
  if (selected !== to || !d || d.images[request.container] !== plan.toImage) {
    return {
      kind: 'failed',
      reason: `${where} selects ${selected === undefined ? `no ${SLOT_LABEL}` : `${SLOT_LABEL}=${selected}`}${d ? `, and ${target.deployment} runs ${d.images[request.container] ?? `no container named ${request.container}`}` : ''}: neither what ${requestKey(request.id)} was to do nor how it was before; someone else changed it`,
      revision: d?.revision ?? null,
    };
  }
  const progress = await cluster.rolloutProgress(target);
  if (progress.failure)
    return { kind: 'failed', reason: `${to} is live but ${progress.failure}`, revision: d.revision };
  // Live on the new colour and still coming up: a watch re-runs the blue-green steps, which change
  // nothing already done (same image, same selector), and follows it through the health window.
  return progress.done ? { kind: 'succeeded', revision: d.revision } : { kind: 'progressing', revision: d.revision };
}

/**
 * Reconciles every request in progress whose execute job no longer runs it. Never throws for a
 * cluster that cannot be read: those requests come back as 'unreachable' for the caller to retry.
 */
export async function reconcileDeploys(deps: ReconcileDeps): Promise<ReconcileOutcome[]> {
  const { store, config, clock, logger, cluster } = deps;
  const PREFIX = PREFIXES[deps.occasion ?? 'start-up'];
  const outcomes: ReconcileOutcome[] = [];
  for (const request of await store.deploys.inProgress()) {
    // Another replica may hold the lease now: leave the rest to it (each change is guarded by the
    // request's status and change count as well, so an overlap changes nothing twice).
    if (deps.held && !deps.held()) throw new LeaseLost(RECONCILE_LEASE);
    const key = requestKey(request.id);
    const log = logger.child({ request: key });
    if ((await executeJobs(store, request.id)).active) {
      outcomes.push({ request: request.id, outcome: 'active' });
      continue;
    }
    const change = (spec: Omit<RequestChange, 'actor' | 'platform' | 'from' | 'changeCount'>) =>
      changeRequest(store, clock, request, {
        actor: FIRELANE,
        platform: request.platform,
        from: [request.status],
        changeCount: request.changeCount,
        ...spec,
      });

    let verdict: Verdict;
    if (!request.plan) {
      verdict = { kind: 'failed', reason: 'it has no plan (the cluster was never read)', revision: null };
    } else {
      if (!cluster) {
        log.warn(
          `${key} is ${request.status} but Kubernetes is not connected: it cannot be reconciled until it is (restart with KUBECONFIG)`,
        );
        outcomes.push({ request: request.id, outcome: 'unreachable', error: 'Kubernetes is not connected' });
        continue;
      }
      const k = requestTarget(config, request.service, request.environment)?.kubernetes;
      try {
        verdict = await readVerdict(request, k, cluster, PREFIX);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.warn(
          { err: error },
          `${key} is ${request.status} and its execute job has stopped, but the cluster cannot be read; leaving it and trying again later`,
        );
        outcomes.push({ request: request.id, outcome: 'unreachable', error: message });
        continue;
      }
    }

    // Decided and written in one transaction, after the cluster was read: nothing else took the request meanwhile.
    const outcome = await store.transaction(async (): Promise<ReconcileOutcome> => {
      const jobs = await executeJobs(store, request.id);
      if (jobs.active) return { request: request.id, outcome: 'active' };
      const now = clock.now();
      const what = request.plan?.toImage ?? request.service;
      switch (verdict.kind) {
        case 'succeeded': {
          const done = await change({
            patch: { status: 'succeeded', reason: null, finishedAt: now, resultRevision: verdict.revision },
            action: 'succeeded',
            timeline: `${key} succeeded: ${request.service} runs ${what} (revision ${verdict.revision}); ${PREFIX} from the cluster`,
          });
          return done
            ? { request: request.id, outcome: 'succeeded', reason: null }
            : { request: request.id, outcome: 'changed' };
        }
        case 'failed':
        case 'void': {
          const reason = `${PREFIX}: ${verdict.reason}`;
          const status = verdict.kind;
          const done = await change({
            patch: {
              status,
              reason,
              finishedAt: now,
              ...(verdict.kind === 'failed' && { resultRevision: verdict.revision }),
            },
            action: status,
            timeline: status === 'failed' ? `${key} failed: ${reason}` : `${key} is void: ${reason}`,
          });
          return done ? { request: request.id, outcome: status, reason } : { request: request.id, outcome: 'changed' };
        }
        case 'progressing': {
          if (request.status === 'approved') {
            // The change is in the cluster although the request never got to executing: it is rolling out now.
            const started = await change({
              patch: { status: 'executing', startedAt: now },
              action: 'started',
              timeline: `${key} found rolling out (${PREFIX}): ${request.service} ${request.plan!.fromImage} → ${what}`,
            });
            if (!started) return { request: request.id, outcome: 'changed' };
          } else if ((await store.deploys.get(request.id))?.changeCount !== request.changeCount) {
            return { request: request.id, outcome: 'changed' };
          }
          const job = watchJobKey(request.id, jobs.next);
          await store.jobs.enqueue({
            kind: EXECUTE_REQUEST,
            key: job,
            payload: { requestId: request.id, [WATCH_REVISION]: verdict.revision },
          });
          return { request: request.id, outcome: 'watching', job };
        }
      }
    });
    if (outcome.outcome === 'watching')
      log.info({ job: outcome.job }, `${key} is still rolling out: following it again`);
    else if ('reason' in outcome)
      log.info(`${key} ${PREFIX}: ${outcome.outcome}${outcome.reason ? ` (${outcome.reason})` : ''}`);
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * The worker's onBuried hook: an execute job (or a reconcile watch) that failed for good would
 * hold its service's rollout lock until the next restart; reconcile its request now instead.
 */
export function reconcileWhenBuried(store: Store): (job: { id: number; kind: string }) => Promise<void> {
  return async (job) => {
    if (job.kind === EXECUTE_REQUEST)
      await store.jobs.enqueue({
        kind: RECONCILE_DEPLOYS,
        key: `deploy-reconcile:buried:${job.id}`,
        payload: { occasion: 'buried' },
      });
  };
}

/** Queues the start-up reconcile when some request is in progress; `bootId` makes the key unique per start. */
export async function enqueueReconcile(store: Store, bootId: string): Promise<boolean> {
  if ((await store.deploys.inProgress()).length === 0) return false;
  return await store.jobs.enqueue({ kind: RECONCILE_DEPLOYS, key: `deploy-reconcile:${bootId}`, payload: {} });
}

const RECONCILE_LEASE = 'deploy-reconcile';
const RECONCILE_LEASE_MS = 30_000;
/** This process, as a lease holder. */
const HOLDER = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** The lease ran out or could not be renewed: the work stops and is tried again later. */
export class LeaseLost extends RetryLater {
  constructor(name: string) {
    super(`the ${name} lease was lost (not renewed in time): another replica may go on`, RECONCILE_LEASE_MS / 3);
  }
}

/**
 * `fn` while holding the lease `name` (renewed every third of its time, given up at the end), or
 * undefined without running it when another replica holds the lease. `held()` turns false for good
 * when a renewal fails or finds the lease taken over: `fn` checks it before each step it must not
 * share.
 */
export async function holdingLease<T>(
  store: Pick<Store, 'leases'>,
  name: string,
  fn: (held: () => boolean) => Promise<T>,
  ttlMs = RECONCILE_LEASE_MS,
): Promise<T | undefined> {
  const epoch = await store.leases.acquire(name, HOLDER, ttlMs);
  if (epoch === undefined) return undefined;
  let held = true;
  const renew = setInterval(() => {
    store.leases.renew(name, HOLDER, epoch, ttlMs).then(
      (renewed) => {
        if (!renewed) held = false;
      },
      () => {
        held = false; // not renewed: by the time it expires another replica may hold it
      },
    );
  }, ttlMs / 3);
  try {
    return await fn(() => held);
  } finally {
    clearInterval(renew);
    await store.leases.release(name, HOLDER, epoch).catch(() => undefined);
  }
}

/**
 * The reconcile as a job, so it runs in the worker after orphaned jobs are requeued, and a cluster
 * that cannot be read is tried again after `retryMs` (default 30s) until it can.
 */
export function createReconcileJobs(
  deps: ReconcileDeps & { retryMs?: number },
): Pick<JobHandlers, typeof RECONCILE_DEPLOYS> {
  const retryMs = deps.retryMs ?? 30_000;
  return {
    async [RECONCILE_DEPLOYS](payload) {
      // One reconcile at a time across replicas: the others wait their turn (a request buried since
      // the running one read the list is reconciled by the next).
      const outcomes = await holdingLease(deps.store, RECONCILE_LEASE, (held) =>
        reconcileDeploys({ ...deps, held, occasion: payload.occasion === 'buried' ? 'buried' : 'start-up' }),
      );
      if (!outcomes) throw new RetryLater('another replica is reconciling deploys', RECONCILE_LEASE_MS / 3);
      // Without a cluster nothing changes before a restart, which reconciles again.
      const left = deps.cluster ? outcomes.filter((o) => o.outcome === 'unreachable') : [];
      if (left.length)
        throw new RetryLater(
          `the cluster could not be read for ${left.map((o) => requestKey(o.request)).join(', ')}`,
          retryMs,
        );
    },
  };
}

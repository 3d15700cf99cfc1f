// Outbox jobs of deploy and rollback requests: read the cluster and post the card, keep the card
// current, expire unapproved requests, and execute an approved one exactly once with its strategy
// (jobs/strategies). Every external call is a named step, so a retry or a restart repeats only what
// has not happened.
import type { Logger } from 'pino';
import type { FileConfig } from '../config.js';
import {
  makePlan,
  planStillHolds,
  requestKey,
  targetRefOf,
  targetText,
  undoPlan,
  versionTag,
  type ClusterView,
  type DeployRequest,
  type PlanOutcome,
} from '../domain/deploy-request.js';
import { DEFAULT_HEALTH_WINDOW_MS } from '../config/defaults.js';
import { changeRequest, executeJobStates, prepareJobKey, type RequestChange } from '../flows/change-request.js';
import { requestReply, type RolloutShown } from '../views/deploy-card.js';
import { expireRequest } from '../flows/expire-request.js';
import type { ChatPort } from '../ports/chat.js';
import type { Clock } from '../ports/clock.js';
import type { Cluster } from '../ports/cluster.js';
import type { Store } from '../ports/store.js';
import { createDeployRun, Superseded } from './deploy-run.js';
import { runRestore } from './strategies/restore.js';
import { requestTarget } from '../config/environments.js';
import type { KubernetesTarget } from '../config/types.js';
import { readGoNoGo, repoOf } from './github-deploys.js';
import type { GitHost } from '../ports/git-host.js';
import type { MetricSource } from '../ports/metric-source.js';
import { planTarget, readClusterView, readNow } from './deploy-targets.js';
import { runBlueGreen } from './strategies/blue-green.js';
import { runCanary } from './strategies/canary.js';
import { runRolling } from './strategies/rolling.js';
import { PermanentJobError, RetryLater } from './worker.js';
import {
  EXECUTE_REQUEST,
  EXPIRE_REQUEST,
  type JobHandlers,
  PREPARE_REQUEST,
  REFRESH_REQUEST_CARD,
} from '../ports/jobs.js';

/** Payload field of an execute job that only follows a rollout already applied (the revision it made). */
export const WATCH_REVISION = 'watchRevision';

export interface DeployJobOptions {
  /**
   * Between two rollout polls (default 500 ms: the card shows a completed rollout within a second;
   * one GET of the Deployment per poll while it rolls out).
   */
  pollIntervalMs: number;
  /** Between two checks of the health window (deployment availability, the health URL, gates due; default 2s). */
  healthIntervalMs: number;
  /** A rollout not complete this long after it started fails (default 15m). */
  rolloutTimeoutMs: number;
  /** One probe of the health URL that takes longer is unhealthy (default 5s); app.ts gives gate queries the same. */
  healthProbeTimeoutMs: number;
  /** Waits between polls; tests pass one that moves a manual clock. */
  sleep(ms: number): Promise<void>;
}

export interface DeployJobDeps extends Partial<DeployJobOptions> {
  store: Store;
  chats: Partial<Record<string, ChatPort>>;
  config: FileConfig;
  clock: Clock;
  logger: Logger;
  cluster?: Cluster;
  /** GitHub, for the go/no-go facts on a deploy card. */
  git?: GitHost;
  /** Prometheus-compatible API client, for the metric gates of health checks. */
  prometheus?: MetricSource;
}

const MAX_RENDERS = 3;
/** Reads of the cluster a request's card waits for before it says the cluster cannot be read (about 3 s with the worker's backoff). */
const UNREACHABLE_TRIES = 3;
const FIRELANE = 'firelane';

export function createDeployJobs(
  deps: DeployJobDeps,
): Pick<
  JobHandlers,
  typeof EXECUTE_REQUEST | typeof EXPIRE_REQUEST | typeof PREPARE_REQUEST | typeof REFRESH_REQUEST_CARD
> {
  const { store, config, clock, logger, cluster } = deps;
  const pollIntervalMs = deps.pollIntervalMs ?? 500;
  const healthIntervalMs = deps.healthIntervalMs ?? 2_000;
  const rolloutTimeoutMs = deps.rolloutTimeoutMs ?? 15 * 60_000;
  const healthProbeTimeoutMs = deps.healthProbeTimeoutMs ?? 5_000;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const policyOf = (r: DeployRequest) =>
    Object.hasOwn(config.approvals, r.environment) ? config.approvals[r.environment] : undefined;
  const environmentOf = (r: DeployRequest) => requestTarget(config, r.service, r.environment);
  /** The environment's target now, or why the request may not use it (gone, or pointed elsewhere since the card). */
  const checkedTarget = (r: DeployRequest): { k: KubernetesTarget } | { problem: string } => {
    const k = environmentOf(r)?.kubernetes;
    if (!k) return { problem: `${r.service} has no kubernetes target in ${r.environment} in firelane.yaml any more` };
    const now = { ...targetRefOf(k), ...(r.whereTo?.simulated && { simulated: true as const }) };
    if (r.whereTo && targetText(r.whereTo) !== targetText(now)) {
      return {
        problem: `${r.environment} of ${r.service} points at ${targetText(now)} in firelane.yaml now, not ${targetText(r.whereTo)} as on the card`,
      };
    }
    return { k };
  };
  const byFirelane = (r: DeployRequest) => ({ actor: FIRELANE, platform: r.platform });

  async function load(payload: { requestId: number }): Promise<{ request: DeployRequest; chat: ChatPort }> {
    const request = await store.deploys.get(Number(payload.requestId));
    if (!request) throw new PermanentJobError(`request ${String(payload.requestId)} does not exist`);
    const chat = deps.chats[request.platform];
    if (!chat) throw new Error(`${request.platform} is not connected; ${requestKey(request.id)} waits until it is`);
    return { request, chat };
  }

  function needCluster(): Cluster {
    if (!cluster) throw new Error('Kubernetes is not connected (KUBECONFIG); waiting for it');
    return cluster;
  }

  const change = (request: DeployRequest, spec: Omit<RequestChange, 'actor' | 'platform'>) =>
    changeRequest(store, clock, request, { ...byFirelane(request), ...spec });

  /** Renders until what is shown is what is stored (two quick changes may finish out of order). */
  async function render(chat: ChatPort, id: number, rollout?: RolloutShown): Promise<void> {
    for (let i = 0; i < MAX_RENDERS; i++) {
      const request = (await store.deploys.get(id))!;
      if (!request.cardRef) return;
      await chat.update(
        request.roomId,
        request.cardRef,
        requestReply(request, policyOf(request), request.status === 'executing' ? rollout : undefined, config.people),
      );
      if ((await store.deploys.get(id))!.changeCount === request.changeCount) return;
    }
  }

  return {
    async [PREPARE_REQUEST](payload, { step, job }) {
      const { request, chat } = await load(payload);
      if (request.status === 'pending' && !request.plan) {
        const target = checkedTarget(request);
        let outcome: PlanOutcome;
        if ('problem' in target) outcome = target;
        else if (request.undoes !== null) {
          // Undoing a deploy: back to what ran before it, whatever the cluster is in the middle of.
          const undone = await store.deploys.get(request.undoes);
          outcome = undone ? undoPlan(undone) : { problem: `${requestKey(request.undoes)} does not exist` };
        } else {
          const kube = needCluster();
          try {
            const view = await step('read-cluster', async (): Promise<ClusterView> =>
              readClusterView(kube, target.k, request.strategy, request.container),
            );
            outcome = makePlan(request, target.k, view);
          } catch (error) {
            // A cluster that does not answer gets a few quick tries, then a clear answer on the card:
            // during an incident a request that waits minutes in silence is worse than "ask again".
            if (job.attempts < UNREACHABLE_TRIES) throw error;
            outcome = {
              problem: `the cluster could not be read (${error instanceof Error ? error.message : String(error)}); ask again once it answers`,
            };
          }
        }
        const service = config.services[request.service];
        const repo = repoOf(deps.git, service);
        // GitHub knows a version by its tag; a digest alone names no commit.
        const tag = request.target === null ? undefined : versionTag(request.target);
        const facts =
          'plan' in outcome && request.kind === 'deploy' && repo && tag
            ? await step('github-facts', async () => readGoNoGo(deps.git!, repo, service!, tag, outcome.plan.fromImage))
            : undefined;
        await change(request, {
          from: ['pending'],
          changeCount: request.changeCount,
          patch:
            'plan' in outcome
              ? { plan: outcome.plan, ...(facts && { facts }) }
              : { status: 'void', reason: outcome.problem, finishedAt: clock.now() },
          action: 'plan' in outcome ? 'planned' : 'void',
          refreshCard: false,
          ...('problem' in outcome && { timeline: `${requestKey(request.id)} cannot go ahead: ${outcome.problem}` }),
        });
      }
      // Rendered when posted, so whatever happened meanwhile (an expiry) is shown.
      const card = await step('post-card', async (once) => {
        const now = (await store.deploys.get(request.id))!;
        return {
          ref: await chat.post(now.roomId, requestReply(now, policyOf(now), undefined, config.people), { once }),
          changeCount: now.changeCount,
        };
      });
      const posted = (await store.deploys.get(request.id))!;
      if (posted.cardRef !== card.ref) {
        await change(posted, {
          from: [posted.status],
          patch: { cardRef: card.ref },
          action: 'card_posted',
          refreshCard: false,
        });
        // Changed between posting and recording the card (its refresh jobs found no card): show it now.
        if (posted.changeCount !== card.changeCount) await render(chat, request.id);
      }
    },

    async [REFRESH_REQUEST_CARD](payload, { step }) {
      const { request, chat } = await load(payload);
      if (!request.cardRef) {
        // The prepare job posts the card with the latest state; wait only while it may still do so.
        const prepare = await store.jobs.state(prepareJobKey(request.id));
        if (prepare === 'queued' || prepare === 'running')
          throw new RetryLater(`the card of ${requestKey(request.id)} is not posted yet`, 1_000);
        return;
      }
      await step('update', async () => {
        await render(chat, request.id);
        return null;
      });
    },

    async [EXPIRE_REQUEST](payload) {
      const { request } = await load(payload);
      if (request.status !== 'pending') return;
      const now = clock.now();
      if (now < request.expiresAt)
        throw new RetryLater(`${requestKey(request.id)} expires later`, request.expiresAt - now);
      await expireRequest(store, clock, request, byFirelane(request), policyOf(request)?.required ?? 1);
    },

    async [EXECUTE_REQUEST](payload, { step }) {
      const loaded = await load(payload);
      const chat = loaded.chat;
      let request = loaded.request;
      const key = requestKey(request.id);
      const target = checkedTarget(request);
      const plan = request.plan;
      if (!plan) throw new PermanentJobError(`${key} has no plan`);
      if ('problem' in target) {
        if (request.status === 'approved')
          await change(request, {
            from: ['approved'],
            patch: { status: 'void', reason: target.problem, finishedAt: clock.now() },
            action: 'void',
            timeline: `${key} is void: ${target.problem}`,
          });
        return;
      }
      const k = target.k;
      const kube = needCluster();
      const undone = request.undoes === null ? undefined : await store.deploys.get(request.undoes);
      // The deploy being undone stops at its next look (it is superseded); its changes and ours must not interleave.
      if (undone && (await executeJobStates(store, undone.id)).includes('running'))
        throw new RetryLater(`${requestKey(undone.id)} is stopping`, 200);
      // A watch enqueued by the start-up reconcile (jobs/reconcile-deploys): the change is already in
      // the cluster at this revision; only follow the rollout (setting the image or undoing again could
      // start another rollout).
      const watched = typeof payload[WATCH_REVISION] === 'number' ? { revision: payload[WATCH_REVISION] } : undefined;

      if (request.status === 'approved' && undone) {
        await change(request, {
          from: ['approved'],
          patch: { status: 'executing', startedAt: clock.now() },
          action: 'started',
          timeline: `${key} rollback started: ${request.service} back to ${plan.toImage}, what ran before ${requestKey(undone.id)}`,
        });
        request = (await store.deploys.get(request.id))!;
      } else if (request.status === 'approved' && !watched) {
        // The approval was for the plan on the card: re-read the cluster before changing anything.
        const seen = await step('check', async () => readNow(kube, k, plan, request.container));
        const live = planTarget(k, plan);
        const problem = seen
          ? planStillHolds(plan, {
              revision: seen.revision,
              image: seen.image ?? undefined,
              ...(seen.slot !== undefined && { slot: seen.slot }),
            })
          : `the deployment ${live.namespace}/${live.deployment} is gone`;
        if (problem) {
          await change(request, {
            from: ['approved'],
            patch: {
              status: 'void',
              reason: `the cluster changed since the card was posted (${problem}); ask again with a new request`,
              finishedAt: clock.now(),
            },
            action: 'void',
            timeline: `${key} is void: the cluster changed since its card was posted (${problem})`,
          });
          return;
        }
        await change(request, {
          from: ['approved'],
          patch: { status: 'executing', startedAt: clock.now() },
          action: 'started',
          timeline: `${key} rollout started: ${request.service} ${plan.fromImage} → ${plan.toImage}${plan.slots ? ` (${request.strategy}: ${plan.slots.from} → ${plan.slots.to})` : request.strategy === 'canary' && request.kind === 'deploy' ? ' (canary)' : ''}`,
        });
        request = (await store.deploys.get(request.id))!;
      }
      if (request.status !== 'executing') return;

      const run = createDeployRun({
        store,
        clock,
        logger,
        kube,
        request,
        plan,
        k,
        step,
        sleep,
        pollIntervalMs,
        healthIntervalMs,
        rolloutTimeoutMs,
        healthProbeTimeoutMs,
        health: environmentOf(request)?.healthCheck ?? { windowMs: DEFAULT_HEALTH_WINDOW_MS },
        ...(deps.prometheus && { prometheus: deps.prometheus }),
        // A card that cannot be updated must not stop the rollout being followed.
        render: (shown) =>
          render(chat, request.id, shown).catch((error: unknown) =>
            logger.warn({ err: error, request: key }, 'could not update the deploy card'),
          ),
      });
      const startedAt = request.startedAt ?? clock.now();
      try {
        if (undone) return await runRestore(run, undone, startedAt);
        if (plan.slots) return await runBlueGreen(run, startedAt);
        if (request.strategy === 'canary' && request.kind === 'deploy' && !watched) return await runCanary(run);
        return await runRolling(run, startedAt, watched);
      } catch (error) {
        if (!(error instanceof Superseded)) throw error;
        logger.info(
          { request: key, reason: error.message },
          'stopped following the rollout: the request was superseded',
        );
      }
    },
  };
}

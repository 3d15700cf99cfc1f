// One execution of an approved request, as the strategies see it: the plan, the cluster, named steps
// (a retry or a restart repeats only what has not happened), and the ways it ends. The strategies
// (jobs/strategies/*) decide what to change; this decides how a change is recorded and shown.
import type { Logger } from 'pino';
import type { HealthCheck, KubernetesTarget } from '../config/types.js';
import { changeRequest, type RequestChange } from '../flows/change-request.js';
import type { RolloutShown } from '../views/deploy-card.js';
import { requestKey, type DeployPlan, type DeployRequest } from '../domain/deploy-request.js';
import { FirelaneError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { Cluster, DeploymentTarget } from '../ports/cluster.js';
import type { Store } from '../ports/store.js';
import type { HealthResult } from './health-check.js';
import { checkGates } from './metric-gates.js';
import type { MetricSource } from '../ports/metric-source.js';
import { followRollout, timeLeftText, verifyHealth, type RolloutOutcome } from './rollout-watch.js';
import type { JobContext } from './worker.js';
import { ESCALATE_REQUEST } from '../ports/jobs.js';

const FIRELANE = 'firelane';

/** A cluster error that retrying cannot fix: refused, not found, invalid. */
function isPermanent(error: unknown): boolean {
  if (error instanceof FirelaneError) return !error.retryable;
  const status = (error as { statusCode?: unknown; code?: unknown })?.statusCode ?? (error as { code?: unknown })?.code;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 409 && status !== 429;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The request is no longer executing (a rollback superseded it): its execution stops where it is,
 * changes nothing more and reports nothing; the job ends quietly.
 */
export class Superseded extends Error {}

/** Job key of the escalation of a request whose rollout (or rollback) left its target broken. */
export const escalateJobKey = (id: number) => `deploy-escalate:${id}`;

export interface DeployRunDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  kube: Cluster;
  request: DeployRequest;
  plan: DeployPlan;
  k: KubernetesTarget;
  step: JobContext['step'];
  health: HealthCheck;
  /** Where the health check's metric gates are queried (healthCheck.prometheus). */
  prometheus?: MetricSource;
  pollIntervalMs: number;
  healthIntervalMs: number;
  rolloutTimeoutMs: number;
  healthProbeTimeoutMs: number;
  sleep(ms: number): Promise<void>;
  /** Re-renders the card with this progress line (errors are logged, never thrown). */
  render(shown: RolloutShown): Promise<void>;
}

export interface DeployRun {
  readonly request: DeployRequest;
  readonly plan: DeployPlan;
  readonly k: KubernetesTarget;
  readonly kube: Cluster;
  readonly step: JobContext['step'];
  readonly health: HealthCheck;
  readonly key: string;
  readonly logger: Logger;
  /** `kubernetes.io/change-cause` of the request's changes: names the request, requester and approvers. */
  readonly changeCause: string;
  /** A cluster change as a step; a refusal retrying cannot fix comes back as its message, anything else is thrown (retried). */
  attempt<T>(name: string, change: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; refused: string }>;
  /** Follows a rollout until it completes, fails, or is not complete `rolloutTimeoutMs` after `startedAt`. */
  follow(
    target: DeploymentTarget,
    startedAt: number,
    label?: { what?: string; rollingBack?: string },
  ): Promise<RolloutOutcome>;
  /** A health window of `windowMs` on `target`, its start and its verdict kept as steps named after `name`. */
  verify(target: DeploymentTarget, name: string, windowMs: number, what?: string): Promise<HealthResult>;
  /** The time now, kept as a step: the same after a restart. */
  mark(name: string): Promise<number>;
  /** `escalate`: the target is left broken (a rollback failed); people must act now. */
  finish(
    status: 'succeeded' | 'failed',
    reason: string | null,
    resultRevision: number | null,
    timeline?: string,
    options?: { escalate?: boolean },
  ): Promise<void>;
  rolledBack(reason: string, resultRevision: number | null, timeline: string): Promise<void>;
  /** Records a step of the rollout on the incident's timeline and re-renders the card. */
  note(action: string, timeline: string): Promise<void>;
}

export function createDeployRun(deps: DeployRunDeps): DeployRun {
  const { store, clock, request, plan, kube, step } = deps;
  const key = requestKey(request.id);
  const approvers = request.approvals.map((a) => a.by).join(', ');
  const changeCause = `firelane ${key}: ${request.kind} ${request.service} to ${plan.toImage}${plan.toRevision !== null ? ` (revision ${plan.toRevision})` : ''}; requested by ${request.requester}, approved by ${approvers}`;
  /** Throws Superseded once the request no longer executes: checked before each change and each poll. */
  const ensureExecuting = async () => {
    const now = await store.deploys.get(request.id);
    if (now?.status !== 'executing')
      throw new Superseded(`${key} is ${now?.status ?? 'gone'}${now?.reason ? `: ${now.reason}` : ''}`);
  };
  const watch = (target: DeploymentTarget, pollIntervalMs = deps.pollIntervalMs) => ({
    kube,
    target,
    clock,
    sleep: deps.sleep,
    pollIntervalMs,
    ensureExecuting,
  });
  let shown = '';
  const show = async (progress: RolloutShown) => {
    const text = JSON.stringify(progress);
    if (text === shown) return;
    shown = text;
    await deps.render(progress);
  };
  const change = (spec: Omit<RequestChange, 'actor' | 'platform'>) =>
    changeRequest(store, clock, request, { actor: FIRELANE, platform: request.platform, ...spec });
  const mark = (name: string) => step(name, async () => clock.now());

  return {
    request,
    plan,
    k: deps.k,
    kube,
    step,
    health: deps.health,
    key,
    logger: deps.logger,
    changeCause,
    mark,

    async attempt(name, fn) {
      await ensureExecuting();
      try {
        return { ok: true, value: await step(name, fn) };
      } catch (error) {
        if (!isPermanent(error)) throw error;
        return { ok: false, refused: messageOf(error) };
      }
    },

    follow(target, startedAt, label = {}) {
      return followRollout(watch(target), startedAt + deps.rolloutTimeoutMs, deps.rolloutTimeoutMs, (progress) =>
        show({ updated: progress.updated, desired: progress.desired, ...label }),
      );
    },

    async verify(target, name, windowMs, what) {
      const startedAt = await mark(`${name}-start`);
      const gates = deps.health.prometheus;
      return step(name, async () =>
        verifyHealth(
          watch(target, deps.healthIntervalMs),
          {
            startedAt,
            windowMs,
            probeTimeoutMs: deps.healthProbeTimeoutMs,
            // Recorded by another job (jobs/alert-deploys.ts), on any replica: read from the database.
            signal: () => store.deploys.healthSignal(request.id),
            ...(deps.health.url !== undefined && { url: deps.health.url }),
            ...(gates && {
              gates: { intervalMs: gates.intervalMs, check: (at: number) => checkGates(deps.prometheus, gates, at) },
            }),
          },
          (left, readings) =>
            show({
              healthTimeLeft: timeLeftText(left),
              ...(what !== undefined && { what }),
              ...(readings && { gates: readings }),
            }),
        ),
      );
    },

    async finish(status, reason, resultRevision, timeline, options = {}) {
      const what = plan.toImage;
      await store.transaction(async () => {
        const finished = await change({
          from: ['executing'],
          patch: { status, reason, finishedAt: clock.now(), resultRevision },
          action: status,
          timeline:
            timeline ??
            (status === 'succeeded'
              ? `${key} succeeded: ${request.service} runs ${what}${resultRevision !== null ? ` (revision ${resultRevision})` : ''}`
              : `${key} failed: ${reason}`),
        });
        if (finished && options.escalate)
          await store.jobs.enqueue({
            kind: ESCALATE_REQUEST,
            key: escalateJobKey(request.id),
            payload: { requestId: request.id },
          });
      });
    },

    async rolledBack(reason, resultRevision, timeline) {
      await change({
        from: ['executing'],
        patch: { status: 'rolled_back', reason, finishedAt: clock.now(), resultRevision },
        action: 'rolled_back',
        timeline,
      });
    },

    async note(action, timeline) {
      // The card shows progress from the job itself; this only records the step.
      await change({ from: ['executing'], patch: {}, action, timeline, refreshCard: false });
    },
  };
}

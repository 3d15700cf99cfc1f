// Following a Deployment after a change: until its rollout completes (or fails, or takes too long),
// then through the health window (the health URL and the metric gates, if any, the deployment's
// availability, and a failed health signal such as an alert firing for the service).
// Waits go through the caller's sleep and clock, so tests move a manual clock instead of waiting.
import { formatDuration } from '../domain/duration.js';
import type { Clock } from '../ports/clock.js';
import type { Cluster, DeploymentTarget, RolloutProgress } from '../ports/cluster.js';
import { probeHealth, type HealthResult } from './health-check.js';
import type { GateCheck } from './metric-gates.js';

export interface WatchDeps {
  kube: Cluster;
  target: DeploymentTarget;
  clock: Clock;
  sleep(ms: number): Promise<void>;
  pollIntervalMs: number;
  /** Throws when whoever follows the rollout has been told to stop (checked before every look). */
  ensureExecuting?(): Promise<void>;
}

export type RolloutOutcome = { done: true } | { done: false; reason: string };

/** Polls until the rollout is done, fails, or is still not done at `deadline` (bounded by a poll count too). */
export async function followRollout(
  deps: WatchDeps,
  deadline: number,
  timeoutMs: number,
  onProgress: (progress: RolloutProgress) => Promise<void>,
): Promise<RolloutOutcome> {
  const { kube, target, clock, sleep, pollIntervalMs } = deps;
  const maxPolls = Math.ceil(timeoutMs / Math.max(1, pollIntervalMs)) + 1;
  for (let poll = 0; ; poll++) {
    await deps.ensureExecuting?.();
    const progress = await kube.rolloutProgress(target);
    if (progress.failure) return { done: false, reason: progress.failure };
    if (progress.done) return { done: true };
    if (clock.now() >= deadline || poll >= maxPolls) {
      return {
        done: false,
        reason: `the rollout did not complete within ${formatDuration(timeoutMs)} (${progress.updated} of ${progress.desired} replicas updated)`,
      };
    }
    await onProgress(progress);
    await sleep(pollIntervalMs);
  }
}

export interface HealthWindow {
  /** When verification started (kept across restarts by the caller). */
  startedAt: number;
  windowMs: number;
  url?: string;
  /** Timeout of one probe of the URL. */
  probeTimeoutMs: number;
  /** Metric gates: checked at the first look, then every `intervalMs`, and at the last look. */
  gates?: { intervalMs: number; check(at: number): Promise<GateCheck> };
  /**
   * A failed health signal recorded from outside (an alert firing for the service), read at every
   * look: one there fails the window with its reason.
   */
  signal?(): Promise<string | undefined>;
}

/** Time left as the card shows it: whole minutes (rounded up) from a minute on, seconds below. */
export const timeLeftText = (ms: number) =>
  formatDuration(ms >= 60_000 ? Math.ceil(ms / 60_000) * 60_000 : Math.ceil(ms / 1_000) * 1_000);

/** One look: the rollout has not failed, every replica is available, and the URL (if any) answers 2xx. */
async function checkOnce(deps: WatchDeps, window: HealthWindow): Promise<HealthResult> {
  const progress = await deps.kube.rolloutProgress(deps.target);
  if (progress.failure) return { healthy: false, reason: `the deployment failed: ${progress.failure}` };
  if (progress.available < progress.desired) {
    return {
      healthy: false,
      reason: `the deployment lost availability (${progress.available} of ${progress.desired} replicas available)`,
    };
  }
  return window.url ? probeHealth(window.url, { timeoutMs: window.probeTimeoutMs }) : { healthy: true };
}

/**
 * Checks every poll interval until the window is over; the first unhealthy result ends it.
 * `show` is called with the time left (and the metric gates' last readings) before each wait.
 */
export async function verifyHealth(
  deps: WatchDeps,
  window: HealthWindow,
  show: (leftMs: number, gates?: string[]) => Promise<void>,
): Promise<HealthResult> {
  const end = window.startedAt + window.windowMs;
  const maxPolls = Math.ceil(window.windowMs / Math.max(1, deps.pollIntervalMs)) + 1;
  let gatesAt: number | undefined;
  let readings: string[] | undefined;
  for (let poll = 0; ; poll++) {
    await deps.ensureExecuting?.();
    const signalled = await window.signal?.();
    if (signalled !== undefined) return { healthy: false, reason: signalled };
    const result = await checkOnce(deps, window);
    if (!result.healthy) return result;
    const now = deps.clock.now();
    const left = end - now;
    const last = left <= 0 || poll >= maxPolls;
    if (window.gates && (last || gatesAt === undefined || now - gatesAt >= window.gates.intervalMs)) {
      gatesAt = now;
      const gates = await window.gates.check(now);
      if (!gates.healthy) return { healthy: false, reason: gates.reason };
      readings = gates.readings;
    }
    if (last) return result;
    await show(left, readings);
    await deps.sleep(Math.min(deps.pollIntervalMs, left));
  }
}

// A real deploy core for unit tests: the router (incident, deploy, rollback) over SQLite `:memory:`,
// the console chat, a worker running the jobs, an in-memory cluster, and a manual clock that the
// rollout poll's sleep moves.
import { pino } from 'pino';
import { expect } from 'vitest';
import { createConsoleChat } from '../../../src/adapters/console/console-chat.js';
import { createSqliteConsoleStore } from '../../../src/adapters/db/console-store.js';
import { openDatabase, type DbHandle } from '../../../src/adapters/db/database.js';
import { createSqliteStore, type SqliteStore } from '../../../src/adapters/db/sqlite-store.js';
import type { Platform } from '../../../src/commands/command.js';
import { deployCommands, rollbackCommands } from '../../../src/commands/deploy/index.js';
import { incidentCommands } from '../../../src/commands/incident/index.js';
import type { Card, Reply } from '../../../src/ports/reply.js';
import { createRouter, type Router, type RouterResult } from '../../../src/commands/router.js';
import { DEFAULT_FILE_CONFIG, type FileConfig } from '../../../src/config.js';
import type { ApprovalPolicy, ServiceConfig } from '../../../src/config/types.js';
import { requestKey, type DeployRequest } from '../../../src/domain/deploy-request.js';
import { createDeployJobs } from '../../../src/jobs/deploy-jobs.js';
import { createDeployEscalationJobs } from '../../../src/jobs/deploy-escalation.js';
import { createIncidentJobs } from '../../../src/jobs/incident-jobs.js';
import { createReconcileJobs, reconcileWhenBuried } from '../../../src/jobs/reconcile-deploys.js';
import { createGitHubDeployJobs } from '../../../src/jobs/github-deploys.js';
import { createWorker, type Worker } from '../../../src/jobs/worker.js';
import type { ChatPort } from '../../../src/ports/chat.js';
import { createManualClock, type ManualClock } from '../../../src/ports/clock.js';
import { createMemoryCluster, type MemoryCluster } from '../../fakes/memory-cluster.js';
import { createPrometheusSource } from '../../../src/adapters/prometheus/prometheus-source.js';
import type { MetricSource } from '../../../src/ports/metric-source.js';

export const T0 = Date.parse('2026-03-01T10:00:00Z');
export const IMAGE = 'ghcr.io/acme/payments';
export const PAYMENTS = { namespace: 'payments', deployment: 'payments' };
export const LEAD1 = 'U0LEAD1';
export const LEAD2 = 'U0LEAD2';
export const ROOM = 'deploys';

export const paymentsService: ServiceConfig = {
  productionBranch: 'production',
  developBranch: 'main',
  hotfixFrom: 'branch',
  kubernetes: {
    namespace: 'payments',
    deployment: 'payments',
    container: 'app',
    image: IMAGE,
    strategy: 'rolling',
    canarySteps: [10, 50, 100],
  },
  healthCheck: { windowMs: 5 * 60_000 },
};

export function deployConfig(approvals: Partial<ApprovalPolicy> = {}, extra: Partial<FileConfig> = {}): FileConfig {
  return {
    ...DEFAULT_FILE_CONFIG,
    services: { payments: paymentsService, ...extra.services },
    approvals: {
      // The fixture acts through the console, where U0LEAD1 is a console name (bare, it would mean the Slack user).
      production: {
        approvers: [`console:${LEAD1}`, `console:${LEAD2}`],
        required: 1,
        allowSelfApproval: false,
        expiresAfterMs: 30 * 60_000,
        ...approvals,
      },
      ...extra.approvals,
    },
  };
}

export interface RunOptions {
  user?: string;
  platform?: Platform;
  roomId?: string;
  idempotencyKey?: string;
}

export interface DeployFixture {
  clock: ManualClock;
  handle: DbHandle;
  store: SqliteStore;
  router: Router;
  cluster: MemoryCluster;
  worker: Worker;
  /** Every card render sent to chat.update, in order. */
  updates: Reply[];
  run(text: string, options?: RunOptions): Promise<RouterResult>;
  drain(): Promise<void>;
  request(id?: number): Promise<DeployRequest>;
  /** The request's card as it is in its room now. */
  card(id?: number): Promise<Card>;
  /** Audit rows, oldest first. */
  audit(): Promise<Array<{ action: string; actor: string; incidentId: number | null; before: any; after: any }>>;
  /** Rows in a table (through the store's gate, so never inside another caller's open transaction). */
  count(table: string): Promise<number>;
  close(): void;
}

export interface DeployFixtureOptions {
  config?: FileConfig;
  rolloutPolls?: number;
  withCluster?: boolean;
  /** Runs inside a rollout's wait, before the clock moves: what people do while a deploy runs. */
  onSleep?: (ms: number) => Promise<void>;
  /** Where metric gates are queried (default: the real adapter, as the app builds it). */
  prometheus?: MetricSource;
}

export function createDeployFixture(options: DeployFixtureOptions = {}): DeployFixture {
  const config = options.config ?? deployConfig();
  const clock = createManualClock(T0);
  const handle = openDatabase(':memory:');
  // As in the app: a job enqueued while others run is looked at at once (a command typed mid-rollout).
  let worker: Worker | undefined;
  const store = createSqliteStore(handle, clock, { onEnqueue: () => worker?.wake() });
  const cluster = createMemoryCluster({ rolloutPolls: options.rolloutPolls ?? 2 });
  // Revisions 1 (v2.0.0) and 2 (v2.1.0, running).
  cluster.addDeployment({
    ...PAYMENTS,
    name: 'payments',
    images: { app: `${IMAGE}:v2.1.0` },
    history: [{ app: `${IMAGE}:v2.0.0` }],
    replicas: 3,
  });
  const withCluster = options.withCluster ?? true;
  const router = createRouter(
    { store, clock, config, ...(withCluster && { cluster }) },
    [incidentCommands, deployCommands, rollbackCommands],
    pino({ level: 'silent' }),
  );
  const consoleChat = createConsoleChat(createSqliteConsoleStore(handle, store.gate), clock);
  const updates: Reply[] = [];
  const chat: ChatPort = {
    ...consoleChat.chat,
    async update(roomId, messageId, message) {
      updates.push(message);
      return consoleChat.chat.update(roomId, messageId, message);
    },
  };
  const logger = pino({ level: 'silent' });
  const deps = { store, chats: { console: chat }, config, clock, logger };
  worker = createWorker({
    store: store.jobs,
    handlers: {
      ...createIncidentJobs(deps),
      ...createDeployJobs({
        ...deps,
        ...(withCluster && { cluster }),
        pollIntervalMs: 1_000,
        healthIntervalMs: 1_000,
        prometheus: options.prometheus ?? createPrometheusSource({ timeoutMs: 2_000 }),
        sleep: async (ms) => {
          await options.onSleep?.(ms);
          clock.advance(ms);
        },
      }),
      ...createDeployEscalationJobs({ ...deps, ...(withCluster && { cluster }) }),
      ...createReconcileJobs({ ...deps, ...(withCluster && { cluster }) }),
      ...createGitHubDeployJobs(deps), // without GitHub: each status job ends at once
    },
    onBuried: reconcileWhenBuried(store),
    logger,
    now: clock.now,
    baseDelayMs: 1,
    maxDelayMs: 1,
  });
  const request = async (id = 1) => {
    const found = await store.deploys.get(id);
    if (!found) throw new Error(`${requestKey(id)} is not stored`);
    return found;
  };
  return {
    clock,
    handle,
    store,
    router,
    cluster,
    worker,
    updates,
    run: (text, o = {}) =>
      router.handle({
        text,
        actor: { id: o.user ?? 'alice' },
        platform: o.platform ?? 'console',
        roomId: o.roomId ?? ROOM,
        ...(o.idempotencyKey !== undefined && { idempotencyKey: o.idempotencyKey }),
      }),
    drain: () => worker.drain(),
    request,
    async card(id = 1) {
      const r = await request(id);
      const message = (await consoleChat.messages(r.roomId)).find((m) => String(m.id) === r.cardRef);
      if (!message?.body.card) throw new Error(`${requestKey(id)} has no card`);
      return message.body.card;
    },
    audit: async () =>
      [...(await store.audit.rows())].map((r) => ({
        action: r.action,
        actor: r.actor,
        incidentId: r.incidentId,
        before: JSON.parse(r.before ?? 'null'),
        after: JSON.parse(r.after ?? 'null'),
      })),
    count: (table) =>
      store.gate.run(() => (handle.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n),
    close: () => handle.close(),
  };
}

export const field = (card: Card, label: string) => card.fields.find((f) => f.label === label)?.value;
export const buttonLabels = (card: Card) => (card.buttons ?? []).map((b) => b.label);

/** Deploy v2.1.1 linked to an open incident (sev1 "Payments down"), approve it as LEAD1, and run the jobs to the end. */
export async function deployAndApprove(fx: DeployFixture): Promise<void> {
  await fx.run('/incident sev1 Payments down');
  expect((await fx.run('/deploy payments v2.1.1')).outcome).toBe('ok');
  await fx.drain();
  expect((await fx.run('/deploy approve REQ-1', { user: LEAD1 })).outcome).toBe('ok');
  await fx.drain();
}

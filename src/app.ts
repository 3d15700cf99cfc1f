// Builds a whole firelane from a Config: database, store, router, jobs, platform adapters, HTTP.
// main.ts, the CLI and the integration tests all start firelane through this one function.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { BUILT_IN_SOURCE, type Config, type FileConfig } from './config.js';
import { createSimulatedCluster, type SimulatedCluster } from './adapters/sim/simulated-cluster.js';
import { withLocalDemo } from './local-demo.js';
import type { DbHandle } from './adapters/db/database.js';
import { openStorage, type Storage } from './storage.js';
import type { Outbox, Store } from './ports/store.js';
import type { CommittedEntry } from './adapters/db/audit-store.js';
import { cleanAnswers } from './adapters/clean-answers.js';
import { createConsoleChat, type ConsoleChat } from './adapters/console/console-chat.js';
import { createConsoleWeb, type ConsoleWeb } from './adapters/console/console-web.js';
import { createStatusRoutes } from './adapters/http/status-page.js';
import { createHttpServer, type RouteHandler } from './adapters/http/server.js';
import { createSlackAdapter, SLACK_PATH, type SlackAdapterOptions } from './adapters/slack/slack-adapter.js';
import { COMMAND_FAMILIES } from './commands/families.js';
import { createHotfixJobs } from './jobs/hotfix-jobs.js';
import { createAlertJobs } from './jobs/alert-jobs.js';
import { createAlertDeployJobs } from './jobs/alert-deploys.js';
import { createAlertRoutes } from './adapters/alerts/alert-webhooks.js';
import type { TeamsAppOptions } from './adapters/teams/teams-app.js';
import { createTeamsAdapter, TEAMS_PATH } from './adapters/teams/teams-adapter.js';
import { createGitHubDeployJobs } from './jobs/github-deploys.js';
import type { GitHost } from './ports/git-host.js';
import { pinMessage } from './commands/incident/pin-message.js';
import { createRouter, type Router } from './commands/router.js';
import { createIncidentJobs } from './jobs/incident-jobs.js';
import { createPlaybookJobs } from './jobs/playbook-jobs.js';
import { createReminderJobs } from './jobs/reminder-jobs.js';
import { startReminderTicker } from './jobs/reminder-tick.js';
import { createPostmortemJobs } from './jobs/postmortem-jobs.js';
import { createDeployJobs, type DeployJobOptions } from './jobs/deploy-jobs.js';
import { createDeployEscalationJobs } from './jobs/deploy-escalation.js';
import { createPrometheusSource } from './adapters/prometheus/prometheus-source.js';
import { findKubeConfig, type KubeConfigSources } from './adapters/k8s/kube-config-sources.js';
import { environmentTarget, targetEnvironments } from './config/environments.js';
import type { KubernetesTarget } from './config/types.js';
import { createReconcileJobs, enqueueReconcile, reconcileWhenBuried } from './jobs/reconcile-deploys.js';
import type { Cluster } from './ports/cluster.js';
import { createWorker, type Worker, type WorkerOptions } from './jobs/worker.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createMetricsObserver } from './metrics-observer.js';
import type { ChatPort } from './ports/chat.js';
import { systemClock, type Clock } from './ports/clock.js';
import { SEVERITIES } from './domain/severity.js';
import type { JobHandlers } from './ports/jobs.js';
import { IDENTITY_PLATFORMS, parseEntry } from './domain/identity.js';

/** A job's lease on PostgreSQL: renewed every third of it, orphans swept every half. */
const POSTGRES_LEASE_MS = 9_000;

export interface FirelaneOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Overrides for Slack's WebClient (tests: no retries). */
  slackClientOptions?: SlackAdapterOptions['clientOptions'];
  worker?: Partial<Omit<WorkerOptions, 'store' | 'handlers' | 'logger'>>;
  /** false: do not register default process metrics (tests create many instances). */
  defaultMetrics?: boolean;
  /** false: no node-cron reminder tick (tests that move a manual clock tick by hand). */
  reminderTicker?: boolean;
  /** Kubernetes (tests: an in-memory cluster). Without it /deploy and /rollback refuse. */
  cluster?: Cluster;
  /** How deploy jobs follow a rollout (tests: short polls). */
  deploy?: Partial<DeployJobOptions>;
  /** GitHub (tests: the adapter with short waits). Default: from GITHUB_TOKEN and GITHUB_API_URL. */
  git?: GitHost;
  /** Teams overrides (tests: the Bot Framework identity on loopback, tokens without a login, the fake Bot Connector's URL). */
  teams?: Pick<TeamsAppOptions, 'identity' | 'tokenSource' | 'serviceUrls'>;
}

export interface Firelane {
  config: Config;
  /** Where the state is: SQLite or PostgreSQL. */
  storage: Storage;
  /** The SQLite file's handle (SQLite only). */
  db?: DbHandle;
  store: Store & { jobs: Outbox };
  router: Router;
  worker: Worker;
  metrics: Metrics;
  consoleChat: ConsoleChat;
  /** The built-in simulated cluster, when deploys go to it (local mode without Kubernetes). */
  simulated?: SimulatedCluster;
  /** Why there is no cluster, when there is none (deploys are refused with it). */
  clusterProblem?: string;
  server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops taking requests, lets running jobs finish (or leaves them to be requeued), closes the database. */
  close(graceMs?: number): Promise<void>;
}

// @kubernetes/client-node, the Teams SDK (botbuilder when measured) and octokit are imported only when used: together they were two
// thirds of the start-up time (1.1 s, 0.75 s and 0.06 s to load here) and 145 MB of memory
// (bench/RESULTS.md, section 6).
const loadKube = () => import('./adapters/k8s/kube-cluster.js');

/** Every Kubernetes target of the config (each service's environments). */
const allTargets = (file: FileConfig): KubernetesTarget[] =>
  Object.values(file.services).flatMap((service) =>
    targetEnvironments(service).map((environment) => environmentTarget(service, environment)!.kubernetes),
  );

/**
 * The real cluster when a service deploys to Kubernetes and a kubeconfig (or in-cluster account) is
 * there; otherwise why not, which /deploy and /rollback then answer with.
 */
async function connectCluster(
  config: Config,
  sources: KubeConfigSources,
  metrics: Metrics,
): Promise<{ cluster: Cluster } | { problem: string }> {
  if (allTargets(config.file).length === 0) return { problem: 'no service has a kubernetes target in firelane.yaml' };
  const { createKubeCluster, kubeConfigProblem } = await loadKube();
  const problem = kubeConfigProblem(sources);
  if (problem) return { problem };
  return {
    cluster: createKubeCluster({
      ...sources,
      onUpstreamError: (status) => metrics.upstreamErrors.inc({ service: 'kubernetes', status }),
    }),
  };
}

/** Who the console's user switcher offers: the configured approvers and responders that are console names, and two defaults. */
function consoleUsers(file: FileConfig): string[] {
  const entries = [
    ...Object.values(file.approvals).flatMap((a) => a.approvers),
    ...Object.values(file.incidents.severities).flatMap((s) => s.responders),
  ];
  // Only console identities named as such: a typed name is never a person or a Slack or Teams id.
  const named = entries.flatMap((entry) => {
    const parsed = parseEntry(entry, file.people);
    return 'identity' in parsed && parsed.identity.platform === 'console' ? [parsed.identity.id] : [];
  });
  return [...new Set(['alice', 'bob', ...named])];
}

/**
 * Entries that can match nobody with this environment: console names (or people with only a console
 * name) while no console is served, Slack or Teams ids while that platform is off. Named at start-up.
 */
export function unmatchableEntries(file: FileConfig, env: Config['env']): string[] {
  // Console names count in local mode (typed) or through sign-in; with sign-in any person can match (by chat id or e-mail).
  const signIn = env.consoleEnabled && env.oidc !== undefined;
  const on = {
    slack: env.slack !== undefined,
    teams: env.teams !== undefined || env.localMode || env.teamsEmulator === true,
    console: env.consoleEnabled && (env.localMode || signIn),
  } as const;
  const lists: Array<[string, readonly string[]]> = [
    ...Object.entries(file.approvals).map(([environment, a]): [string, readonly string[]] => [
      `approvals.${environment}.approvers`,
      a.approvers,
    ]),
    ...Object.entries(file.incidents.severities).map(([sev, s]): [string, readonly string[]] => [
      `incidents.severities.${sev}.responders`,
      s.responders,
    ]),
  ];
  return lists.flatMap(([path, entries]) =>
    entries.flatMap((entry) => {
      const parsed = parseEntry(entry, file.people);
      const platforms =
        'person' in parsed
          ? IDENTITY_PLATFORMS.filter((p) => file.people[parsed.person]![p])
          : 'identity' in parsed
            ? [parsed.identity.platform]
            : [];
      if (platforms.some((p) => on[p]) || ('person' in parsed && signIn)) return [];
      const why = platforms.length ? `${platforms.join(' or ')} is off` : 'only an e-mail, and console sign-in is off';
      return [`${path}: "${entry}" matches nobody here (${why})`];
    }),
  );
}

export async function createFirelane(options: FirelaneOptions): Promise<Firelane> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const env = options.config.env;
  // Local mode (no chat or sign-in credentials) with no Kubernetes configuration at all deploys to the
  // built-in simulated cluster; with no firelane.yaml either (a fresh clone), demo services and
  // approvers make every command work. Anywhere else, a missing cluster is a refusal with its reason.
  const kubeSources: KubeConfigSources = {
    ...(env.kubeconfig && { kubeconfig: env.kubeconfig }),
    ...(env.home && { home: env.home }),
    ...(env.inCluster && { inCluster: true }),
  };
  const simulate = !options.cluster && env.localMode && !findKubeConfig(kubeSources);
  const config: Config =
    simulate && options.config.source === BUILT_IN_SOURCE
      ? { ...options.config, file: withLocalDemo(options.config.file) }
      : options.config;
  const simulated = simulate ? createSimulatedCluster({ clock }) : undefined;
  for (const target of simulated ? allTargets(config.file) : []) simulated!.seedService(target);
  for (const line of unmatchableEntries(config.file, env)) logger.warn(line);
  let ready = true;
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });

  let worker: Worker | undefined;
  let observe: ((entry: CommittedEntry) => void) | undefined;
  const storage = await openStorage(
    env,
    clock,
    { onEnqueue: () => worker?.wake(), onCommitted: (entry) => observe?.(entry) },
    logger,
  );
  const { store } = storage;
  const db = storage.sqlite;
  observe = createMetricsObserver(metrics, store, logger);
  // The web console (when on) is told about every change in a console room, for its live updates: this
  // replica's, and on PostgreSQL the other replicas' (which hear of this one's).
  let notifyConsole: (roomId: string | undefined) => void = () => {};
  const consoleChat = createConsoleChat(storage.console, clock, {
    onChange: (roomId) => {
      notifyConsole(roomId);
      storage.roomChanges?.changed(roomId);
    },
  });
  storage.roomChanges?.onChange((roomId) => notifyConsole(roomId));
  const chats: Record<string, ChatPort> = { console: consoleChat.chat };
  const connected = (options.cluster ?? simulated) ? undefined : await connectCluster(config, kubeSources, metrics);
  if (connected && 'problem' in connected && allTargets(config.file).length > 0)
    logger.warn(`kubernetes: off: ${connected.problem}; /deploy and /rollback will say so`);
  // What a cluster, GitHub and the chat platforms answer is text from outside too (images, pod
  // messages, check names, messages people wrote): cleaned as it comes in, like every request.
  const foundCluster =
    options.cluster ?? simulated ?? (connected && 'cluster' in connected ? connected.cluster : undefined);
  const cluster = foundCluster && cleanAnswers(foundCluster);
  const clusterProblem = connected && 'problem' in connected ? connected.problem : undefined;
  const foundGit =
    options.git ??
    (env.github &&
      (await import('./adapters/github/github-host.js')).createGitHubHost({
        token: env.github.token,
        ...(env.github.apiUrl && { baseUrl: env.github.apiUrl }),
        logger: logger.child({ component: 'github' }),
        onUpstreamError: (status) => metrics.upstreamErrors.inc({ service: 'github', status }),
      }));
  const git = foundGit && cleanAnswers(foundGit);
  const commandDeps = {
    store,
    clock,
    config: config.file,
    ...(cluster && { cluster }),
    ...(clusterProblem && { clusterProblem }),
    ...(simulated && { clusterSimulated: true }),
    ...(git && { git }),
  };
  const router = createRouter(commandDeps, [...COMMAND_FAMILIES], logger);
  const routes: Record<string, RouteHandler> = {};
  // Chat requests being acknowledged right now: jobs yield to them (WorkerOptions.busy), and the
  // held-back jobs start as soon as none is left.
  let acknowledging = 0;
  const acknowledged =
    (handler: RouteHandler): RouteHandler =>
    (req, res) => {
      acknowledging++;
      storage.busy();
      res.once('close', () => {
        if (--acknowledging === 0) worker?.wakeHeldBack();
      });
      return handler(req, res);
    };
  // Alert webhooks (/alerts/*): mounted only with FIRELANE_ALERTS_TOKEN or _HMAC_SECRET, else 404.
  Object.assign(routes, createAlertRoutes({ store, logger, clock, auth: env.alerts }));
  // Read-only status page (HTML and JSON); see adapters/http/status-page.ts.
  Object.assign(routes, createStatusRoutes({ store, clock, showTitles: config.file.statusPage.showTitles }));

  if (env.slack) {
    const { announceChannel, escalationChannel } = config.file.incidents;
    const slack = await createSlackAdapter({
      ...env.slack,
      ...(options.slackClientOptions && { clientOptions: options.slackClientOptions }),
      ...(announceChannel && { announceChannel }),
      ...(escalationChannel && { escalationChannel }),
      router,
      logger,
      metrics,
      onPin: (input) => pinMessage(commandDeps, input),
    });
    chats.slack = cleanAnswers(slack.chat);
    routes[`POST ${SLACK_PATH}`] = acknowledged(slack.handle);
  }

  let consoleWeb: ConsoleWeb | undefined;
  if (env.consoleEnabled) {
    consoleWeb = createConsoleWeb({
      router,
      console: consoleChat,
      logger: logger.child({ component: 'console' }),
      users: consoleUsers(config.file),
      ...(simulated && { simulated }),
      local: env.localMode,
      publicUrl: new URL(env.publicUrl),
      ...(env.oidc && { signIn: { ...env.oidc, people: config.file.people, sessions: storage.sessions } }),
      now: () => clock.now(),
    });
    notifyConsole = consoleWeb.notify;
    Object.assign(routes, consoleWeb.routes);
  }

  const teamsChannels = config.file.incidents.teams ?? {};
  const teams = await createTeamsAdapter({
    ...(env.teams && { app: env.teams }),
    localMode: env.localMode,
    emulator: env.teamsEmulator === true,
    ...(options.teams && { overrides: options.teams }),
    ...(teamsChannels.announceChannel && { announceChannel: teamsChannels.announceChannel }),
    ...(teamsChannels.escalationChannel && { escalationChannel: teamsChannels.escalationChannel }),
    router,
    directory: storage.teams,
    logger: logger.child({ component: 'teams' }),
    metrics,
  });
  chats.teams = cleanAnswers(teams.chat);
  if (teams.handle) routes[`POST ${TEAMS_PATH}`] = acknowledged(teams.handle);

  const jobDeps = { store, chats, config: config.file, clock, logger };
  const prometheus = createPrometheusSource({
    ...(env.prometheus && { token: env.prometheus.token }),
    ...(options.deploy?.healthProbeTimeoutMs !== undefined && { timeoutMs: options.deploy.healthProbeTimeoutMs }),
    onUpstreamError: (status) => metrics.upstreamErrors.inc({ service: 'prometheus', status }),
  });
  let ticker: { stop(): void } | undefined;
  // Every kind of the catalogue (ports/jobs.ts) has its handler here, or this does not compile.
  const handlers: JobHandlers = {
    ...createIncidentJobs(jobDeps),
    ...createPlaybookJobs({ store, chats }),
    ...createReminderJobs(jobDeps),
    ...createPostmortemJobs({ store, chats }),
    ...createDeployJobs({
      ...jobDeps,
      ...options.deploy,
      ...(cluster && { cluster }),
      ...(git && { git }),
      prometheus,
    }),
    ...createDeployEscalationJobs({ ...jobDeps, ...(cluster && { cluster }) }),
    ...createGitHubDeployJobs({ ...jobDeps, ...(git && { git }) }),
    ...createReconcileJobs({ ...jobDeps, ...(cluster && { cluster }) }),
    ...createHotfixJobs({ ...jobDeps, ...(git && { git }) }),
    ...createAlertJobs({ ...jobDeps, platform: env.slack ? 'slack' : env.teams ? 'teams' : 'console' }),
    ...createAlertDeployJobs({ ...jobDeps, platform: env.slack ? 'slack' : env.teams ? 'teams' : 'console' }),
  };
  worker = createWorker({
    store: store.jobs,
    handlers,
    logger,
    metrics,
    now: () => clock.now(),
    onBuried: reconcileWhenBuried(store),
    busy: () => acknowledging > 0,
    // Replicas: a job whose replica died (its lease no longer renewed) is taken over by another one
    // within the lease, half a lease (the sweep) and a poll: under 15 s. One process on SQLite finds its own dead jobs by pid at start.
    ...(storage.kind === 'postgres' && { leaseMs: POSTGRES_LEASE_MS }),
    ...options.worker,
  });

  const server = createHttpServer({
    routes,
    // Not ready while stopping, or while the database does not answer (PostgreSQL unreachable).
    isReady: async () => ready && (await storage.ready()),
    registry: metrics.registry,
    onError: (error) => logger.error({ err: error }, 'HTTP handler failed'),
    async beforeScrape() {
      const depth = await store.jobs.depth();
      metrics.jobQueueDepth.set({ status: 'queued' }, depth.queued);
      metrics.jobQueueDepth.set({ status: 'running' }, depth.running);
      metrics.jobQueueDepth.set({ status: 'dead' }, depth.dead);
      metrics.jobOldestAge.set(depth.oldestDueAgeMs / 1000);
      const open = await store.incidents.countOpenBySeverity();
      for (const severity of SEVERITIES) metrics.openIncidents.set({ severity }, open[severity] ?? 0);
    },
  });

  return {
    config,
    storage,
    ...(db && { db }),
    store,
    router,
    worker,
    metrics,
    consoleChat,
    ...(simulated && { simulated }),
    ...(clusterProblem && { clusterProblem }),
    server,
    listen(port, host) {
      return new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }).then(async () => {
        // A deploy left in progress by the last run is reconciled from the cluster (a job: it runs after
        // the worker has requeued orphaned jobs, and retries while the cluster cannot be read).
        await enqueueReconcile(store, worker!.id);
        worker!.start();
        if (options.reminderTicker !== false)
          ticker ??= startReminderTicker({
            store,
            config: config.file,
            clock,
            logger,
            onTick: (result) => {
              // A tick that wrote reminders is a burst of writes too: checkpoints go to the thread.
              storage.busy();
              metrics.remindersTotal.inc(result.reminders);
              metrics.escalationsTotal.inc(result.escalations);
              worker!.wake();
            },
          });
        return server.address() as AddressInfo;
      });
    },
    async close(graceMs = 10_000) {
      ready = false;
      ticker?.stop();
      consoleWeb?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      await worker!.stop(graceMs);
      // A chat request still being answered finishes first (its reply saved with its receipt):
      // cutting it off would leave Slack's retry, on another replica, without the first answer.
      while (acknowledging > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      await closed;
      await storage.close();
    },
  };
}

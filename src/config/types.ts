// The shapes a validated configuration takes, and the error every config problem becomes.
import type { People } from '../domain/identity.js';
import type { Severity } from '../domain/severity.js';
import type { AlertRule } from '../domain/alert.js';

export type { AlertRule };

export interface SeverityPolicy {
  reminderEveryMs: number;
  escalateAfterMissed: number;
  responders: string[];
}

export const STRATEGIES = ['rolling', 'blue-green', 'canary'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface KubernetesTarget {
  context?: string;
  namespace: string;
  deployment: string;
  container: string;
  image: string;
  strategy: Strategy;
  service?: string;
  canarySteps: number[];
  canaryIntervalMs?: number;
}

/** What an empty query result (no series) means for a metric gate. */
export const NO_DATA_POLICIES = ['fail', 'ignore'] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

/** One metric gate: an instant PromQL query whose value must stay within `min` and/or `max`. */
export interface MetricGate {
  name: string;
  query: string;
  max?: number;
  min?: number;
}

/** Metric gates checked against a Prometheus-compatible API through a deploy's health window. */
export interface PrometheusGates {
  /** Base URL of the API (no trailing slash); queries go to `<url>/api/v1/query`. */
  url: string;
  intervalMs: number;
  onNoData: NoDataPolicy;
  queries: MetricGate[];
}

export interface HealthCheck {
  url?: string;
  windowMs: number;
  prometheus?: PrometheusGates;
}

/** Where one environment of a service deploys, and how its health is judged afterwards. */
export interface EnvironmentTarget {
  kubernetes: KubernetesTarget;
  healthCheck: HealthCheck;
}

export interface ServiceConfig {
  repo?: string;
  productionBranch: string;
  developBranch: string;
  /** Where `/hotfix create` branches from without --from: the production branch, or the newest semver tag. */
  hotfixFrom: 'branch' | 'latest-tag';
  /** The `production` environment's target. */
  kubernetes?: KubernetesTarget;
  healthCheck: HealthCheck;
  /** Other environments, each already merged over `kubernetes` and `healthCheck`. */
  environments?: Record<string, EnvironmentTarget>;
}

export interface ApprovalPolicy {
  approvers: string[];
  required: number;
  allowSelfApproval: boolean;
  expiresAfterMs: number;
}

export interface FileConfig {
  incidents: {
    announceChannel?: string;
    escalationChannel?: string;
    /** Teams conversation ids for the same purposes (Slack uses the two above). */
    teams?: { announceChannel?: string; escalationChannel?: string };
    channelPrefix: string;
    severities: Record<Severity, SeverityPolicy>;
    playbooks: Record<Severity, string[]>;
  };
  services: Record<string, ServiceConfig>;
  approvals: Record<string, ApprovalPolicy>;
  /** One person, several identities (`people.<key>`); approver and responder entries may name them. */
  people: People;
  /** What the status page shows (it needs no sign-in). */
  statusPage: { showTitles: boolean };
  /** What /alerts/* do with alerts (`alerts:`). */
  alerts: AlertsConfig;
}

export interface AlertsConfig {
  triageChannel?: string;
  /** An alert for a service joins an open incident that had an alert for that service this recently. */
  attachWindowMs?: number;
  /** An alert for a service deployed this recently offers that deploy's rollback (jobs/alert-deploys.ts); unset: off. */
  deployWindowMs?: number;
  /** An incident declared from an alert and never touched by a person resolves when all its alert groups resolve. */
  autoResolve: boolean;
  rules: AlertRule[];
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const TEAMS_APP_TYPES = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'] as const;
export type TeamsAppType = (typeof TEAMS_APP_TYPES)[number];

export interface EnvConfig {
  port: number;
  host: string;
  /** Absolute path (or ':memory:'). */
  databasePath: string;
  /** PostgreSQL instead of the SQLite file (DATABASE_URL): for several replicas. */
  databaseUrl?: string;
  /** Absolute path of the config file in use; undefined with built-in defaults. */
  configPath?: string;
  logLevel: LogLevel;
  slack?: { botToken: string; signingSecret: string; apiUrl?: string };
  /**
   * undefined when MICROSOFT_APP_ID is unset: then /api/messages accepts unauthenticated
   * (emulator) traffic from loopback only.
   */
  teams?: { appId: string; appPassword?: string; tenantId?: string; appType?: TeamsAppType };
  /**
   * FIRELANE_TEAMS_EMULATOR=1: with no app id, /api/messages takes unauthenticated (emulator) traffic
   * from loopback even outside local mode. Development only.
   */
  teamsEmulator?: true;
  /** apiUrl has no trailing slash. */
  github?: { token: string; apiUrl?: string };
  /** FIRELANE_PROMETHEUS_TOKEN: the bearer token metric gates send to their Prometheus API. */
  prometheus?: { token: string };
  /** FIRELANE_ALERTS_TOKEN and FIRELANE_ALERTS_HMAC_SECRET: /alerts/* answer 404 without both. */
  alerts?: { token?: string; hmacSecret?: string };
  kubeconfig?: string;
  /** HOME, where ~/.kube/config is looked for. */
  home?: string;
  /** Running in a Kubernetes pod (KUBERNETES_SERVICE_HOST and _PORT set). */
  inCluster?: boolean;
  /** FIRELANE_PUBLIC_URL (no trailing slash), default http://HOST:PORT: where people reach firelane (the sign-in redirect). */
  publicUrl: string;
  /** Console sign-in with OpenID Connect (FIRELANE_OIDC_*): all three, or none. */
  oidc?: { issuer: string; clientId: string; clientSecret: string };
  /** FIRELANE_CONSOLE=1, or no Slack and no Teams credentials */
  consoleEnabled: boolean;
  /** no Slack, Teams or sign-in (OIDC) credentials (then HOST defaults to 127.0.0.1, and the console trusts a typed name) */
  localMode: boolean;
}

export interface Config {
  env: EnvConfig;
  file: FileConfig;
  /** 'built-in defaults' or the file path */
  source: string;
}

/** A start-up configuration problem; the message is always a single line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
    this.name = 'ConfigError';
  }
}

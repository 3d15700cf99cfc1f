// The only module that reads environment variables and the YAML config file.
// Everything is validated once at start-up; a problem becomes one ConfigError line that names
// the variable (or the file and key path) and what is wrong, and never echoes a secret.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './domain/duration.js';
import { SEVERITIES, type Severity } from './domain/severity.js';

// ---------------------------------------------------------------------------------------------
// Types

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

export interface ServiceConfig {
  repo?: string;
  productionBranch: string;
  developBranch: string;
  kubernetes?: KubernetesTarget;
  healthCheck: { url?: string; windowMs: number };
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
    channelPrefix: string;
    severities: Record<Severity, SeverityPolicy>;
    playbooks: Record<Severity, string[]>;
  };
  services: Record<string, ServiceConfig>;
  approvals: Record<string, ApprovalPolicy>;
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
  /** Absolute path of the config file in use; undefined with built-in defaults. */
  configPath?: string;
  logLevel: LogLevel;
  slack?: { botToken: string; signingSecret: string; apiUrl?: string };
  /**
   * undefined when MICROSOFT_APP_ID is unset: then /api/messages accepts unauthenticated
   * (emulator) traffic from loopback only.
   */
  teams?: { appId: string; appPassword?: string; tenantId?: string; appType?: TeamsAppType };
  /** apiUrl has no trailing slash. */
  github?: { token: string; apiUrl?: string };
  kubeconfig?: string;
  /** FIRELANE_CONSOLE=1, or no Slack and no Teams credentials */
  consoleEnabled: boolean;
  /** no Slack and no Teams credentials (then HOST defaults to 127.0.0.1) */
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

// ---------------------------------------------------------------------------------------------
// Defaults

const MINUTE = 60_000;

export const DEFAULT_SEVERITY_POLICIES: Readonly<Record<Severity, Readonly<SeverityPolicy>>> = {
  sev0: { reminderEveryMs: 10 * MINUTE, escalateAfterMissed: 1, responders: [] },
  sev1: { reminderEveryMs: 15 * MINUTE, escalateAfterMissed: 2, responders: [] },
  sev2: { reminderEveryMs: 30 * MINUTE, escalateAfterMissed: 3, responders: [] },
  sev3: { reminderEveryMs: 60 * MINUTE, escalateAfterMissed: 0, responders: [] },
};

/** Classic SEV playbooks: immediate actions, investigation, mitigation, recovery. */
export const DEFAULT_PLAYBOOKS: Readonly<Record<Severity, readonly string[]>> = {
  sev0: [
    'Assign an incident commander',
    'Assign a communications lead',
    'Notify executives and customer support',
    'Post a first status update',
    'Update the status page',
    'Page the backup on-call and the owning team',
    'Check recent deploys and config changes',
    'Decide: hotfix, rollback or failover',
    'Verify the fix in staging',
    'Confirm recovery on dashboards',
    'Schedule the postmortem',
  ],
  sev1: [
    'Assign an incident commander',
    'Post a first status update',
    'Update the status page',
    'Page the backup on-call',
    'Check recent deploys',
    'Decide: hotfix or rollback',
    'Verify the fix in staging',
    'Confirm recovery on dashboards',
  ],
  sev2: [
    'Assign an incident commander',
    'Post a first status update',
    'Check recent deploys',
    'Decide: hotfix or rollback',
    'Confirm recovery on dashboards',
  ],
  sev3: ['Post a first status update', 'Check recent deploys', 'Confirm the fix'],
};

const DEFAULT_CHANNEL_PREFIX = 'inc';
const DEFAULT_PRODUCTION_BRANCH = 'production';
const DEFAULT_DEVELOP_BRANCH = 'main';
const DEFAULT_CANARY_STEPS = [10, 50, 100] as const;
const DEFAULT_HEALTH_WINDOW_MS = 5 * MINUTE;
const DEFAULT_APPROVAL_EXPIRY_MS = 30 * MINUTE;
const DEFAULT_APPROVAL_ENVIRONMENT = 'production';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function defaultSeverities(): Record<Severity, SeverityPolicy> {
  const out = {} as Record<Severity, SeverityPolicy>;
  for (const sev of SEVERITIES) {
    const policy = DEFAULT_SEVERITY_POLICIES[sev];
    out[sev] = { ...policy, responders: [...policy.responders] };
  }
  return out;
}

function defaultPlaybooks(): Record<Severity, string[]> {
  const out = {} as Record<Severity, string[]>;
  for (const sev of SEVERITIES) out[sev] = [...DEFAULT_PLAYBOOKS[sev]];
  return out;
}

function defaultApprovals(): Record<string, ApprovalPolicy> {
  return {
    [DEFAULT_APPROVAL_ENVIRONMENT]: {
      approvers: [],
      required: 1,
      allowSelfApproval: false,
      expiresAfterMs: DEFAULT_APPROVAL_EXPIRY_MS,
    },
  };
}

/** Built-in defaults (deeply frozen; loadConfig hands out a mutable copy). */
export const DEFAULT_FILE_CONFIG: FileConfig = deepFreeze({
  incidents: {
    channelPrefix: DEFAULT_CHANNEL_PREFIX,
    severities: defaultSeverities(),
    playbooks: defaultPlaybooks(),
  },
  services: {},
  approvals: defaultApprovals(),
});

// ---------------------------------------------------------------------------------------------
// Value helpers (shared by file and env validation)

/** How a value is shown in a message: strings quoted (and shortened), others as YAML would. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CHANNEL_PREFIX = /^[a-z0-9][a-z0-9-_]{0,19}$/;
const GITHUB_REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;

function isK8sLabel(text: string, pattern: RegExp = DNS1123_LABEL): boolean {
  return text.length <= 63 && pattern.test(text);
}

/** A git branch name as `git check-ref-format --branch` would roughly accept it. */
function isBranchName(text: string): boolean {
  if (text.length === 0 || text.length > 250) return false;
  if (/[\s~^:?*[\\\x00-\x1f\x7f]/.test(text)) return false;
  if (text.startsWith('-') || text.startsWith('/') || text.endsWith('/') || text.endsWith('.')) return false;
  if (text.includes('..') || text.includes('//') || text.includes('@{') || text === '@') return false;
  return text.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

type ImageProblem = 'tag' | 'digest' | 'malformed';

/** An image reference without tag or digest, e.g. ghcr.io/acme/payments or localhost:5000/app. */
function imageProblem(text: string): ImageProblem | undefined {
  if (text.length === 0 || text.length > 255 || /\s/.test(text)) return 'malformed';
  if (text.includes('@')) return 'digest';
  const parts = text.split('/');
  if (parts.some((part) => part.length === 0)) return 'malformed';
  const last = parts[parts.length - 1]!;
  if (last.includes(':')) return 'tag';
  // Only the registry host (first part, when followed by more) may carry a :port.
  const [first, ...rest] = parts;
  if (rest.length > 0 && first!.includes(':') && !/^[A-Za-z0-9.-]+:\d+$/.test(first!)) return 'malformed';
  for (const part of rest.slice(0, -1)) if (part.includes(':')) return 'malformed';
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(last)) return 'malformed';
  return undefined;
}

/** The URL (without user info, so no credential leaks into a message), or undefined. */
function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** A URL shown in a message, with any user:password replaced. */
function showUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
      return show(url.toString());
    }
  } catch {
    // not a URL; user info cannot be told apart, so hide anything before an '@'
    if (text.includes('@')) return show(`***@${text.slice(text.lastIndexOf('@') + 1)}`);
  }
  return show(text);
}

// ---------------------------------------------------------------------------------------------
// File schema (zod). Every leaf is a `value` check with its own reason, so the first issue reads
// well on its own; zod supplies the structure (strict objects, records, lists).

function value<T>(accept: (input: unknown) => T | undefined, reason: (input: unknown) => string) {
  return z.unknown().transform((input, ctx): T => {
    const out = input === undefined ? undefined : accept(input);
    if (out === undefined) {
      ctx.addIssue({ code: 'custom', message: input === undefined ? 'required' : reason(input) });
      return z.NEVER;
    }
    return out;
  });
}

/** A mapping that may also be left empty (`key:` with nothing, or missing): then {}. */
function section<S extends z.ZodType>(schema: S) {
  return z.preprocess((input) => (input === null || input === undefined ? {} : input), schema);
}

/** YAML reads 12345 or true as a number or boolean; text must then be quoted. */
const quoteHint = (v: unknown) =>
  typeof v === 'number' || typeof v === 'boolean' ? ` (write "${String(v)}" in quotes to use it as text)` : '';

const text = (what: string) =>
  value(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined),
    (v) => (typeof v === 'string' ? `must not be empty (${what})` : `${show(v)} is not ${what}${quoteHint(v)}`),
  );

const word = (what: string) =>
  value(
    (v) => (typeof v === 'string' && /^\S+$/.test(v) ? v : undefined),
    (v) => `${show(v)} is not ${what}${quoteHint(v)}`,
  );

const duration = value(
  (v) => (typeof v === 'string' ? parseDuration(v) : undefined),
  (v) => `${show(v)} is not a duration (use 90s, 15m, 2h)`,
);

const integer = (min: number, max: number, what: string) =>
  value(
    (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined),
    (v) => `${show(v)} is not ${what}`,
  );

const boolean = value(
  (v) => (typeof v === 'boolean' ? v : undefined),
  (v) => `${show(v)} is not true or false`,
);

const k8sName = (kind: string) =>
  value(
    (v) => (typeof v === 'string' && isK8sLabel(v) ? v : undefined),
    (v) => `${show(v)} is not a valid Kubernetes ${kind} name (lowercase letters, digits and "-", at most 63 characters)`,
  );

const userList = z.array(text('a user id'));

const severityPolicySchema = section(
  z.strictObject({
    reminderEvery: duration.optional(),
    escalateAfterMissed: integer(0, 1000, 'a number of missed updates (0 = never escalate)').optional(),
    responders: userList.optional(),
  }),
);

const playbookSchema = z.array(text('a checklist item'));

const incidentsSchema = section(
  z.strictObject({
    announceChannel: word('a channel id').optional(),
    escalationChannel: word('a channel id').optional(),
    channelPrefix: value(
      (v) => (typeof v === 'string' && CHANNEL_PREFIX.test(v) ? v : undefined),
      (v) => `${show(v)} is not a valid channel prefix (lowercase letters, digits, "-" and "_", at most 20 characters)`,
    ).optional(),
    severities: section(
      z.strictObject({
        sev0: severityPolicySchema,
        sev1: severityPolicySchema,
        sev2: severityPolicySchema,
        sev3: severityPolicySchema,
      }),
    ),
    playbooks: section(
      z.strictObject({
        sev0: playbookSchema.optional(),
        sev1: playbookSchema.optional(),
        sev2: playbookSchema.optional(),
        sev3: playbookSchema.optional(),
      }),
    ),
  }),
);

const canaryStepsSchema = z
  .array(integer(1, 100, 'a percentage (1-100)'))
  .superRefine((steps, ctx) => {
    if (steps.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must list at least one step, the last being 100' });
      return;
    }
    for (let i = 1; i < steps.length; i++) {
      if (steps[i]! <= steps[i - 1]!) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `${steps[i]} is not more than the step before (${steps[i - 1]}); steps must increase strictly`,
        });
        return;
      }
    }
    const last = steps[steps.length - 1]!;
    if (last !== 100) ctx.addIssue({ code: 'custom', message: `the last step must be 100 (got ${last})` });
  });

const kubernetesSchema = z
  .strictObject({
    context: text('a kubeconfig context name').optional(),
    namespace: k8sName('namespace'),
    deployment: k8sName('deployment'),
    container: k8sName('container'),
    image: value(
      (v) => (typeof v === 'string' && imageProblem(v) === undefined ? v : undefined),
      (v) => {
        const problem = typeof v === 'string' ? imageProblem(v) : 'malformed';
        if (problem === 'tag') return `${show(v)} must not have a tag (a deploy sets <image>:<version>)`;
        if (problem === 'digest') return `${show(v)} must not have a digest (a deploy sets <image>:<version>)`;
        return `${show(v)} is not an image reference without a tag (e.g. ghcr.io/acme/payments)`;
      },
    ),
    strategy: value(
      (v) => (typeof v === 'string' && (STRATEGIES as readonly string[]).includes(v) ? (v as Strategy) : undefined),
      (v) => `unknown strategy ${show(v)} (${STRATEGIES.join(', ')})`,
    ).optional(),
    service: value(
      (v) => (typeof v === 'string' && isK8sLabel(v, DNS1035_LABEL) ? v : undefined),
      (v) =>
        `${show(v)} is not a valid Kubernetes Service name (lowercase letters, digits and "-", starting with a letter, at most 63 characters)`,
    ).optional(),
    canarySteps: canaryStepsSchema.optional(),
    canaryInterval: duration.optional(),
  })
  .superRefine((k, ctx) => {
    const strategy = k.strategy ?? 'rolling';
    if (strategy !== 'rolling' && k.service === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['service'],
        message: `required for the ${strategy} strategy (the Service in front of the pods)`,
      });
    }
  });

const healthCheckSchema = section(
  z.strictObject({
    url: value(
      (v) => (typeof v === 'string' && parseHttpUrl(v) ? v : undefined),
      (v) => `${typeof v === 'string' ? showUrl(v) : show(v)} is not an http(s) URL`,
    ).optional(),
    window: duration.optional(),
  }),
);

const branch = value(
  (v) => (typeof v === 'string' && isBranchName(v) ? v : undefined),
  (v) => `${show(v)} is not a valid branch name`,
);

const serviceSchema = section(
  z.strictObject({
    repo: value(
      (v) => (typeof v === 'string' && GITHUB_REPO.test(v) ? v : undefined),
      (v) => `${show(v)} is not a GitHub repository (use owner/name)`,
    ).optional(),
    productionBranch: branch.optional(),
    developBranch: branch.optional(),
    kubernetes: kubernetesSchema.optional(),
    healthCheck: healthCheckSchema,
  }),
);

const approvalSchema = z
  .strictObject({
    approvers: userList,
    required: integer(1, 1000, 'a number of approvals (at least 1)').optional(),
    allowSelfApproval: boolean.optional(),
    expiresAfter: duration.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.approvers.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'must list at least one approver' });
      return;
    }
    const seen = new Set<string>();
    for (const [i, approver] of a.approvers.entries()) {
      if (seen.has(approver)) {
        ctx.addIssue({ code: 'custom', path: ['approvers', i], message: `${show(approver)} is listed twice` });
        return;
      }
      seen.add(approver);
    }
    const required = a.required ?? 1;
    if (required > a.approvers.length) {
      const n = a.approvers.length;
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `${required} is more than the ${n} approver${n === 1 ? '' : 's'} listed`,
      });
    }
  });

const fileSchema = section(
  z.strictObject({
    incidents: incidentsSchema,
    services: section(
      z.record(
        z.string().regex(SERVICE_NAME, {
          error: 'invalid service name (lowercase letters, digits and "-", starting with a letter or digit, at most 63 characters)',
        }),
        serviceSchema,
      ),
    ),
    approvals: z
      .record(z.string().min(1, { error: 'an environment name must not be empty' }), approvalSchema)
      .nullable()
      .optional(),
  }),
);

type RawFile = z.output<typeof fileSchema>;

const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

/** Reasons for the structural issues zod raises itself (leaf values carry their own). */
function structuralReason(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'required';
    const noun = NOUNS[issue.expected] ?? issue.expected;
    return `expected ${noun}, got ${show(issue.input)}`;
  }
  if (issue.code === 'unrecognized_keys') return 'unknown key';
  return undefined;
}

function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      const shown = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
      out += out === '' ? shown : `.${shown}`;
    }
  }
  return out;
}

function issueToMessage(fileLabel: string, issue: z.core.$ZodIssue): string {
  const segments: PropertyKey[] = [...issue.path];
  let reason = issue.message;
  if (issue.code === 'unrecognized_keys') {
    segments.push(issue.keys[0] ?? '?');
    const parent = segments[segments.length - 2];
    const grandparent = segments[segments.length - 3];
    reason =
      grandparent === 'incidents' && (parent === 'severities' || parent === 'playbooks')
        ? `unknown key (use ${SEVERITIES.join(', ')})`
        : 'unknown key';
  } else if (issue.code === 'invalid_key') {
    reason = issue.issues[0]?.message ?? reason;
  }
  const where = formatPath(segments);
  return where ? `${fileLabel}: ${where}: ${reason}` : `${fileLabel}: ${reason}`;
}

function buildFileConfig(raw: RawFile): FileConfig {
  const severities = defaultSeverities();
  for (const sev of SEVERITIES) {
    const given = raw.incidents.severities[sev];
    severities[sev] = {
      reminderEveryMs: given.reminderEvery ?? severities[sev].reminderEveryMs,
      escalateAfterMissed: given.escalateAfterMissed ?? severities[sev].escalateAfterMissed,
      responders: given.responders ?? severities[sev].responders,
    };
  }
  const playbooks = defaultPlaybooks();
  for (const sev of SEVERITIES) {
    const given = raw.incidents.playbooks[sev];
    if (given) playbooks[sev] = given;
  }

  const services: Record<string, ServiceConfig> = {};
  for (const [name, s] of Object.entries(raw.services)) {
    const service: ServiceConfig = {
      productionBranch: s.productionBranch ?? DEFAULT_PRODUCTION_BRANCH,
      developBranch: s.developBranch ?? DEFAULT_DEVELOP_BRANCH,
      healthCheck: { windowMs: s.healthCheck.window ?? DEFAULT_HEALTH_WINDOW_MS },
    };
    if (s.repo !== undefined) service.repo = s.repo;
    if (s.healthCheck.url !== undefined) service.healthCheck.url = s.healthCheck.url;
    if (s.kubernetes) {
      const k = s.kubernetes;
      const target: KubernetesTarget = {
        namespace: k.namespace,
        deployment: k.deployment,
        container: k.container,
        image: k.image,
        strategy: k.strategy ?? 'rolling',
        canarySteps: k.canarySteps ?? [...DEFAULT_CANARY_STEPS],
      };
      if (k.context !== undefined) target.context = k.context;
      if (k.service !== undefined) target.service = k.service;
      if (k.canaryInterval !== undefined) target.canaryIntervalMs = k.canaryInterval;
      service.kubernetes = target;
    }
    services[name] = service;
  }

  let approvals: Record<string, ApprovalPolicy>;
  if (raw.approvals === undefined || raw.approvals === null) approvals = defaultApprovals();
  else {
    approvals = {};
    for (const [environment, a] of Object.entries(raw.approvals)) {
      approvals[environment] = {
        approvers: a.approvers,
        required: a.required ?? 1,
        allowSelfApproval: a.allowSelfApproval ?? false,
        expiresAfterMs: a.expiresAfter ?? DEFAULT_APPROVAL_EXPIRY_MS,
      };
    }
  }

  const incidents: FileConfig['incidents'] = {
    channelPrefix: raw.incidents.channelPrefix ?? DEFAULT_CHANNEL_PREFIX,
    severities,
    playbooks,
  };
  if (raw.incidents.announceChannel !== undefined) incidents.announceChannel = raw.incidents.announceChannel;
  if (raw.incidents.escalationChannel !== undefined) incidents.escalationChannel = raw.incidents.escalationChannel;
  return { incidents, services, approvals };
}

/** Parses and validates a config file's text; throws ConfigError naming `fileLabel`. */
export function parseFileConfig(yamlText: string, fileLabel: string): FileConfig {
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const reason = (syntaxError.message.split('\n')[0] ?? 'invalid YAML')
      .replace(/ at line \d+, column \d+:?$/, '')
      .trim();
    const pos = syntaxError.linePos?.[0];
    throw new ConfigError(
      pos ? `${fileLabel}: line ${pos.line}, column ${pos.col}: ${reason}` : `${fileLabel}: ${reason}`,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${fileLabel}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const result = fileSchema.safeParse(data, {
    reportInput: true,
    error: (issue) => structuralReason(issue),
  });
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ConfigError(first ? issueToMessage(fileLabel, first) : `${fileLabel}: invalid config`);
  }
  return buildFileConfig(result.data);
}

// ---------------------------------------------------------------------------------------------
// Environment

/** Variables whose values are secrets: never echoed in messages or logs. */
export const SECRET_ENV_VARS = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'MICROSOFT_APP_PASSWORD', 'GITHUB_TOKEN'] as const;

/** The values of the secret variables that are set, for the logger to mask. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV_VARS.map((name) => env[name]?.trim() ?? '').filter(Boolean);
}

/** Reads a variable; empty (or blank) counts as unset. Surrounding whitespace is dropped. */
function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 3000;
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(`PORT: ${show(raw)} is not a port number (1-65535)`);
  return port;
}

function parseSwitch(name: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  const lower = raw.toLowerCase();
  if (lower === '1' || lower === 'true') return true;
  if (lower === '0' || lower === 'false') return false;
  throw new ConfigError(`${name}: ${show(raw)} is not a switch (1 or true, 0 or false)`);
}

function resolveDatabasePath(raw: string | undefined, cwd: string): string {
  if (raw === ':memory:') return raw;
  return path.resolve(cwd, raw ?? './data/firelane.db');
}

/** Validates the environment variables of the contract (and FIRELANE_CONSOLE). */
export function parseEnvConfig(env: NodeJS.ProcessEnv, cwd: string): EnvConfig {
  const port = parsePort(read(env, 'PORT'));

  const logLevelRaw = read(env, 'LOG_LEVEL');
  let logLevel: LogLevel = 'info';
  if (logLevelRaw !== undefined) {
    const lower = logLevelRaw.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(lower)) {
      throw new ConfigError(`LOG_LEVEL: unknown level ${show(logLevelRaw)} (${LOG_LEVELS.join(', ')})`);
    }
    logLevel = lower as LogLevel;
  }

  // Slack
  const botToken = read(env, 'SLACK_BOT_TOKEN');
  const signingSecret = read(env, 'SLACK_SIGNING_SECRET');
  const slackApiUrl = read(env, 'SLACK_API_URL');
  if (botToken !== undefined && signingSecret === undefined) {
    throw new ConfigError('SLACK_SIGNING_SECRET: not set, but SLACK_BOT_TOKEN is (Slack needs both)');
  }
  if (signingSecret !== undefined && botToken === undefined) {
    throw new ConfigError('SLACK_BOT_TOKEN: not set, but SLACK_SIGNING_SECRET is (Slack needs both)');
  }
  if (botToken !== undefined && /\s/.test(botToken)) {
    throw new ConfigError('SLACK_BOT_TOKEN: contains whitespace (value not shown)');
  }
  if (slackApiUrl !== undefined && !(parseHttpUrl(slackApiUrl) && slackApiUrl.endsWith('/api/'))) {
    throw new ConfigError(
      `SLACK_API_URL: ${showUrl(slackApiUrl)} is not an http(s) URL ending in /api/ (e.g. https://slack.com/api/)`,
    );
  }
  let slack: EnvConfig['slack'];
  if (botToken !== undefined && signingSecret !== undefined) {
    slack = { botToken, signingSecret };
    if (slackApiUrl !== undefined) slack.apiUrl = slackApiUrl;
  }

  // Microsoft Teams
  const appId = read(env, 'MICROSOFT_APP_ID');
  const appPassword = read(env, 'MICROSOFT_APP_PASSWORD');
  const tenantId = read(env, 'MICROSOFT_APP_TENANT_ID');
  const appTypeRaw = read(env, 'MICROSOFT_APP_TYPE');
  let appType: TeamsAppType | undefined;
  if (appTypeRaw !== undefined) {
    appType = TEAMS_APP_TYPES.find((t) => t.toLowerCase() === appTypeRaw.toLowerCase());
    if (!appType) {
      throw new ConfigError(`MICROSOFT_APP_TYPE: unknown app type ${show(appTypeRaw)} (${TEAMS_APP_TYPES.join(', ')})`);
    }
  }
  let teams: EnvConfig['teams'];
  if (appId === undefined) {
    const stray = [
      appPassword !== undefined && 'MICROSOFT_APP_PASSWORD',
      tenantId !== undefined && 'MICROSOFT_APP_TENANT_ID',
      appTypeRaw !== undefined && 'MICROSOFT_APP_TYPE',
    ].filter((x): x is string => typeof x === 'string');
    if (stray.length > 0) {
      throw new ConfigError(
        `MICROSOFT_APP_ID: not set, but ${stray.join(' and ')} ${stray.length === 1 ? 'is' : 'are'} (Teams needs the app id)`,
      );
    }
  } else {
    if (appPassword === undefined && appType !== 'UserAssignedMSI') {
      throw new ConfigError(
        'MICROSOFT_APP_PASSWORD: not set, but MICROSOFT_APP_ID is (required unless MICROSOFT_APP_TYPE=UserAssignedMSI)',
      );
    }
    if (tenantId === undefined && (appType === 'SingleTenant' || appType === 'UserAssignedMSI')) {
      throw new ConfigError(`MICROSOFT_APP_TENANT_ID: not set (required with MICROSOFT_APP_TYPE=${appType})`);
    }
    teams = { appId };
    if (appPassword !== undefined) teams.appPassword = appPassword;
    if (tenantId !== undefined) teams.tenantId = tenantId;
    if (appType !== undefined) teams.appType = appType;
  }

  // GitHub
  const githubToken = read(env, 'GITHUB_TOKEN');
  const githubApiUrlRaw = read(env, 'GITHUB_API_URL');
  if (githubApiUrlRaw !== undefined && !parseHttpUrl(githubApiUrlRaw)) {
    throw new ConfigError(
      `GITHUB_API_URL: ${showUrl(githubApiUrlRaw)} is not an http(s) URL (e.g. https://github.example.com/api/v3)`,
    );
  }
  let github: EnvConfig['github'];
  if (githubToken !== undefined) {
    if (/\s/.test(githubToken)) throw new ConfigError('GITHUB_TOKEN: contains whitespace (value not shown)');
    github = { token: githubToken };
    if (githubApiUrlRaw !== undefined) github.apiUrl = githubApiUrlRaw.replace(/\/+$/, '');
  }

  const localMode = slack === undefined && teams === undefined;
  const consoleEnabled = parseSwitch('FIRELANE_CONSOLE', read(env, 'FIRELANE_CONSOLE')) ?? localMode;

  const host = read(env, 'HOST') ?? (localMode ? '127.0.0.1' : '0.0.0.0');
  if (/\s/.test(host)) throw new ConfigError(`HOST: ${show(host)} is not a bind address`);

  const out: EnvConfig = {
    port,
    host,
    databasePath: resolveDatabasePath(read(env, 'DATABASE_PATH'), cwd),
    logLevel,
    consoleEnabled,
    localMode,
  };
  if (slack) out.slack = slack;
  if (teams) out.teams = teams;
  if (github) out.github = github;
  const kubeconfig = read(env, 'KUBECONFIG');
  if (kubeconfig !== undefined) out.kubeconfig = kubeconfig;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Loading

export const BUILT_IN_SOURCE = 'built-in defaults';
export const DEFAULT_CONFIG_FILE = 'firelane.yaml';

function readConfigFile(filePath: string, whoNames: string): string {
  try {
    return readFileSync(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(`${whoNames}: cannot read the file (${code})`);
  }
}

/**
 * Reads the environment and the config file: FIRELANE_CONFIG (must exist), else ./firelane.yaml
 * in cwd when present, else the built-in defaults. Throws ConfigError (one line) on any problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const envConfig = parseEnvConfig(env, cwd);

  const explicit = read(env, 'FIRELANE_CONFIG');
  let filePath: string | undefined;
  let label = DEFAULT_CONFIG_FILE;
  if (explicit !== undefined) {
    filePath = path.resolve(cwd, explicit);
    label = explicit;
    let stat;
    try {
      stat = statSync(filePath);
    } catch {
      throw new ConfigError(`FIRELANE_CONFIG: file ${show(explicit)} not found`);
    }
    if (!stat.isFile()) throw new ConfigError(`FIRELANE_CONFIG: ${show(explicit)} is not a file`);
  } else {
    const candidate = path.join(cwd, DEFAULT_CONFIG_FILE);
    if (existsSync(candidate) && statSync(candidate).isFile()) filePath = candidate;
  }

  if (filePath === undefined) {
    return { env: envConfig, file: structuredClone(DEFAULT_FILE_CONFIG), source: BUILT_IN_SOURCE };
  }
  const fileText = readConfigFile(filePath, explicit !== undefined ? `FIRELANE_CONFIG: ${label}` : label);
  const file = parseFileConfig(fileText, label);
  envConfig.configPath = filePath;
  return { env: envConfig, file, source: filePath };
}

/** The environment config with secrets replaced, safe to log. */
export function redactEnvConfig(env: EnvConfig): Record<string, unknown> {
  const hidden = '[redacted]';
  return {
    ...env,
    slack: env.slack && { ...env.slack, botToken: hidden, signingSecret: hidden },
    teams: env.teams && { ...env.teams, ...(env.teams.appPassword !== undefined ? { appPassword: hidden } : {}) },
    github: env.github && { ...env.github, token: hidden },
  };
}

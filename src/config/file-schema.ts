// The schema of the YAML config file and parseFileConfig, which turns its text into a FileConfig
// (YAML syntax errors and the first schema issue become one ConfigError line with the key path).
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { SEVERITIES } from '../domain/severity.js';
import {
  DEFAULT_APPROVAL_EXPIRY_MS,
  DEFAULT_CANARY_STEPS,
  DEFAULT_CHANNEL_PREFIX,
  DEFAULT_ENVIRONMENT,
  DEFAULT_DEVELOP_BRANCH,
  DEFAULT_GATE_INTERVAL_MS,
  DEFAULT_HEALTH_WINDOW_MS,
  DEFAULT_ON_NO_DATA,
  DEFAULT_PRODUCTION_BRANCH,
  DEFAULT_STATUS_PAGE_SHOW_TITLES,
  defaultApprovals,
  defaultPlaybooks,
  defaultSeverities,
} from './defaults.js';
import { boolean, duration, integer, section, text, userList, value, word } from './leaf-schemas.js';
import { approvalSchema, serviceSchema } from './service-schema.js';
import { checkEntries, checkPeople, PERSON_KEY, personSchema } from './people-schema.js';
import { distinctParties } from '../domain/identity.js';
import {
  ConfigError,
  type ApprovalPolicy,
  type FileConfig,
  type HealthCheck,
  type KubernetesTarget,
  type MetricGate,
  type PrometheusGates,
  type ServiceConfig,
} from './types.js';
import { CHANNEL_PREFIX, SERVICE_NAME, show } from './values.js';
import { alertsSchema, buildAlertsConfig } from './alerts-schema.js';

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
    /** Microsoft Teams: conversation ids (`19:...@thread.tacv2`) of the announcement and escalation channels. */
    teams: section(
      z.strictObject({
        announceChannel: word('a Teams channel id (19:...@thread.tacv2)').optional(),
        escalationChannel: word('a Teams channel id (19:...@thread.tacv2)').optional(),
      }),
    ),
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

/** What `GET /status` and `/status.json` show to anyone who reaches them (no sign-in). */
const statusPageSchema = section(
  z.strictObject({
    /** false: ids, severities, statuses and times only (for a page reachable beyond the people who may read incident titles). */
    showTitles: boolean.optional(),
  }),
);

/** The whole file's schema; exported for test/unit/config-reference.test.ts, which checks docs/configuration.md against it. */
export const fileSchema = section(
  z
    .strictObject({
      incidents: incidentsSchema,
      services: section(
        z.record(
          z.string().regex(SERVICE_NAME, {
            error:
              'invalid service name (lowercase letters, digits and "-", starting with a letter or digit, at most 63 characters)',
          }),
          serviceSchema,
        ),
      ),
      approvals: z
        .record(z.string().min(1, { error: 'an environment name must not be empty' }), approvalSchema)
        .nullable()
        .optional(),
      statusPage: statusPageSchema,
      alerts: alertsSchema,
      people: section(
        z.record(
          z.string().regex(PERSON_KEY, {
            error: 'invalid person key (letters, digits, ".", "_" and "-", at most 40 characters)',
          }),
          personSchema,
        ),
      ),
    })
    .superRefine((file, ctx) => {
      checkPeople(file.people, ctx);
      const lists: Array<[PropertyKey[], readonly string[]]> = [
        ...Object.entries(file.approvals ?? {}).map(([environment, a]): [PropertyKey[], readonly string[]] => [
          ['approvals', environment, 'approvers'],
          a.approvers,
        ]),
        ...SEVERITIES.map((sev): [PropertyKey[], readonly string[]] => [
          ['incidents', 'severities', sev, 'responders'],
          file.incidents.severities[sev].responders ?? [],
        ]),
      ];
      for (const [path, entries] of lists) checkEntries(entries, file.people, path, ctx);
      for (const [environment, a] of Object.entries(file.approvals ?? {})) {
        // Two entries of one person are one approver: `required` must be reachable by different people.
        const parties = distinctParties(a.approvers, file.people);
        const required = a.required ?? 1;
        if (required > parties && parties < a.approvers.length) {
          ctx.addIssue({
            code: 'custom',
            path: ['approvals', environment, 'required'],
            message: `${required} is more than the ${parties} different ${parties === 1 ? 'person' : 'people'} among the approvers (some entries are the same person)`,
          });
        }
      }
      // A target nobody guards could only be reached by borrowing another environment's rules.
      const guarded = new Set(Object.keys(file.approvals ?? { [DEFAULT_ENVIRONMENT]: true }));
      for (const [name, service] of Object.entries(file.services)) {
        for (const environment of Object.keys(service.environments ?? {})) {
          if (environment === DEFAULT_ENVIRONMENT || guarded.has(environment)) continue;
          ctx.addIssue({
            code: 'custom',
            path: ['services', name, 'environments', environment],
            message: `no approvals.${environment} guards this target: add approvals.${environment} with its approvers`,
          });
        }
      }
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

type RawKubernetes = NonNullable<RawFile['services'][string]['kubernetes']>;

function buildTarget(k: RawKubernetes): KubernetesTarget {
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
  return target;
}

type RawGates = NonNullable<RawFile['services'][string]['healthCheck']['prometheus']>;
type RawGatesOverride = NonNullable<
  NonNullable<RawFile['services'][string]['environments']>[string]['healthCheck']['prometheus']
>;

/** The service's gates with an environment's keys merged over them (validated complete by the schema). */
function buildGates(own: RawGates | undefined, override?: RawGatesOverride): PrometheusGates | undefined {
  if (!own && !override) return undefined;
  const given = Object.fromEntries(Object.entries(override ?? {}).filter(([, v]) => v !== undefined));
  const merged = { ...own, ...given } as RawGates;
  return {
    url: merged.url,
    intervalMs: merged.interval ?? DEFAULT_GATE_INTERVAL_MS,
    onNoData: merged.onNoData ?? DEFAULT_ON_NO_DATA,
    queries: merged.queries.map((q): MetricGate => ({
      name: q.name,
      query: q.query,
      ...(q.max !== undefined && { max: q.max }),
      ...(q.min !== undefined && { min: q.min }),
    })),
  };
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
      hotfixFrom: s.hotfixFrom ?? 'branch',
      healthCheck: { windowMs: s.healthCheck.window ?? DEFAULT_HEALTH_WINDOW_MS },
    };
    if (s.repo !== undefined) service.repo = s.repo;
    if (s.healthCheck.url !== undefined) service.healthCheck.url = s.healthCheck.url;
    const gates = buildGates(s.healthCheck.prometheus);
    if (gates) service.healthCheck.prometheus = gates;
    if (s.kubernetes) service.kubernetes = buildTarget(s.kubernetes);
    if (s.environments && Object.keys(s.environments).length > 0) {
      service.environments = {};
      for (const [environment, e] of Object.entries(s.environments)) {
        // Validated complete by the schema once merged over the service's own.
        const merged = { ...s.kubernetes, ...e.kubernetes } as RawKubernetes;
        const healthCheck: HealthCheck = { windowMs: e.healthCheck.window ?? service.healthCheck.windowMs };
        const url = e.healthCheck.url ?? service.healthCheck.url;
        if (url !== undefined) healthCheck.url = url;
        const environmentGates = buildGates(s.healthCheck.prometheus, e.healthCheck.prometheus);
        if (environmentGates) healthCheck.prometheus = environmentGates;
        service.environments[environment] = { kubernetes: buildTarget(merged), healthCheck };
      }
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
  const teams = raw.incidents.teams;
  if (teams.announceChannel !== undefined || teams.escalationChannel !== undefined) {
    incidents.teams = {
      ...(teams.announceChannel !== undefined && { announceChannel: teams.announceChannel }),
      ...(teams.escalationChannel !== undefined && { escalationChannel: teams.escalationChannel }),
    };
  }
  return {
    incidents,
    services,
    approvals,
    people: raw.people,
    statusPage: { showTitles: raw.statusPage.showTitles ?? DEFAULT_STATUS_PAGE_SHOW_TITLES },
    alerts: buildAlertsConfig(raw.alerts),
  };
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

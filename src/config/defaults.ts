// Built-in defaults: what a missing config file, section or key falls back to.
import { SEVERITIES, type Severity } from '../domain/severity.js';
import type { ApprovalPolicy, FileConfig, SeverityPolicy } from './types.js';

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

export const DEFAULT_CHANNEL_PREFIX = 'inc';
export const DEFAULT_PRODUCTION_BRANCH = 'production';
/**
 * Titles on the status page unless the file says otherwise: the page has always shown them, and
 * its readers (people, wall screens, scripts reading /status.json) rely on them. An installation
 * whose /status is reachable beyond the people who may read incident titles sets it to false.
 */
export const DEFAULT_STATUS_PAGE_SHOW_TITLES = true;
export const DEFAULT_DEVELOP_BRANCH = 'main';
export const DEFAULT_CANARY_STEPS = [10, 50, 100] as const;
export const DEFAULT_HEALTH_WINDOW_MS = 5 * MINUTE;
/** How often metric gates are queried through a health window (Prometheus' usual scrape interval). */
export const DEFAULT_GATE_INTERVAL_MS = 30_000;
/** A gate that sees no data fails: a typo in a query or a missing metric must not pass a deploy. */
export const DEFAULT_ON_NO_DATA = 'fail' as const;
export const DEFAULT_APPROVAL_EXPIRY_MS = 30 * MINUTE;
/** The environment of `/deploy` without --env: the service's own `kubernetes` target, under `approvals.production`. */
export const DEFAULT_ENVIRONMENT = 'production';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export function defaultSeverities(): Record<Severity, SeverityPolicy> {
  const out = {} as Record<Severity, SeverityPolicy>;
  for (const sev of SEVERITIES) {
    const policy = DEFAULT_SEVERITY_POLICIES[sev];
    out[sev] = { ...policy, responders: [...policy.responders] };
  }
  return out;
}

export function defaultPlaybooks(): Record<Severity, string[]> {
  const out = {} as Record<Severity, string[]>;
  for (const sev of SEVERITIES) out[sev] = [...DEFAULT_PLAYBOOKS[sev]];
  return out;
}

export function defaultApprovals(): Record<string, ApprovalPolicy> {
  return {
    [DEFAULT_ENVIRONMENT]: {
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
  people: {},
  statusPage: { showTitles: DEFAULT_STATUS_PAGE_SHOW_TITLES },
  alerts: { rules: [], autoResolve: false },
});

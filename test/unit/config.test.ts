import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_FILE_CONFIG,
  loadConfig,
  parseEnvConfig,
  parseFileConfig,
  redactEnvConfig,
  SECRET_ENV_VARS,
  secretValues,
  type FileConfig,
} from '../../src/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE_YAML = path.join(ROOT, 'firelane.example.yaml');
const ENV_EXAMPLE = path.join(ROOT, '.env.example');

const tempDirs: string[] = [];
function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'firelane-config-'));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The ConfigError message thrown by fn (asserting it is a ConfigError and one line). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toMatch(/[\r\n]/);
    return message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const fileError = (yaml: string) => errorOf(() => parseFileConfig(yaml, 'firelane.yaml'));
const envError = (env: NodeJS.ProcessEnv) => errorOf(() => loadConfig(env, tempDir()));

const KUBE = 'namespace: payments, deployment: payments, container: app, image: ghcr.io/acme/payments';

describe('built-in defaults', () => {
  it('has the contract severities, prefix, default playbooks and the production approval policy', () => {
    const d = DEFAULT_FILE_CONFIG;
    expect(d.incidents.channelPrefix).toBe('inc');
    expect(d.incidents.announceChannel).toBeUndefined();
    expect(d.incidents.severities).toEqual({
      sev0: { reminderEveryMs: 10 * 60_000, escalateAfterMissed: 1, responders: [] },
      sev1: { reminderEveryMs: 15 * 60_000, escalateAfterMissed: 2, responders: [] },
      sev2: { reminderEveryMs: 30 * 60_000, escalateAfterMissed: 3, responders: [] },
      sev3: { reminderEveryMs: 60 * 60_000, escalateAfterMissed: 0, responders: [] },
    });
    expect(d.incidents.playbooks.sev1).toEqual([
      'Assign an incident commander',
      'Post a first status update',
      'Update the status page',
      'Page the backup on-call',
      'Check recent deploys',
      'Decide: hotfix or rollback',
      'Verify the fix in staging',
      'Confirm recovery on dashboards',
    ]);
    expect(d.incidents.playbooks.sev0.length).toBeGreaterThan(d.incidents.playbooks.sev1.length);
    expect(d.incidents.playbooks.sev2.length).toBeLessThan(d.incidents.playbooks.sev1.length);
    expect(d.incidents.playbooks.sev3.length).toBeLessThan(d.incidents.playbooks.sev2.length);
    expect(d.incidents.playbooks.sev0.join(' ')).toMatch(/executive/i);
    expect(d.services).toEqual({});
    expect(d.approvals).toEqual({
      production: { approvers: [], required: 1, allowSelfApproval: false, expiresAfterMs: 30 * 60_000 },
    });
  });

  it('an empty file, a comment-only file and `incidents:` alone give the defaults', () => {
    expect(parseFileConfig('', 'f.yaml')).toEqual(DEFAULT_FILE_CONFIG);
    expect(parseFileConfig('# nothing yet\n', 'f.yaml')).toEqual(DEFAULT_FILE_CONFIG);
    expect(parseFileConfig('incidents:\nservices:\n', 'f.yaml')).toEqual(DEFAULT_FILE_CONFIG);
  });

  it('loadConfig hands out a copy that callers may change', () => {
    const a = loadConfig({}, tempDir());
    a.file.incidents.severities.sev1.responders.push('U1');
    expect(DEFAULT_FILE_CONFIG.incidents.severities.sev1.responders).toEqual([]);
    expect(loadConfig({}, tempDir()).file.incidents.severities.sev1.responders).toEqual([]);
  });
});

describe('parseFileConfig: values and merges', () => {
  it('merges a partially given severity with its defaults', () => {
    const file = parseFileConfig(
      'incidents:\n  severities:\n    sev1: { responders: [U1, U2] }\n    sev2: { reminderEvery: 1h30m }\n',
      'f.yaml',
    );
    expect(file.incidents.severities.sev1).toEqual({
      reminderEveryMs: 900_000,
      escalateAfterMissed: 2,
      responders: ['U1', 'U2'],
    });
    expect(file.incidents.severities.sev2).toEqual({
      reminderEveryMs: 5_400_000,
      escalateAfterMissed: 3,
      responders: [],
    });
    expect(file.incidents.severities.sev0).toEqual(DEFAULT_FILE_CONFIG.incidents.severities.sev0);
    expect(file.incidents.severities.sev3).toEqual(DEFAULT_FILE_CONFIG.incidents.severities.sev3);
  });

  it('a playbook given replaces only that severity', () => {
    const file = parseFileConfig('incidents:\n  playbooks:\n    sev2: ["Look at it"]\n    sev3: []\n', 'f.yaml');
    expect(file.incidents.playbooks.sev2).toEqual(['Look at it']);
    expect(file.incidents.playbooks.sev3).toEqual([]);
    expect(file.incidents.playbooks.sev1).toEqual(DEFAULT_FILE_CONFIG.incidents.playbooks.sev1);
  });

  it('fills service defaults', () => {
    const file = parseFileConfig(`services:\n  payments:\n    kubernetes: { ${KUBE} }\n  billing:\n`, 'f.yaml');
    expect(file.services.payments).toEqual({
      productionBranch: 'production',
      developBranch: 'main',
      hotfixFrom: 'branch',
      healthCheck: { windowMs: 300_000 },
      kubernetes: {
        namespace: 'payments',
        deployment: 'payments',
        container: 'app',
        image: 'ghcr.io/acme/payments',
        strategy: 'rolling',
        canarySteps: [10, 50, 100],
      },
    });
    expect(file.services.billing).toEqual({
      productionBranch: 'production',
      developBranch: 'main',
      hotfixFrom: 'branch',
      healthCheck: { windowMs: 300_000 },
    });
  });

  it('reads a canary service in full', () => {
    const file = parseFileConfig(
      [
        'services:',
        '  web-2:',
        '    repo: acme/web.site',
        '    productionBranch: release/stable',
        '    developBranch: develop',
        '    hotfixFrom: latest-tag',
        `    kubernetes: { ${KUBE.replace('ghcr.io/acme/payments', 'localhost:5000/acme/web')}, strategy: canary, service: web, canarySteps: [5, 25, 100], canaryInterval: 90s, context: prod }`,
        '    healthCheck: { url: "https://web.example.com/healthz", window: 10m }',
      ].join('\n'),
      'f.yaml',
    );
    expect(file.services['web-2']).toEqual({
      repo: 'acme/web.site',
      productionBranch: 'release/stable',
      developBranch: 'develop',
      hotfixFrom: 'latest-tag',
      kubernetes: {
        context: 'prod',
        namespace: 'payments',
        deployment: 'payments',
        container: 'app',
        image: 'localhost:5000/acme/web',
        strategy: 'canary',
        service: 'web',
        canarySteps: [5, 25, 100],
        canaryIntervalMs: 90_000,
      },
      healthCheck: { url: 'https://web.example.com/healthz', windowMs: 600_000 },
    });
  });

  it('fills approval defaults; a file with approvals replaces the default production policy', () => {
    const file = parseFileConfig('approvals:\n  staging:\n    approvers: [U1]\n', 'f.yaml');
    expect(file.approvals).toEqual({
      staging: { approvers: ['U1'], required: 1, allowSelfApproval: false, expiresAfterMs: 1_800_000 },
    });
    const full = parseFileConfig(
      'approvals:\n  production: { approvers: [U1, U2, U3], required: 2, allowSelfApproval: true, expiresAfter: 2h }\n',
      'f.yaml',
    );
    expect(full.approvals.production).toEqual({
      approvers: ['U1', 'U2', 'U3'],
      required: 2,
      allowSelfApproval: true,
      expiresAfterMs: 7_200_000,
    });
    expect(parseFileConfig('approvals:\n', 'f.yaml').approvals).toEqual(DEFAULT_FILE_CONFIG.approvals);
  });

  it('statusPage.showTitles: true unless the file says false', () => {
    expect(parseFileConfig('', 'firelane.yaml').statusPage).toEqual({ showTitles: true });
    expect(parseFileConfig('statusPage:\n', 'firelane.yaml').statusPage).toEqual({ showTitles: true });
    expect(parseFileConfig('statusPage: { showTitles: false }\n', 'firelane.yaml').statusPage).toEqual({
      showTitles: false,
    });
  });

  it('keeps channels and prefix', () => {
    const file = parseFileConfig(
      'incidents: { announceChannel: C1, escalationChannel: C2, channelPrefix: sev_room-1 }',
      'f.yaml',
    );
    expect(file.incidents).toMatchObject({
      announceChannel: 'C1',
      escalationChannel: 'C2',
      channelPrefix: 'sev_room-1',
    });
  });

  it('the example file loads, and matches the contract values', () => {
    const file: FileConfig = parseFileConfig(readFileSync(EXAMPLE_YAML, 'utf8'), 'firelane.example.yaml');
    expect(file.incidents.severities).toEqual(DEFAULT_FILE_CONFIG.incidents.severities);
    expect(file.incidents.playbooks.sev1).toEqual([
      'Assign an incident commander',
      'Post a first status update',
      'Check recent deploys',
      'Decide: hotfix or rollback',
    ]);
    expect(file.services.payments?.kubernetes).toMatchObject({
      strategy: 'rolling',
      service: 'payments',
      canaryIntervalMs: 120_000,
    });
    expect(file.approvals.production).toEqual({
      approvers: ['lee', 'slack:U0LEAD2'],
      required: 1,
      allowSelfApproval: false,
      expiresAfterMs: 1_800_000,
    });
    expect(file.people.lee).toEqual({
      slack: 'U0LEAD1',
      teams: '6f1c2d3e-0000-4000-8000-00000000abcd',
      console: 'lee',
      email: 'lee@acme.example',
    });
  });
});

describe('parseFileConfig: errors (file, key path, reason; one line)', () => {
  it.each([
    ['incidents:\n  foo: 1\n', 'firelane.yaml: incidents.foo: unknown key'],
    [
      'incidents:\n  severities:\n    sev1:\n      reminderEvery: 15x\n',
      'firelane.yaml: incidents.severities.sev1.reminderEvery: "15x" is not a duration (use 90s, 15m, 2h)',
    ],
    [
      `services:\n  payments:\n    kubernetes: { ${KUBE}, strategy: blue }\n`,
      'firelane.yaml: services.payments.kubernetes.strategy: unknown strategy "blue" (rolling, blue-green, canary)',
    ],
    ['bogus: 1\n', 'firelane.yaml: bogus: unknown key'],
    [
      'services:\n  payments:\n    kubernetes: { namespace: a, deployment: b, container: c, image: d, replicas: 3 }\n',
      'firelane.yaml: services.payments.kubernetes.replicas: unknown key',
    ],
    [
      'approvals:\n  production: { approvers: [U1], quorum: 1 }\n',
      'firelane.yaml: approvals.production.quorum: unknown key',
    ],
    [
      'incidents:\n  severities:\n    sev4: {}\n',
      'firelane.yaml: incidents.severities.sev4: unknown key (use sev0, sev1, sev2, sev3)',
    ],
    [
      'incidents:\n  playbooks:\n    SEV1: [a]\n',
      'firelane.yaml: incidents.playbooks.SEV1: unknown key (use sev0, sev1, sev2, sev3)',
    ],
    [
      'incidents:\n  severities:\n    sev0: { reminderEvery: 10 }\n',
      'firelane.yaml: incidents.severities.sev0.reminderEvery: 10 is not a duration (use 90s, 15m, 2h)',
    ],
    [
      'incidents:\n  severities:\n    sev0: { escalateAfterMissed: -1 }\n',
      'firelane.yaml: incidents.severities.sev0.escalateAfterMissed: -1 is not a number of missed updates (0 = never escalate)',
    ],
    [
      'incidents:\n  severities:\n    sev0: { responders: U1 }\n',
      'firelane.yaml: incidents.severities.sev0.responders: expected a list, got "U1"',
    ],
    [
      'incidents:\n  severities:\n    sev0: { responders: [12345] }\n',
      'firelane.yaml: incidents.severities.sev0.responders[0]: 12345 is not a user id (write "12345" in quotes to use it as text)',
    ],
    [
      'incidents:\n  channelPrefix: Inc\n',
      'firelane.yaml: incidents.channelPrefix: "Inc" is not a valid channel prefix (lowercase letters, digits, "-" and "_", at most 20 characters)',
    ],
    [
      'incidents:\n  channelPrefix: abcdefghijklmnopqrstu\n',
      'firelane.yaml: incidents.channelPrefix: "abcdefghijklmnopqrstu" is not a valid channel prefix (lowercase letters, digits, "-" and "_", at most 20 characters)',
    ],
    [
      'incidents:\n  playbooks:\n    sev1: ["ok", ""]\n',
      'firelane.yaml: incidents.playbooks.sev1[1]: must not be empty (a checklist item)',
    ],
    ['incidents: 5\n', 'firelane.yaml: incidents: expected a mapping, got 5'],
    ['- 1\n', 'firelane.yaml: expected a mapping, got a list'],
    [
      'services:\n  Payments: {}\n',
      'firelane.yaml: services.Payments: invalid service name (lowercase letters, digits and "-", starting with a letter or digit, at most 63 characters)',
    ],
    [
      'services:\n  pay.ments: {}\n',
      'firelane.yaml: services."pay.ments": invalid service name (lowercase letters, digits and "-", starting with a letter or digit, at most 63 characters)',
    ],
    [
      'services:\n  p:\n    repo: payments\n',
      'firelane.yaml: services.p.repo: "payments" is not a GitHub repository (use owner/name)',
    ],
    [
      'services:\n  p:\n    productionBranch: "my branch"\n',
      'firelane.yaml: services.p.productionBranch: "my branch" is not a valid branch name',
    ],
    [
      'services:\n  p:\n    hotfixFrom: tags\n',
      'firelane.yaml: services.p.hotfixFrom: "tags" is not one of branch, latest-tag',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: c, image: d, strategy: blue-green }\n',
      'firelane.yaml: services.p.kubernetes.service: required for the blue-green strategy (the Service in front of the pods)',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: c, image: d, strategy: canary }\n',
      'firelane.yaml: services.p.kubernetes.service: required for the canary strategy (the Service in front of the pods)',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: c }\n',
      'firelane.yaml: services.p.kubernetes.image: required',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: Payments, deployment: b, container: c, image: d }\n',
      'firelane.yaml: services.p.kubernetes.namespace: "Payments" is not a valid Kubernetes namespace name (lowercase letters, digits and "-", at most 63 characters)',
    ],
    [
      `services:\n  p:\n    kubernetes: { namespace: a, deployment: ${'d'.repeat(64)}, container: c, image: d }\n`,
      `firelane.yaml: services.p.kubernetes.deployment: "${'d'.repeat(64)}" is not a valid Kubernetes deployment name (lowercase letters, digits and "-", at most 63 characters)`,
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: app_1, image: d }\n',
      'firelane.yaml: services.p.kubernetes.container: "app_1" is not a valid Kubernetes container name (lowercase letters, digits and "-", at most 63 characters)',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: c, image: "ghcr.io/acme/payments:1.2.3" }\n',
      'firelane.yaml: services.p.kubernetes.image: "ghcr.io/acme/payments:1.2.3" must not have a tag (a deploy sets <image>:<version>)',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: c, image: "ghcr.io/acme/pay ments" }\n',
      'firelane.yaml: services.p.kubernetes.image: "ghcr.io/acme/pay ments" is not an image reference without a tag (e.g. ghcr.io/acme/payments)',
    ],
    [
      'services:\n  p:\n    kubernetes: { namespace: a, deployment: b, container: c, image: "acme/p@sha256:abc" }\n',
      'firelane.yaml: services.p.kubernetes.image: "acme/p@sha256:abc" must not have a digest (a deploy sets <image>:<version>)',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE}, canarySteps: [10, 10, 100] }\n`,
      'firelane.yaml: services.p.kubernetes.canarySteps[1]: 10 is not more than the step before (10); steps must increase strictly',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE}, canarySteps: [10, 50] }\n`,
      'firelane.yaml: services.p.kubernetes.canarySteps: the last step must be 100 (got 50)',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE}, canarySteps: [0, 100] }\n`,
      'firelane.yaml: services.p.kubernetes.canarySteps[0]: 0 is not a percentage (1-100)',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE}, canarySteps: [50, 150] }\n`,
      'firelane.yaml: services.p.kubernetes.canarySteps[1]: 150 is not a percentage (1-100)',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE}, canarySteps: [] }\n`,
      'firelane.yaml: services.p.kubernetes.canarySteps: must list at least one step, the last being 100',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE}, canaryInterval: soon }\n`,
      'firelane.yaml: services.p.kubernetes.canaryInterval: "soon" is not a duration (use 90s, 15m, 2h)',
    ],
    [
      'services:\n  p:\n    healthCheck: { url: "ftp://x/health" }\n',
      'firelane.yaml: services.p.healthCheck.url: "ftp://x/health" is not an http(s) URL',
    ],
    [
      'services:\n  p:\n    healthCheck: { window: 0s }\n',
      'firelane.yaml: services.p.healthCheck.window: "0s" is not a duration (use 90s, 15m, 2h)',
    ],
    ['approvals:\n  production: { required: 1 }\n', 'firelane.yaml: approvals.production.approvers: required'],
    [
      'approvals:\n  production: { approvers: [] }\n',
      'firelane.yaml: approvals.production.approvers: must list at least one approver',
    ],
    [
      'approvals:\n  production: { approvers: [U1, U1] }\n',
      'firelane.yaml: approvals.production.approvers[1]: "U1" is listed twice',
    ],
    [
      'approvals:\n  production: { approvers: [U1, U2], required: 3 }\n',
      'firelane.yaml: approvals.production.required: 3 is more than the 2 approvers listed',
    ],
    [
      'approvals:\n  production: { approvers: [U1], required: 0 }\n',
      'firelane.yaml: approvals.production.required: 0 is not a number of approvals (at least 1)',
    ],
    [
      'approvals:\n  production: { approvers: [U1], allowSelfApproval: yes }\n',
      'firelane.yaml: approvals.production.allowSelfApproval: "yes" is not true or false',
    ],
    ['statusPage: { showTitles: no }\n', 'firelane.yaml: statusPage.showTitles: "no" is not true or false'],
    ['statusPage: { hideTitles: true }\n', 'firelane.yaml: statusPage.hideTitles: unknown key'],
    [
      'approvals:\n  production: { approvers: [U1], expiresAfter: 30 minutes }\n',
      'firelane.yaml: approvals.production.expiresAfter: "30 minutes" is not a duration (use 90s, 15m, 2h)',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE} }\n    environments:\n      staging: { kubernetes: { context: stg } }\n`,
      'firelane.yaml: services.p.environments.staging: no approvals.staging guards this target: add approvals.staging with its approvers',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE} }\n    environments:\n      production: { kubernetes: { context: stg } }\n`,
      "firelane.yaml: services.p.environments.production: production is the service's own kubernetes target: set it under kubernetes, not environments",
    ],
    [
      `services:\n  p:\n    environments:\n      staging: { kubernetes: { namespace: a, deployment: b, container: c } }\napprovals:\n  staging: { approvers: [U1] }\n`,
      "firelane.yaml: services.p.environments.staging.kubernetes.image: required (the service's kubernetes has none to merge over)",
    ],
    [
      `services:\n  p:\n    environments:\n      staging: { healthCheck: { window: 1m } }\napprovals:\n  staging: { approvers: [U1] }\n`,
      'firelane.yaml: services.p.environments.staging: no kubernetes target: give this environment a kubernetes mapping, or the service one to merge over',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE} }\n    environments:\n      staging: { kubernetes: { strategy: canary } }\napprovals:\n  staging: { approvers: [U1] }\n`,
      'firelane.yaml: services.p.environments.staging.kubernetes.service: required for the canary strategy (the Service in front of the pods)',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE} }\n    environments:\n      staging: { kubernetes: { cluster: x } }\n`,
      'firelane.yaml: services.p.environments.staging.kubernetes.cluster: unknown key',
    ],
    [
      `services:\n  p:\n    kubernetes: { ${KUBE} }\n    environments:\n      "eu west": {}\n`,
      'firelane.yaml: services.p.environments."eu west": invalid environment name (letters, digits, "_", "." and "-", starting with a letter or digit, at most 63 characters)',
    ],
    [
      'approvals:\n  production: { approvers: ["github:octocat"] }\n',
      'firelane.yaml: approvals.production.approvers[0]: "github:octocat" matches nobody: "github:" is not a platform (use slack:, teams:, console: or a people key)',
    ],
    [
      'approvals:\n  production: { approvers: ["slack:lee"] }\n',
      'firelane.yaml: approvals.production.approvers[0]: "slack:lee" matches nobody: "lee" is not a Slack user id (U… or W…)',
    ],
    [
      'incidents:\n  severities:\n    sev1: { responders: ["teams:nope"] }\n',
      'firelane.yaml: incidents.severities.sev1.responders[0]: "teams:nope" matches nobody: "nope" is not a Teams AAD object id (a GUID)',
    ],
    ['people:\n  lee: {}\n', 'firelane.yaml: people.lee: names no identity (give slack, teams, console or email)'],
    [
      'people:\n  lee: { slack: U0LEE }\n  max: { slack: U0LEE }\n',
      'firelane.yaml: people.max.slack: "U0LEE" is lee\'s slack identity too',
    ],
    ['people:\n  lee: { slack: lee }\n', 'firelane.yaml: people.lee.slack: "lee" is not a Slack user id (U… or W…)'],
    [
      'people:\n  lee: { slack: U0LEE }\n  max: { slack: U0MAX, console: lee }\n',
      "firelane.yaml: people.lee: is max's console name: give lee a console name of their own, or rename one of them",
    ],
    [
      'people:\n  lee: { slack: U0LEE }\napprovals:\n  production: { approvers: [lee, "slack:U0LEE"], required: 2 }\n',
      'firelane.yaml: approvals.production.required: 2 is more than the 1 different person among the approvers (some entries are the same person)',
    ],
  ])('%j', (yaml, expected) => {
    expect(fileError(yaml)).toBe(expected);
  });

  it('names the file and line of a YAML syntax error', () => {
    expect(fileError('incidents:\n  channelPrefix: [inc\n')).toMatch(/^firelane\.yaml: line \d+, column \d+: \S/);
    expect(fileError('incidents: {}\nincidents: {}\n')).toBe(
      'firelane.yaml: line 2, column 1: Map keys must be unique',
    );
  });

  it('uses the label it is given', () => {
    expect(errorOf(() => parseFileConfig('x: 1', '/etc/firelane/config.yaml'))).toBe(
      '/etc/firelane/config.yaml: x: unknown key',
    );
  });

  it('never echoes user:password of a URL', () => {
    const message = fileError('services:\n  p:\n    healthCheck: { url: "ftp://bob:hunter2@x/health" }\n');
    expect(message).not.toContain('hunter2');
    expect(message).toContain('services.p.healthCheck.url');
  });
});

describe('environment', () => {
  it('defaults: local mode, loopback, console on, built-in config', () => {
    const cwd = tempDir();
    const config = loadConfig({}, cwd);
    expect(config.source).toBe('built-in defaults');
    expect(config.file).toEqual(DEFAULT_FILE_CONFIG);
    expect(config.env).toEqual({
      port: 3000,
      host: '127.0.0.1',
      databasePath: path.join(cwd, 'data', 'firelane.db'),
      logLevel: 'info',
      publicUrl: 'http://127.0.0.1:3000',
      consoleEnabled: true,
      localMode: true,
    });
  });

  it('with Slack: not local, binds 0.0.0.0, console off unless forced', () => {
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig' };
    const env = loadConfig(slack, tempDir()).env;
    expect(env).toMatchObject({
      host: '0.0.0.0',
      localMode: false,
      consoleEnabled: false,
      slack: { botToken: 'xoxb-1', signingSecret: 'sig' },
    });
    expect(env.slack?.apiUrl).toBeUndefined();
    expect(loadConfig({ ...slack, FIRELANE_CONSOLE: '1' }, tempDir()).env.consoleEnabled).toBe(true);
    expect(loadConfig({ ...slack, FIRELANE_CONSOLE: 'TRUE' }, tempDir()).env.consoleEnabled).toBe(true);
    expect(loadConfig({ ...slack, SLACK_API_URL: 'http://127.0.0.1:9999/api/' }, tempDir()).env.slack?.apiUrl).toBe(
      'http://127.0.0.1:9999/api/',
    );
  });

  it('FIRELANE_TEAMS_EMULATOR: a switch, unset by default; it changes neither local mode nor the bind address', () => {
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret' };
    expect(loadConfig(slack, tempDir()).env.teamsEmulator).toBeUndefined();
    expect(loadConfig({ ...slack, FIRELANE_TEAMS_EMULATOR: '1' }, tempDir()).env).toMatchObject({
      teamsEmulator: true,
      localMode: false,
      host: '0.0.0.0',
    });
    expect(loadConfig({ ...slack, FIRELANE_TEAMS_EMULATOR: 'true' }, tempDir()).env.teamsEmulator).toBe(true);
    expect(loadConfig({ ...slack, FIRELANE_TEAMS_EMULATOR: '0' }, tempDir()).env.teamsEmulator).toBeUndefined();
    expect(envError({ FIRELANE_TEAMS_EMULATOR: 'yes' })).toBe(
      'FIRELANE_TEAMS_EMULATOR: "yes" is not a switch (1 or true, 0 or false)',
    );
  });

  it('FIRELANE_CONSOLE=0 turns the console off even in local mode', () => {
    expect(loadConfig({ FIRELANE_CONSOLE: '0' }, tempDir()).env).toMatchObject({
      consoleEnabled: false,
      localMode: true,
    });
    expect(loadConfig({ FIRELANE_CONSOLE: 'false' }, tempDir()).env.consoleEnabled).toBe(false);
  });

  it('reads every variable', () => {
    const cwd = tempDir();
    const env = parseEnvConfig(
      {
        PORT: '8080',
        HOST: '::',
        DATABASE_PATH: 'db/x.db',
        MICROSOFT_APP_ID: 'app',
        MICROSOFT_APP_PASSWORD: 'pw',
        MICROSOFT_APP_TENANT_ID: 'tenant',
        MICROSOFT_APP_TYPE: 'singletenant',
        GITHUB_TOKEN: 'ghp_x',
        GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
        KUBECONFIG: '/a:/b',
        LOG_LEVEL: 'DEBUG',
      },
      cwd,
    );
    expect(env).toEqual({
      port: 8080,
      host: '::',
      databasePath: path.join(cwd, 'db', 'x.db'),
      logLevel: 'debug',
      teams: { appId: 'app', appPassword: 'pw', tenantId: 'tenant', appType: 'SingleTenant' },
      github: { token: 'ghp_x', apiUrl: 'https://ghe.example.com/api/v3' },
      kubeconfig: '/a:/b',
      publicUrl: 'http://[::]:8080',
      consoleEnabled: false,
      localMode: false,
    });
  });

  it('console sign-in: FIRELANE_OIDC_* and FIRELANE_PUBLIC_URL; an issuer leaves local mode (the console stays on without chat credentials)', () => {
    const oidc = {
      FIRELANE_OIDC_ISSUER: 'https://slack.com',
      FIRELANE_OIDC_CLIENT_ID: '123.456',
      FIRELANE_OIDC_CLIENT_SECRET: 's3cret',
      FIRELANE_PUBLIC_URL: 'https://firelane.acme.example/',
    };
    const env = loadConfig(oidc, tempDir()).env;
    expect(env).toMatchObject({
      oidc: { issuer: 'https://slack.com', clientId: '123.456', clientSecret: 's3cret' },
      publicUrl: 'https://firelane.acme.example',
      localMode: false,
      consoleEnabled: true,
      host: '0.0.0.0',
    });
    // A path is kept (a proxy that strips it); loopback providers may be plain http.
    expect(loadConfig({ FIRELANE_PUBLIC_URL: 'https://ops.acme.example/firelane' }, tempDir()).env).toMatchObject({
      publicUrl: 'https://ops.acme.example/firelane',
      localMode: true,
    });
    for (const issuer of ['http://127.0.0.1:8080/realms/x', 'http://localhost:9000', 'http://[::1]:9000']) {
      expect(loadConfig({ ...oidc, FIRELANE_OIDC_ISSUER: issuer }, tempDir()).env.oidc?.issuer).toBe(issuer);
    }
    // Next to Slack: the console only when forced, then with sign-in.
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig' };
    expect(loadConfig({ ...slack, ...oidc }, tempDir()).env.consoleEnabled).toBe(false);
    expect(loadConfig({ ...slack, ...oidc, FIRELANE_CONSOLE: '1' }, tempDir()).env).toMatchObject({
      consoleEnabled: true,
      oidc: { clientId: '123.456' },
    });
    expect(loadConfig({ PORT: '8080' }, tempDir()).env.publicUrl).toBe('http://127.0.0.1:8080');
  });

  it('the client secret is a secret: masked in logs and redacted', () => {
    const env = {
      FIRELANE_OIDC_ISSUER: 'https://slack.com',
      FIRELANE_OIDC_CLIENT_ID: 'client',
      FIRELANE_OIDC_CLIENT_SECRET: 'oidc-secret-value',
      FIRELANE_PUBLIC_URL: 'https://firelane.acme.example',
    };
    expect(SECRET_ENV_VARS).toContain('FIRELANE_OIDC_CLIENT_SECRET');
    expect(secretValues(env)).toContain('oidc-secret-value');
    const shown = JSON.stringify(redactEnvConfig(loadConfig(env, tempDir()).env));
    expect(shown).not.toContain('oidc-secret-value');
    expect(shown).toContain('"clientId":"client"');
  });

  it('DATABASE_URL selects PostgreSQL; it and its password alone are masked in logs and redacted', () => {
    const env = { DATABASE_URL: 'postgres://firelane:p%40ss-word@db.example.com:5432/firelane?sslmode=verify-full' };
    expect(loadConfig(env, tempDir()).env.databaseUrl).toBe(env.DATABASE_URL);
    expect(secretValues(env)).toEqual(expect.arrayContaining([env.DATABASE_URL, 'p@ss-word']));
    const shown = JSON.stringify(redactEnvConfig(loadConfig(env, tempDir()).env));
    expect(shown).not.toContain('p%40ss-word');
    expect(shown).toContain('"databaseUrl":"postgres://firelane@db.example.com:5432/firelane"');
  });

  it('Teams with a user-assigned managed identity needs no password', () => {
    const env = parseEnvConfig(
      { MICROSOFT_APP_ID: 'app', MICROSOFT_APP_TYPE: 'UserAssignedMSI', MICROSOFT_APP_TENANT_ID: 't' },
      tempDir(),
    );
    expect(env.teams).toEqual({ appId: 'app', tenantId: 't', appType: 'UserAssignedMSI' });
  });

  it('empty strings count as unset', () => {
    const cwd = tempDir();
    const env = parseEnvConfig(
      {
        PORT: '',
        HOST: '',
        DATABASE_PATH: '',
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        MICROSOFT_APP_ID: '',
        GITHUB_TOKEN: '',
        LOG_LEVEL: '',
        FIRELANE_CONSOLE: '',
        FIRELANE_TEAMS_EMULATOR: '',
        KUBECONFIG: '',
      },
      cwd,
    );
    expect(env).toEqual(parseEnvConfig({}, cwd));
    expect(loadConfig({ FIRELANE_CONFIG: '' }, cwd).source).toBe('built-in defaults');
  });

  it('keeps :memory: as the database path; absolute paths stay as they are', () => {
    expect(parseEnvConfig({ DATABASE_PATH: ':memory:' }, tempDir()).databasePath).toBe(':memory:');
    expect(parseEnvConfig({ DATABASE_PATH: '/var/lib/firelane/f.db' }, tempDir()).databasePath).toBe(
      '/var/lib/firelane/f.db',
    );
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT: "abc" is not a port number (1-65535)'],
    [{ PORT: '0' }, 'PORT: "0" is not a port number (1-65535)'],
    [{ PORT: '65536' }, 'PORT: "65536" is not a port number (1-65535)'],
    [{ PORT: '80.5' }, 'PORT: "80.5" is not a port number (1-65535)'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: unknown level "verbose" (fatal, error, warn, info, debug, trace, silent)'],
    [{ FIRELANE_CONSOLE: 'maybe' }, 'FIRELANE_CONSOLE: "maybe" is not a switch (1 or true, 0 or false)'],
    [
      { SLACK_API_URL: 'https://slack.com/api' },
      'SLACK_API_URL: "https://slack.com/api" is not an http(s) URL ending in /api/ (e.g. https://slack.com/api/)',
    ],
    [
      { SLACK_API_URL: 'slack.com/api/' },
      'SLACK_API_URL: "slack.com/api/" is not an http(s) URL ending in /api/ (e.g. https://slack.com/api/)',
    ],
    [
      { GITHUB_API_URL: 'ghe.example.com' },
      'GITHUB_API_URL: "ghe.example.com" is not an http(s) URL (e.g. https://github.example.com/api/v3)',
    ],
    [
      { MICROSOFT_APP_ID: 'a', MICROSOFT_APP_PASSWORD: 'p', MICROSOFT_APP_TYPE: 'Multi' },
      'MICROSOFT_APP_TYPE: unknown app type "Multi" (MultiTenant, SingleTenant, UserAssignedMSI)',
    ],
    [
      { MICROSOFT_APP_ID: 'a', MICROSOFT_APP_PASSWORD: 'p', MICROSOFT_APP_TYPE: 'SingleTenant' },
      'MICROSOFT_APP_TENANT_ID: not set (required with MICROSOFT_APP_TYPE=SingleTenant)',
    ],
    [
      { MICROSOFT_APP_TENANT_ID: 't' },
      'MICROSOFT_APP_ID: not set, but MICROSOFT_APP_TENANT_ID is (Teams needs the app id)',
    ],
    [{ HOST: 'local host' }, 'HOST: "local host" is not a bind address'],
    [
      { FIRELANE_PUBLIC_URL: 'firelane.acme.example' },
      'FIRELANE_PUBLIC_URL: "firelane.acme.example" is not an http(s) URL without a query or fragment (e.g. https://firelane.example.com)',
    ],
    [
      { FIRELANE_PUBLIC_URL: 'https://firelane.acme.example/?x=1' },
      'FIRELANE_PUBLIC_URL: "https://firelane.acme.example/?x=1" is not an http(s) URL without a query or fragment (e.g. https://firelane.example.com)',
    ],
    [
      { FIRELANE_PUBLIC_URL: 'https://u:p@firelane.acme.example' },
      'FIRELANE_PUBLIC_URL: "https://***@firelane.acme.example/" has user info (give the address only)',
    ],
    [
      { FIRELANE_OIDC_ISSUER: 'https://slack.com' },
      'FIRELANE_OIDC_CLIENT_ID: not set, but FIRELANE_OIDC_ISSUER is (sign-in needs the client id and secret)',
    ],
    [
      { FIRELANE_OIDC_ISSUER: 'https://slack.com', FIRELANE_OIDC_CLIENT_ID: 'c' },
      'FIRELANE_OIDC_CLIENT_SECRET: not set, but FIRELANE_OIDC_CLIENT_ID is (they go together)',
    ],
    [
      { FIRELANE_OIDC_ISSUER: 'https://slack.com', FIRELANE_OIDC_CLIENT_ID: 'c', FIRELANE_OIDC_CLIENT_SECRET: 's' },
      'FIRELANE_PUBLIC_URL: not set, but FIRELANE_OIDC_ISSUER is (sign-in redirects to <public URL>/auth/callback)',
    ],
    [
      { FIRELANE_OIDC_ISSUER: 'https://slack.com', FIRELANE_OIDC_CLIENT_SECRET: 's' },
      'FIRELANE_OIDC_CLIENT_ID: not set, but FIRELANE_OIDC_CLIENT_SECRET is (they go together)',
    ],
    [
      { FIRELANE_OIDC_CLIENT_ID: 'c', FIRELANE_OIDC_CLIENT_SECRET: 's' },
      'FIRELANE_OIDC_ISSUER: not set, but FIRELANE_OIDC_CLIENT_ID and FIRELANE_OIDC_CLIENT_SECRET are (sign-in needs the issuer)',
    ],
    [
      {
        FIRELANE_OIDC_ISSUER: 'http://idp.acme.example',
        FIRELANE_OIDC_CLIENT_ID: 'c',
        FIRELANE_OIDC_CLIENT_SECRET: 's',
      },
      'FIRELANE_OIDC_ISSUER: "http://idp.acme.example" must be https (plain http only for 127.0.0.1, localhost or [::1])',
    ],
    [
      { FIRELANE_OIDC_ISSUER: 'slack.com', FIRELANE_OIDC_CLIENT_ID: 'c', FIRELANE_OIDC_CLIENT_SECRET: 's' },
      'FIRELANE_OIDC_ISSUER: "slack.com" is not an https URL without a query or fragment (e.g. https://slack.com)',
    ],
  ])('%j', (env, expected) => {
    expect(envError(env)).toBe(expected);
  });

  describe('secrets are never echoed', () => {
    const SECRET = 'sup3r-s3cret-value';
    it.each([
      [{ SLACK_BOT_TOKEN: SECRET }, 'SLACK_SIGNING_SECRET: not set, but SLACK_BOT_TOKEN is (Slack needs both)'],
      [{ SLACK_SIGNING_SECRET: SECRET }, 'SLACK_BOT_TOKEN: not set, but SLACK_SIGNING_SECRET is (Slack needs both)'],
      [
        { SLACK_BOT_TOKEN: `xoxb ${SECRET}`, SLACK_SIGNING_SECRET: SECRET },
        'SLACK_BOT_TOKEN: contains whitespace (value not shown)',
      ],
      [
        { MICROSOFT_APP_ID: 'app' },
        'MICROSOFT_APP_PASSWORD: not set, but MICROSOFT_APP_ID is (required unless MICROSOFT_APP_TYPE=UserAssignedMSI)',
      ],
      [
        { MICROSOFT_APP_PASSWORD: SECRET },
        'MICROSOFT_APP_ID: not set, but MICROSOFT_APP_PASSWORD is (Teams needs the app id)',
      ],
      [{ GITHUB_TOKEN: `ghp ${SECRET}` }, 'GITHUB_TOKEN: contains whitespace (value not shown)'],
      [
        { FIRELANE_OIDC_CLIENT_SECRET: SECRET },
        'FIRELANE_OIDC_ISSUER: not set, but FIRELANE_OIDC_CLIENT_SECRET is (sign-in needs the issuer)',
      ],
      [
        {
          FIRELANE_OIDC_ISSUER: 'https://slack.com',
          FIRELANE_OIDC_CLIENT_ID: 'c',
          FIRELANE_OIDC_CLIENT_SECRET: `a ${SECRET}`,
        },
        'FIRELANE_OIDC_CLIENT_SECRET: contains whitespace (value not shown)',
      ],
      [
        { DATABASE_URL: `mysql://firelane:${SECRET}@db/firelane` },
        'DATABASE_URL: not a PostgreSQL URL (value not shown); e.g. postgres://firelane:<password>@db.example.com:5432/firelane',
      ],
      [
        { DATABASE_URL: `postgres://firelane:${SECRET}@db.example.com:5432` },
        'DATABASE_URL: names no database (postgres://firelane@db.example.com:5432); add /<database> after the host',
      ],
      [
        { SLACK_API_URL: `https://u:${SECRET}@proxy.example.com/api` },
        'SLACK_API_URL: "https://***@proxy.example.com/api" is not an http(s) URL ending in /api/ (e.g. https://slack.com/api/)',
      ],
    ])('%#', (env, expected) => {
      // errorOf fails the case when nothing is thrown: a case that loads cannot pass without asserting.
      const message = errorOf(() => loadConfig(env as NodeJS.ProcessEnv, tempDir()));
      expect(message).toBe(expected);
      expect(message).not.toContain(SECRET);
    });

    it('a GITHUB_API_URL with user info in it loads: there is no error message to echo it', () => {
      expect(() =>
        loadConfig({ GITHUB_TOKEN: SECRET, GITHUB_API_URL: `https://bot:${SECRET}@ghe` }, tempDir()),
      ).not.toThrow();
    });

    it('redactEnvConfig hides every secret', () => {
      const env = parseEnvConfig(
        {
          SLACK_BOT_TOKEN: SECRET,
          SLACK_SIGNING_SECRET: SECRET,
          MICROSOFT_APP_ID: 'app',
          MICROSOFT_APP_PASSWORD: SECRET,
          GITHUB_TOKEN: SECRET,
          FIRELANE_ALERTS_TOKEN: SECRET,
          FIRELANE_ALERTS_HMAC_SECRET: SECRET,
        },
        tempDir(),
      );
      expect(env.alerts).toEqual({ token: SECRET, hmacSecret: SECRET });
      const shown = JSON.stringify(redactEnvConfig(env));
      expect(shown).not.toContain(SECRET);
      expect(shown).toContain('"appId":"app"');
    });
  });
});

describe('config file lookup', () => {
  const YAML_OK = 'incidents:\n  channelPrefix: war\n';

  it('picks up ./firelane.yaml from cwd', () => {
    const cwd = tempDir({ 'firelane.yaml': YAML_OK });
    const config = loadConfig({}, cwd);
    expect(config.file.incidents.channelPrefix).toBe('war');
    expect(config.source).toBe(path.join(cwd, 'firelane.yaml'));
    expect(config.env.configPath).toBe(path.join(cwd, 'firelane.yaml'));
  });

  it('reports errors in ./firelane.yaml as firelane.yaml', () => {
    const cwd = tempDir({ 'firelane.yaml': 'incidents:\n  foo: 1\n' });
    expect(errorOf(() => loadConfig({}, cwd))).toBe('firelane.yaml: incidents.foo: unknown key');
  });

  it('FIRELANE_CONFIG (relative to cwd) wins over ./firelane.yaml', () => {
    const cwd = tempDir({ 'firelane.yaml': 'incidents: { channelPrefix: no }\n', 'conf/prod.yaml': YAML_OK });
    const config = loadConfig({ FIRELANE_CONFIG: 'conf/prod.yaml' }, cwd);
    expect(config.file.incidents.channelPrefix).toBe('war');
    expect(config.source).toBe(path.join(cwd, 'conf', 'prod.yaml'));
  });

  it('errors in a FIRELANE_CONFIG file name the file as given', () => {
    const cwd = tempDir({ 'conf/prod.yaml': 'nope: 1\n' });
    expect(errorOf(() => loadConfig({ FIRELANE_CONFIG: 'conf/prod.yaml' }, cwd))).toBe(
      'conf/prod.yaml: nope: unknown key',
    );
  });

  it('FIRELANE_CONFIG pointing at a missing file or a directory stops start-up', () => {
    const cwd = tempDir({ 'firelane.yaml': YAML_OK, 'conf/x.yaml': YAML_OK });
    expect(errorOf(() => loadConfig({ FIRELANE_CONFIG: 'missing.yaml' }, cwd))).toBe(
      'FIRELANE_CONFIG: file "missing.yaml" not found',
    );
    expect(errorOf(() => loadConfig({ FIRELANE_CONFIG: 'conf' }, cwd))).toBe('FIRELANE_CONFIG: "conf" is not a file');
  });

  it('loads the example file through FIRELANE_CONFIG', () => {
    const config = loadConfig({ FIRELANE_CONFIG: EXAMPLE_YAML }, tempDir());
    expect(config.source).toBe(EXAMPLE_YAML);
    expect(Object.keys(config.file.services)).toEqual(['payments']);
  });
});

describe('.env.example', () => {
  const VARIABLES = [
    'PORT',
    'HOST',
    'DATABASE_PATH',
    'DATABASE_URL',
    'FIRELANE_CONFIG',
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'SLACK_API_URL',
    'MICROSOFT_APP_ID',
    'MICROSOFT_APP_PASSWORD',
    'MICROSOFT_APP_TENANT_ID',
    'MICROSOFT_APP_TYPE',
    'GITHUB_TOKEN',
    'GITHUB_API_URL',
    'FIRELANE_PROMETHEUS_TOKEN',
    'FIRELANE_ALERTS_TOKEN',
    'FIRELANE_ALERTS_HMAC_SECRET',
    'KUBECONFIG',
    'LOG_LEVEL',
    'FIRELANE_CONSOLE',
    'FIRELANE_TEAMS_EMULATOR',
    'FIRELANE_PUBLIC_URL',
    'FIRELANE_OIDC_ISSUER',
    'FIRELANE_OIDC_CLIENT_ID',
    'FIRELANE_OIDC_CLIENT_SECRET',
  ];
  const lines = readFileSync(ENV_EXAMPLE, 'utf8').split('\n');

  it('the list above is exactly what the config code reads (read(env, NAME) in src/config*)', () => {
    const sources = [
      path.join(ROOT, 'src/config.ts'),
      ...readdirSync(path.join(ROOT, 'src/config')).map((f) => path.join(ROOT, 'src/config', f)),
    ];
    const read = new Set(
      sources.flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/\bread\(env, '([A-Z_]+)'\)/g)].map((m) => m[1]!),
      ),
    );
    expect([...read].sort()).toEqual([...VARIABLES].sort());
  });

  it('lists every variable once, under a comment saying what it is and its default', () => {
    for (const name of VARIABLES) {
      const at = lines.findIndex((line) => new RegExp(`^#?\\s*${name}=`).test(line));
      expect(at, name).toBeGreaterThan(0);
      const comment: string[] = [];
      for (let i = at - 1; i >= 0 && /^# \S/.test(lines[i]!); i--) comment.unshift(lines[i]!);
      expect(comment.join(' '), name).toMatch(/^# \S.* Default: \S/);
      expect(
        lines.filter((line) => new RegExp(`^#?\\s*${name}=`).test(line)),
        name,
      ).toHaveLength(1);
    }
  });

  it('is safe to copy: every assignment is commented out or empty, and loading it as is works', () => {
    const active: Record<string, string> = {};
    for (const line of lines) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line);
      if (match) active[match[1]!] = match[2]!;
    }
    for (const assigned of Object.values(active)) expect(assigned).toBe('');
    expect(loadConfig(active, tempDir()).env.localMode).toBe(true);
  });
});

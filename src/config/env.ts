// Validation of the environment variables. The environment is always passed in, so this file
// stays free of process-wide state; src/config.ts decides which environment to read.
import path from 'node:path';
import { ConfigError, LOG_LEVELS, TEAMS_APP_TYPES, type EnvConfig, type LogLevel, type TeamsAppType } from './types.js';
import { parseHttpUrl, show, showUrl } from './values.js';

/** Variables whose values are secrets: never echoed in messages or logs. */
export const SECRET_ENV_VARS = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'MICROSOFT_APP_PASSWORD',
  'GITHUB_TOKEN',
  'FIRELANE_OIDC_CLIENT_SECRET',
  'DATABASE_URL',
  'FIRELANE_PROMETHEUS_TOKEN',
] as const;

/** The values of the secret variables that are set, for the logger to mask (and DATABASE_URL's password alone). */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values = SECRET_ENV_VARS.map((name) => env[name]?.trim() ?? '').filter(Boolean);
  const password = databasePassword(env.DATABASE_URL?.trim());
  return password ? [...values, password] : values;
}

function databasePassword(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const password = new URL(raw).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** DATABASE_URL: a postgres:// or postgresql:// URL with a host and a database. Never shown whole (it holds a password). */
function parseDatabaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || !url.hostname)
    throw new ConfigError(
      'DATABASE_URL: not a PostgreSQL URL (value not shown); e.g. postgres://firelane:<password>@db.example.com:5432/firelane',
    );
  if (url.pathname.length <= 1)
    throw new ConfigError(`DATABASE_URL: names no database (${databaseLabel(raw)}); add /<database> after the host`);
  return raw;
}

/** A DATABASE_URL fit for logs and messages: user, host, port and database, never the password. */
export function databaseLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.username ? `${parsed.username}@` : ''}${parsed.host}${parsed.pathname}`;
}

/** Reads a variable; empty (or blank) counts as unset. Surrounding whitespace is dropped. */
export function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
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

const LOOPBACK_HOSTNAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** FIRELANE_PUBLIC_URL: an http(s) address without user info, query or fragment; kept without a trailing slash. */
function parsePublicUrl(raw: string | undefined, host: string, port: number): string {
  if (raw === undefined) return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = parseHttpUrl(raw);
  if (!url || url.search || url.hash || raw.endsWith('?') || raw.endsWith('#')) {
    throw new ConfigError(
      `FIRELANE_PUBLIC_URL: ${showUrl(raw)} is not an http(s) URL without a query or fragment (e.g. https://firelane.example.com)`,
    );
  }
  if (url.username || url.password)
    throw new ConfigError(`FIRELANE_PUBLIC_URL: ${showUrl(raw)} has user info (give the address only)`);
  return url.href.replace(/\/+$/, '');
}

/** Console sign-in: the issuer (https, or http on loopback) with its client id and secret, all three or none. */
function parseOidc(env: NodeJS.ProcessEnv): EnvConfig['oidc'] {
  const issuer = read(env, 'FIRELANE_OIDC_ISSUER');
  const clientId = read(env, 'FIRELANE_OIDC_CLIENT_ID');
  const clientSecret = read(env, 'FIRELANE_OIDC_CLIENT_SECRET');
  if (issuer === undefined) {
    const stray = [
      clientId !== undefined && 'FIRELANE_OIDC_CLIENT_ID',
      clientSecret !== undefined && 'FIRELANE_OIDC_CLIENT_SECRET',
    ].filter((x): x is string => typeof x === 'string');
    if (stray.length > 0)
      throw new ConfigError(
        `FIRELANE_OIDC_ISSUER: not set, but ${stray.join(' and ')} ${stray.length === 1 ? 'is' : 'are'} (sign-in needs the issuer)`,
      );
    return undefined;
  }
  const url = parseHttpUrl(issuer);
  if (!url || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(
      `FIRELANE_OIDC_ISSUER: ${showUrl(issuer)} is not an https URL without a query or fragment (e.g. https://slack.com)`,
    );
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTNAMES.includes(url.hostname)) {
    throw new ConfigError(
      `FIRELANE_OIDC_ISSUER: ${showUrl(issuer)} must be https (plain http only for 127.0.0.1, localhost or [::1])`,
    );
  }
  if (clientId === undefined && clientSecret === undefined) {
    throw new ConfigError(
      'FIRELANE_OIDC_CLIENT_ID: not set, but FIRELANE_OIDC_ISSUER is (sign-in needs the client id and secret)',
    );
  }
  if (clientSecret === undefined)
    throw new ConfigError('FIRELANE_OIDC_CLIENT_SECRET: not set, but FIRELANE_OIDC_CLIENT_ID is (they go together)');
  if (clientId === undefined)
    throw new ConfigError('FIRELANE_OIDC_CLIENT_ID: not set, but FIRELANE_OIDC_CLIENT_SECRET is (they go together)');
  if (/\s/.test(clientSecret))
    throw new ConfigError('FIRELANE_OIDC_CLIENT_SECRET: contains whitespace (value not shown)');
  return { issuer, clientId, clientSecret };
}

function resolveDatabasePath(raw: string | undefined, cwd: string): string {
  if (raw === ':memory:') return raw;
  return path.resolve(cwd, raw ?? './data/firelane.db');
}

/** Validates the environment variables of the contract. */
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

  // Prometheus (metric gates of deploys)
  const prometheusToken = read(env, 'FIRELANE_PROMETHEUS_TOKEN');
  if (prometheusToken !== undefined && /\s/.test(prometheusToken))
    throw new ConfigError('FIRELANE_PROMETHEUS_TOKEN: contains whitespace (value not shown)');

  // Alert webhooks (/alerts/*): off (404) unless a token or an HMAC secret is set.
  const alertsToken = read(env, 'FIRELANE_ALERTS_TOKEN');
  if (alertsToken !== undefined && /\s/.test(alertsToken))
    throw new ConfigError('FIRELANE_ALERTS_TOKEN: contains whitespace (value not shown)');
  const alertsHmacSecret = read(env, 'FIRELANE_ALERTS_HMAC_SECRET');

  // Local mode (the console trusts a typed name) only with no chat and no sign-in credentials at all.
  const oidc = parseOidc(env);
  const localMode = slack === undefined && teams === undefined && oidc === undefined;
  const consoleEnabled =
    parseSwitch('FIRELANE_CONSOLE', read(env, 'FIRELANE_CONSOLE')) ?? (slack === undefined && teams === undefined);
  const teamsEmulator = parseSwitch('FIRELANE_TEAMS_EMULATOR', read(env, 'FIRELANE_TEAMS_EMULATOR')) ?? false;

  const host = read(env, 'HOST') ?? (localMode ? '127.0.0.1' : '0.0.0.0');
  if (/\s/.test(host)) throw new ConfigError(`HOST: ${show(host)} is not a bind address`);
  const publicUrlRaw = read(env, 'FIRELANE_PUBLIC_URL');
  // The sign-in redirect must be an address browsers reach; http://0.0.0.0:3000 never is.
  if (oidc && publicUrlRaw === undefined)
    throw new ConfigError(
      'FIRELANE_PUBLIC_URL: not set, but FIRELANE_OIDC_ISSUER is (sign-in redirects to <public URL>/auth/callback)',
    );
  const publicUrl = parsePublicUrl(publicUrlRaw, host, port);

  const out: EnvConfig = {
    port,
    host,
    databasePath: resolveDatabasePath(read(env, 'DATABASE_PATH'), cwd),
    logLevel,
    publicUrl,
    consoleEnabled,
    localMode,
  };
  const databaseUrl = parseDatabaseUrl(read(env, 'DATABASE_URL'));
  if (databaseUrl) out.databaseUrl = databaseUrl;
  if (oidc) out.oidc = oidc;
  if (slack) out.slack = slack;
  if (teams) out.teams = teams;
  if (teamsEmulator) out.teamsEmulator = true;
  if (github) out.github = github;
  if (prometheusToken !== undefined) out.prometheus = { token: prometheusToken };
  if (alertsToken !== undefined || alertsHmacSecret !== undefined)
    out.alerts = {
      ...(alertsToken !== undefined && { token: alertsToken }),
      ...(alertsHmacSecret !== undefined && { hmacSecret: alertsHmacSecret }),
    };
  const kubeconfig = read(env, 'KUBECONFIG');
  if (kubeconfig !== undefined) out.kubeconfig = kubeconfig;
  // Where else a kubeconfig may be, as kubectl looks: ~/.kube/config, or the pod's service account.
  // These are set by the system and by Kubernetes, not firelane settings (.env.example names them).
  const system = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const home = system('HOME');
  if (home !== undefined) out.home = home;
  if (system('KUBERNETES_SERVICE_HOST') !== undefined && system('KUBERNETES_SERVICE_PORT') !== undefined)
    out.inCluster = true;
  return out;
}

/** The environment config with secrets replaced, safe to log. */
export function redactEnvConfig(env: EnvConfig): Record<string, unknown> {
  const hidden = '[redacted]';
  return {
    ...env,
    slack: env.slack && { ...env.slack, botToken: hidden, signingSecret: hidden },
    teams: env.teams && { ...env.teams, ...(env.teams.appPassword !== undefined ? { appPassword: hidden } : {}) },
    github: env.github && { ...env.github, token: hidden },
    prometheus: env.prometheus && { token: hidden },
    alerts: env.alerts && {
      ...(env.alerts.token !== undefined && { token: hidden }),
      ...(env.alerts.hmacSecret !== undefined && { hmacSecret: hidden }),
    },
    oidc: env.oidc && { ...env.oidc, clientSecret: hidden },
    ...(env.databaseUrl && { databaseUrl: databaseLabel(env.databaseUrl) }),
  };
}

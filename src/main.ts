// Composition root: config -> logger -> firelane -> listen; SIGTERM/SIGINT shut down gracefully.
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, redactEnvConfig, secretValues, type Config } from './config.js';
import { createFirelane } from './app.js';
import { createLogger } from './log.js';
import type { AddressInfo } from 'node:net';
import { takeServeLock, type ServeLock } from './adapters/db/serve-lock.js';
import { targetEnvironments } from './config/environments.js';

/** One line per platform, saying what is on and, for what is off, why. */
export function describePlatforms(
  config: Config,
  kubernetes: { simulated: boolean; problem?: string | undefined },
): string[] {
  const env = config.env;
  const deployable = Object.entries(config.file.services)
    .filter(([, service]) => targetEnvironments(service).length > 0)
    .map(([name, service]) => `${name} (${targetEnvironments(service).join(', ')})`);
  return [
    env.slack ? 'slack: on (POST /slack/events)' : 'slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)',
    env.teams
      ? `teams: app ${env.teams.appId} (POST /api/messages, tokens verified${env.teams.tenantId ? `, tenant ${env.teams.tenantId} only` : ''})`
      : env.localMode || env.teamsEmulator
        ? 'teams: local emulator only (no MICROSOFT_APP_ID: POST /api/messages from loopback)'
        : 'teams: off (set MICROSOFT_APP_ID, or FIRELANE_TEAMS_EMULATOR=1 for the local Bot Framework Emulator)',
    env.github
      ? `github: ${env.github.apiUrl ?? 'api.github.com'} (/hotfix)`
      : 'github: off (set GITHUB_TOKEN for /hotfix)',
    kubernetes.simulated
      ? `kubernetes: SIMULATED (local mode, no Kubernetes configuration found; the console shows it): ${deployable.join(', ')}`
      : kubernetes.problem
        ? `kubernetes: off: ${kubernetes.problem}`
        : `kubernetes: ${deployable.join(', ')}`,
    'cli: on (npx firelane run "/incident list")',
  ];
}

/** The one line a person at a terminal needs: where to go now. Logs stay JSON lines for machines. */
export function humanStartLine(config: Config, address: AddressInfo, simulated: boolean): string {
  const host =
    address.address === '0.0.0.0' || address.address === '::'
      ? '127.0.0.1'
      : address.address.includes(':')
        ? `[${address.address}]`
        : address.address;
  const url = `http://${host}:${address.port}/`;
  if (config.env.consoleEnabled) {
    return `firelane is up: open ${url} in your browser${simulated ? ' (local console; deploys go to a simulated cluster)' : ''}. Ctrl+C stops it.`;
  }
  return `firelane is up on ${url} (Slack: POST /slack/events, Teams: POST /api/messages). Ctrl+C stops it.`;
}

export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`firelane: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.env.logLevel, secretValues(env));
  let firelane;
  let lock: ServeLock | undefined;
  try {
    // Two servers on one SQLite file would both run its jobs and reminders: the second is refused.
    // On PostgreSQL any number of servers share the database: that is what it is for.
    if (!config.env.databaseUrl && config.env.databasePath !== ':memory:')
      lock = takeServeLock(config.env.databasePath);
    firelane = await createFirelane({ config, logger });
  } catch (error) {
    lock?.release();
    process.stderr.write(`firelane: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const address = await firelane.listen(config.env.port, config.env.host);
  lock?.setAddress(`http://${address.address}:${address.port}/`);
  logger.info(
    {
      address: `http://${address.address}:${address.port}/`,
      database: firelane.storage.label,
      config: config.source,
      platforms: describePlatforms(firelane.config, {
        simulated: firelane.simulated !== undefined,
        problem: firelane.clusterProblem,
      }),
    },
    'firelane is up',
  );
  if (process.stdout.isTTY)
    process.stdout.write(`${humanStartLine(config, address, firelane.simulated !== undefined)}\n`);
  logger.debug({ settings: redactEnvConfig(config.env) }, 'settings (secrets redacted)');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests; waiting for running jobs');
    firelane
      .close(10_000)
      .then(() => {
        lock?.release();
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  serve().catch((error: unknown) => {
    process.stderr.write(`firelane: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}

// Composition root: config -> logger -> firelane -> listen; SIGTERM/SIGINT shut down gracefully.
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, redactEnvConfig, secretValues, type Config } from './config.js';
import { createFirelane } from './app.js';
import { createLogger } from './log.js';

/** One line per platform, saying what is on and, for what is off, why. */
export function describePlatforms(config: Config, simulated = false): string[] {
  const env = config.env;
  return [
    env.slack ? 'slack: on (POST /slack/events)' : 'slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)',
    env.teams ? `teams: app ${env.teams.appId} (POST /api/messages, tokens verified)` : 'teams: local emulator only (no MICROSOFT_APP_ID: POST /api/messages from loopback)',
    env.github ? `github: ${env.github.apiUrl ?? 'api.github.com'} (/hotfix)` : 'github: off (set GITHUB_TOKEN for /hotfix)',
    simulated
      ? `kubernetes: SIMULATED (no KUBECONFIG; the console shows it): services ${Object.entries(config.file.services).filter(([, s]) => s.kubernetes).map(([n]) => n).join(', ')}`
      : Object.values(config.file.services).some((s) => s.kubernetes)
      ? `kubernetes: services ${Object.entries(config.file.services).filter(([, s]) => s.kubernetes).map(([n]) => n).join(', ')}`
      : 'kubernetes: off (no service has a kubernetes block in the config)',
    'cli: on (npx firelane run "/incident list")',
  ];
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
  try {
    firelane = await createFirelane({ config, logger });
  } catch (error) {
    process.stderr.write(`firelane: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const address = await firelane.listen(config.env.port, config.env.host);
  logger.info(
    { address: `http://${address.address}:${address.port}/`, database: config.env.databasePath, config: config.source, platforms: describePlatforms(firelane.config, firelane.simulated !== undefined) },
    'firelane is up',
  );
  logger.debug({ settings: redactEnvConfig(config.env) }, 'settings (secrets redacted)');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests; waiting for running jobs');
    firelane
      .close(10_000)
      .then(() => {
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

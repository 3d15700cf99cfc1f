#!/usr/bin/env node
// `firelane` command line: serve (default), migrate, run "<command>" [--user=U], audit verify|export,
// manifest slack --url=<public URL>.
import { parseArgs } from 'node:util';
import { userInfo } from 'node:os';
import { ConfigError, loadConfig, secretValues } from './config.js';
import { openDatabase } from './adapters/db/database.js';
import { createFirelane } from './app.js';
import { cleanText } from './domain/clean-text.js';
import { createLogger } from './log.js';
import { renderText } from './views/render-text.js';
import { serve } from './main.js';
import { AUDIT_USAGE, runAuditCommand } from './audit-cli.js';
import { jobsLeftNotice } from './run-cli.js';
import { MANIFEST_USAGE, runManifestCommand } from './manifest-cli.js';

const USAGE = `Usage:
  firelane [serve]                      start the server (same as npm start)
  firelane migrate                      apply database migrations and exit
  firelane run "<command>" [--user=U]   run one command against the database and print the reply
${AUDIT_USAGE}
${MANIFEST_USAGE}`;

function fail(message: string, code = 2): never {
  process.stderr.write(`firelane: ${message}\n`);
  process.exit(code);
}

function config() {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
    throw error;
  }
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { user: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) fail(`run takes one quoted command\n${USAGE}`);
  const cfg = config();
  // Logs go to stderr so that standard output holds only the reply.
  const logger = createLogger(
    cfg.env.logLevel === 'info' ? 'warn' : cfg.env.logLevel,
    secretValues(),
    process.stderr as never,
  );
  const firelane = await createFirelane({ config: cfg, logger, defaultMetrics: false });
  try {
    // As any chat text: without the control characters firelane never stores (a terminal's escapes).
    const user = cleanText(values.user ?? (userInfo().username || 'cli'));
    const started = Date.now();
    const result = await firelane.router.handle({
      text: cleanText(positionals[0]!),
      actor: { id: user, name: user },
      platform: 'cli',
    });
    process.stdout.write(`${renderText(result.reply)}\n`);
    // Finish the follow-up work (war room, announcements) before exiting, then say what of this
    // command's work is left: jobs queued earlier (another incident's reminders) are not its business.
    await firelane.worker.drain(15_000);
    for (const line of jobsLeftNotice(await firelane.store.jobs.leftSince(started))) process.stderr.write(`${line}\n`);
    process.exitCode = result.outcome === 'ok' || result.outcome === 'duplicate' ? 0 : 1;
  } finally {
    await firelane.storage.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate': {
      const { databasePath, databaseUrl } = config().env;
      if (databaseUrl) {
        const { openPostgres } = await import('./adapters/postgres/database.js');
        await (await openPostgres(databaseUrl, { poolSize: 1 })).close();
      } else openDatabase(databasePath).close();
      process.stdout.write('migrations applied\n');
      return;
    }
    case 'run':
      return run(rest);
    case 'audit':
      // Standard output carries only the verdict or the exported rows; messages go to stderr.
      process.exitCode = await runAuditCommand(rest, {
        databasePath: () => config().env.databasePath,
        databaseUrl: () => config().env.databaseUrl,
        stdout: process.stdout,
        stderr: process.stderr,
      });
      return;
    case 'manifest':
      // Standard output carries only the manifest; a bad or missing --url is one line on stderr, exit 2.
      process.exitCode = runManifestCommand(rest, { stdout: process.stdout, stderr: process.stderr });
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 1));

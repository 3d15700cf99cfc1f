// Starts a whole firelane (real Bolt app, real database, real worker) against a loopback fake
// Slack, and speaks to it the way Slack does: signed form posts to /slack/events. The database is a
// SQLite file in the harness's folder, or a fresh PostgreSQL database with FIRELANE_TEST_STORE=postgres
// (test-store.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createFirelane, type Firelane, type FirelaneOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Cluster } from '../../src/ports/cluster.js';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions } from '../fakes/fake-slack.js';
import { signedHeaders } from './slack-signing.js';
import { databaseEnv, dropDatabase } from './test-store.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-token';
export const ANNOUNCE = 'C0INCIDENTS';

export interface Harness {
  slack: FakeSlack;
  firelane: Firelane;
  url: string;
  dir: string;
  /** The SQLite file (meaningless with FIRELANE_TEST_STORE=postgres: see firelane.config.env.databaseUrl). */
  databasePath: string;
  /** POSTs a signed slash command; returns the HTTP status and the parsed JSON body (if any). */
  command(text: string, options?: CommandOptions): Promise<{ status: number; body: any; ms: number }>;
  /** POSTs a signed interaction payload (block_actions, view_submission). */
  interaction(
    payload: Record<string, unknown>,
    options?: { timestamp?: number },
  ): Promise<{ status: number; body: any }>;
  /** POSTs a raw body with the given headers. */
  post(body: string, headers: Record<string, string>): Promise<{ status: number; text: string }>;
  /** Runs every due job to completion. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface CommandOptions {
  user?: string;
  channel?: string;
  triggerId?: string;
  command?: string;
  timestamp?: number;
}

export interface HarnessOptions {
  fake?: FakeSlackOptions;
  /** YAML for firelane.yaml. */
  configYaml?: string;
  env?: Record<string, string>;
  /** Reuse a directory (restart tests): on PostgreSQL, the database of that directory too. */
  dir?: string;
  /** Start the background worker (default false: tests call drain()). */
  startWorker?: boolean;
  slack?: FakeSlack;
  /** A manual clock for reminder tests (default: the system clock). */
  clock?: Clock;
  /** Run the real once-a-second reminder tick (default: only with the system clock). */
  reminderTicker?: boolean;
  /** Kubernetes for /deploy and /rollback (e.g. test/fakes/memory-cluster). */
  cluster?: Cluster;
  /** How deploy jobs poll a rollout (tests: a few milliseconds). */
  deploy?: FirelaneOptions['deploy'];
  /** GitHub for /hotfix (e.g. the adapter on test/fakes/fake-github). */
  git?: FirelaneOptions['git'];
  /** The app's logger (default: silent). */
  logger?: FirelaneOptions['logger'];
  /** Teams overrides (app-id mode against test/support/bot-auth). */
  teams?: FirelaneOptions['teams'];
  /** Worker overrides (default: 20 ms polls, 5-50 ms backoff). */
  worker?: FirelaneOptions['worker'];
  /** The Slack client as production builds it (2 quick retries) instead of the tests' 0 retries. */
  productionSlackClient?: boolean;
}

let triggerCounter = 0;

export const DEFAULT_YAML = `incidents:
  announceChannel: ${ANNOUNCE}
  escalationChannel: C0ESCALATE
  severities:
    sev1: { responders: [U0ONCALL1, U0ONCALL2] }
`;

/**
 * firelane's config for a test in `dir`: a SQLite file there, unless `options.env` names another
 * database (pass `...(await databaseEnv(dir))` for the one FIRELANE_TEST_STORE asks for).
 */
export function testConfig(dir: string, slackApiUrl: string, options: HarnessOptions = {}): Config {
  const yamlPath = join(dir, 'firelane.yaml');
  writeFileSync(yamlPath, options.configYaml ?? DEFAULT_YAML);
  return loadConfig(
    {
      DATABASE_PATH: join(dir, 'firelane.db'),
      FIRELANE_CONFIG: yamlPath,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slackApiUrl,
      LOG_LEVEL: 'silent',
      ...options.env,
    },
    dir,
  );
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const slack =
    options.slack ??
    (await startFakeSlack({
      channels: [
        { id: ANNOUNCE, name: 'incidents' },
        { id: 'C0ESCALATE', name: 'escalations' },
        { id: 'C0GENERAL', name: 'general' },
      ],
      ...options.fake,
    }));
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'firelane-it-'));
  const config = testConfig(dir, slack.apiUrl, { ...options, env: { ...(await databaseEnv(dir)), ...options.env } });
  const firelane = await createFirelane({
    config,
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.clock && { clock: options.clock }),
    reminderTicker: options.reminderTicker ?? !options.clock,
    ...(!options.productionSlackClient && { slackClientOptions: { retryConfig: { retries: 0 } } }),
    defaultMetrics: false,
    worker: { pollMs: 20, baseDelayMs: 5, maxDelayMs: 50, ...options.worker },
    ...(options.cluster && { cluster: options.cluster }),
    ...(options.git && { git: options.git }),
    ...(options.teams && { teams: options.teams }),
    ...(options.deploy && { deploy: options.deploy }),
  });
  const address = await firelane.listen(0, '127.0.0.1');
  if (!options.startWorker) await firelane.worker.stop(0);
  const url = `http://127.0.0.1:${address.port}`;

  async function post(body: string, headers: Record<string, string>) {
    const response = await fetch(`${url}/slack/events`, { method: 'POST', headers, body });
    return { status: response.status, text: await response.text() };
  }

  return {
    slack,
    firelane,
    url,
    dir,
    databasePath: config.env.databasePath,
    post,
    async command(text, o = {}) {
      const form = new URLSearchParams({
        token: 'deprecated-verification-token',
        team_id: 'T0001',
        team_domain: 'acme',
        channel_id: o.channel ?? 'C0GENERAL',
        channel_name: 'general',
        user_id: o.user ?? 'U0ALICE',
        user_name: 'alice',
        command: o.command ?? '/incident',
        text,
        api_app_id: 'A0FIRELANE',
        response_url: slack.responseUrl(`cmd-${++triggerCounter}`),
        trigger_id: o.triggerId ?? `trigger-${triggerCounter}-${Math.random().toString(36).slice(2)}`,
      }).toString();
      const started = performance.now();
      const response = await fetch(`${url}/slack/events`, {
        method: 'POST',
        headers: signedHeaders(SIGNING_SECRET, form, o.timestamp),
        body: form,
      });
      const ms = performance.now() - started;
      const raw = await response.text();
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        /* plain text */
      }
      return { status: response.status, body, ms };
    },
    async interaction(payload, o = {}) {
      const form = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const response = await fetch(`${url}/slack/events`, {
        method: 'POST',
        headers: signedHeaders(SIGNING_SECRET, form, o.timestamp),
        body: form,
      });
      const raw = await response.text();
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        /* plain text */
      }
      return { status: response.status, body };
    },
    drain: () => firelane.worker.drain(10_000),
    async close() {
      await firelane.close(1000);
      if (!options.slack) await slack.close();
      if (!options.dir) {
        rmSync(dir, { recursive: true, force: true });
        await dropDatabase(dir);
      }
    },
  };
}

/** A block_actions payload for a click on a firelane button. */
export function buttonClick(options: {
  user: string;
  channel: string;
  messageTs: string;
  actionId: string;
  value: string;
  responseUrl: string;
}) {
  return {
    type: 'block_actions',
    user: {
      id: options.user,
      username: options.user.toLowerCase(),
      name: options.user.toLowerCase(),
      team_id: 'T0001',
    },
    api_app_id: 'A0FIRELANE',
    token: 'deprecated',
    container: { type: 'message', message_ts: options.messageTs, channel_id: options.channel, is_ephemeral: false },
    trigger_id: `trigger-${Math.random().toString(36).slice(2)}`,
    team: { id: 'T0001', domain: 'acme' },
    channel: { id: options.channel, name: 'war-room' },
    response_url: options.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: options.actionId,
        block_id: 'b1',
        text: { type: 'plain_text', text: 'x' },
        value: options.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

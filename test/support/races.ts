// Two commands at once, the ways the race tests send them: over Slack to two firelanes on one
// PostgreSQL database (two replicas), and handed at once to one firelane's router (its store is
// asynchronous, so the two interleave; over HTTP one request's parsing outlasts the other's whole
// decision, so they seldom overlap in one process).
import { expect } from 'vitest';
import { ackText } from '../integration/slack-helpers.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';
import { createDatabase, postgresServer } from './postgres.js';
import { TEMPLATE_DATABASE } from './postgres-server.js';
import { TEST_STORE } from './test-store.js';

/** Sends a whole command line (`/incident resolve INC-1`) as `user` to `h`; the answer's text. */
export type Send = (h: Harness, line: string, user: string) => Promise<string>;

export interface Replicas {
  a: Harness;
  /** Another firelane on a's database, or a itself. */
  b: Harness;
  send: Send;
  close(): Promise<void>;
}

export interface RaceSetup {
  name: string;
  open(): Promise<Replicas>;
}

/** `/deploy payments v2` -> ['/deploy', 'payments v2'] */
function splitLine(line: string): [string, string] {
  const space = line.indexOf(' ');
  return space === -1 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
}

/** A slash command over Slack's wire, in #C0GENERAL: the text the acknowledgement shows. */
export const overSlack: Send = async (h, line, user) => {
  const [command, text] = splitLine(line);
  const ack = await h.command(text, { user, command });
  expect(ack.status).toBe(200);
  return ackText(ack.body);
};

let requests = 0;
/** The command as the Slack adapter hands it to the router once the request is read. */
export const intoRouter: Send = async (h, line, user) =>
  (
    await h.firelane.router.handle({
      text: line,
      textFormat: 'slack',
      actor: { id: user },
      platform: 'slack',
      roomId: 'C0GENERAL',
      idempotencyKey: `slack:command:race-${++requests}`,
    })
  ).reply.text;

/**
 * One firelane on the test store with both commands into its router, and (when a PostgreSQL server is
 * there) two firelanes on one fresh PostgreSQL database, over Slack. `options` is read when a setup
 * opens (a fake GitHub or cluster may be made in beforeAll); both firelanes share what it gives.
 */
export function raceSetups(options: () => HarnessOptions): RaceSetup[] {
  const server = postgresServer();
  return [
    {
      name: `one firelane (${TEST_STORE}), both into its router`,
      async open() {
        const a = await startHarness(options());
        return { a, b: a, send: intoRouter, close: () => a.close() };
      },
    },
    ...(server
      ? [
          {
            name: 'two firelanes on one PostgreSQL database, over Slack',
            async open(): Promise<Replicas> {
              const database = await createDatabase(server, TEMPLATE_DATABASE);
              const given = options();
              const env = { ...given.env, DATABASE_URL: database.url };
              const a = await startHarness({ ...given, env });
              const b = await startHarness({ ...given, env, slack: a.slack });
              return {
                a,
                b,
                send: overSlack,
                async close() {
                  await b.close();
                  await a.close();
                  await database.drop();
                },
              };
            },
          },
        ]
      : []),
  ];
}

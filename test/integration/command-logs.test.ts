// Logs an on-call engineer can filter: every command's lines carry its platform, command, user and
// (once known) incident; the jobs that follow carry the incident too. Real Slack requests into the
// whole app, with the app's pino logger writing JSON lines into an array.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { BOT_TOKEN, SIGNING_SECRET, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => h?.close());

function capture() {
  const lines: string[] = [];
  // The production logger (redaction included), at debug so reads are visible too.
  const logger = createLogger('debug', [BOT_TOKEN, SIGNING_SECRET], {
    write: (chunk: string) => void lines.push(chunk),
  });
  return {
    logger,
    output: () => lines.join(''),
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('command logs', () => {
  it('bind platform, command, user and incident, for commands and the jobs they queue', async () => {
    const log = capture();
    h = await startHarness({ logger: log.logger });

    const declared = await h.command('sev1 Checkout errors', { user: 'U0ALICE' });
    expect(declared.status).toBe(200);
    await h.drain();
    const room = (await h.firelane.store.incidents.get(1))!.roomId!;
    expect(room).toBeTruthy();
    // In the war room: the incident is implied, and still named in the log.
    await h.command('note Rolled back the config flag', { user: 'U0BOB', channel: room });
    // A read, and a bad command.
    await h.command('list', { user: 'U0BOB' });
    await h.command('update INC-9 monitoring nothing here', { user: 'U0BOB' });

    const done = log.entries().filter((e) => e.msg === 'command done');
    expect(done.map((e) => [e.level, e.platform, e.command, e.user, e.incident])).toEqual([
      [30, 'slack', 'incident declare', 'U0ALICE', 'INC-1'],
      [30, 'slack', 'incident note', 'U0BOB', 'INC-1'],
      [20, 'slack', 'incident list', 'U0BOB', undefined],
    ]);
    // The war-room job logs with the incident it works for.
    const jobs = log.entries().filter((e) => e.job === 'incident.open-war-room');
    expect(jobs.map((e) => [e.msg, e.incident])).toContainEqual(['job done', 'INC-1']);
    expect(jobs.every((e) => e.incident === 'INC-1')).toBe(true);
    // Nothing secret on the way.
    expect(log.output()).not.toContain(BOT_TOKEN);
    expect(log.output()).not.toContain(SIGNING_SECRET);
  });

  it('an unexpected failure is logged once with its reference, command and incident', async () => {
    const log = capture();
    h = await startHarness({ logger: log.logger });
    await h.command('sev2 Search is slow', { user: 'U0ALICE' });
    await h.drain();
    // Break the store under the note command: the router answers with a reference and logs it.
    const store = h.firelane.store.incidents;
    const addEvent = store.addEvent;
    store.addEvent = async () => {
      throw new Error('disk I/O error');
    };
    const ack = await h.command('note INC-1 checking the index', { user: 'U0BOB' });
    store.addEvent = addEvent;
    const ref = /ref (\w+)/.exec(JSON.stringify(ack.body))?.[1];
    expect(ref).toBeDefined();
    const failed = log.entries().filter((e) => e.msg === 'command failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: 50,
      ref,
      platform: 'slack',
      command: 'incident note',
      user: 'U0BOB',
      incident: 'INC-1',
      err: { message: 'disk I/O error' },
    });
  });
});

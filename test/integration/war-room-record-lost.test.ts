// The war room was created, but the job's record of it was lost (as when the process dies between the platform's
// answer and the step's record; here the first record of the `create-room` step fails): the job runs again and finds
// the room it made, on every platform, instead of opening a second one. Slack: by its channel's creator and purpose
// (test/integration/slack-war-room-reuse.test.ts and war-room-crash.test.ts go through the lost answer itself);
// Teams: by firelane's record of the thread; the console: by the room's first topic.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Firelane } from '../../src/app.js';
import { startHarness, type Harness } from '../support/harness.js';
import { drainUntilSettled, incident } from './slack-helpers.js';
import { GENERAL, startTeams, type TeamsRig } from './teams-helpers.js';

/** The first record of the `create-room` step fails, as if the process had died right before it. */
function loseTheFirstRoomRecord(firelane: Firelane): { lost: () => number } {
  const jobs = firelane.store.jobs;
  const saveStep = jobs.saveStep.bind(jobs);
  let lost = 0;
  jobs.saveStep = async (id, step, result) => {
    if (step === 'create-room' && lost++ === 0) throw new Error('the process died before the step was recorded');
    return saveStep(id, step, result);
  };
  return { lost: () => lost };
}

describe('the record of the war room is lost: the retry finds the room', () => {
  let rig: TeamsRig | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await rig?.close();
    await h?.close();
    rig = undefined;
    h = undefined;
  });

  it('Teams: one thread, the one made first', async () => {
    rig = await startTeams();
    const record = loseTheFirstRoomRecord(rig.h.firelane);
    expect((await rig.send({ text: 'incident sev1 Payments down' })).status).toBe(200);
    await vi.waitFor(
      async () => {
        await rig!.h.drain();
        expect(await rig!.h.firelane.store.jobs.state('war-room:1')).toBe('done');
      },
      { timeout: 5000, interval: 20 },
    );
    expect(record.lost()).toBe(2); // the lost one, then the retry's
    const threads = rig.connector.conversations().filter((c) => c.createdBy === 'createConversation');
    expect(threads.map((c) => c.channelId)).toEqual([GENERAL]);
    const stored = await rig.h.firelane.store.incidents.get(1);
    expect(stored).toMatchObject({ roomId: threads[0]!.id, roomName: 'inc-1-payments-down' });
    // The thread's title was posted once, and the card went into it.
    expect(
      rig.connector.messagesIn(threads[0]!.id).filter((a) => a.text?.includes('inc-1-payments-down')),
    ).toHaveLength(1);
  });

  it('the console: one room, which then shows the incident’s topic', async () => {
    h = await startHarness();
    const record = loseTheFirstRoomRecord(h.firelane);
    const result = await h.firelane.router.handle({
      text: '/incident sev1 Payments down',
      actor: { id: 'alice', name: 'alice' },
      platform: 'console',
      idempotencyKey: 'console:war-room-record-lost',
    });
    expect(result.outcome).toBe('ok');
    expect(await drainUntilSettled(h, 'war-room:1')).toBe('done');
    await h.drain();
    expect(record.lost()).toBe(2);
    const rooms = (await h.firelane.consoleChat.rooms()).filter((r) => r.id.startsWith('inc-'));
    expect(rooms.map((r) => r.id)).toEqual(['inc-1-payments-down']);
    expect(await incident(h, 1)).toMatchObject({ roomId: 'inc-1-payments-down', platform: 'console' });
    expect(rooms[0]!.topic).not.toContain('War room of INC-1');
    expect(rooms[0]!.topic).toContain('SEV1');
  });

  it('Slack: one channel, the one made first', async () => {
    h = await startHarness();
    const record = loseTheFirstRoomRecord(h.firelane);
    expect((await h.command('sev1 Payment gateway down')).status).toBe(200);
    expect(await drainUntilSettled(h, 'war-room:1')).toBe('done');
    expect(record.lost()).toBe(2);
    const rooms = [...h.slack.channels.values()].filter((c) => c.name.startsWith('inc-1'));
    expect(rooms.map((c) => c.name)).toEqual(['inc-1-payment-gateway-down']);
    expect(await incident(h, 1)).toMatchObject({ roomId: rooms[0]!.id });
    await expect.poll(() => rooms[0]!.purpose).toMatch(/^War room of INC-1, declared .* UTC \(opened by firelane\)$/);
  });
});

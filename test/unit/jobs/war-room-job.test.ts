// The open-war-room job run twice at once, as when a replica's lease ran out while it waited for the
// platform and another replica took the job over: both end with the one room, recorded once. On each
// database; on PostgreSQL the two runs are on two replicas.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleChat } from '../../../src/adapters/console/console-chat.js';
import { DEFAULT_FILE_CONFIG } from '../../../src/config.js';
import { createIncidentJobs } from '../../../src/jobs/incident-jobs.js';
import { OPEN_WAR_ROOM, type JobContext, type JobRow } from '../../../src/ports/jobs.js';
import { consoleStoreOf } from '../../support/chat-stores.js';
import { auditRows, dialects, type StoreUnderTest } from '../../support/stores.js';

for (const dialect of dialects()) {
  describe(`the open-war-room job run twice at once on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let other: StoreUnderTest;
    beforeEach(async () => {
      t = await dialect.open();
      other = t.replica ? await t.replica() : t;
    });
    afterEach(async () => {
      if (other !== t) await other.close();
      await t.close();
    });

    const jobsOn = (s: StoreUnderTest) =>
      createIncidentJobs({
        store: s.store,
        chats: { console: createConsoleChat(consoleStoreOf(s), s.clock).chat },
        config: DEFAULT_FILE_CONFIG,
        clock: s.clock,
        logger: pino({ level: 'silent' }),
      });
    /** A run that found no step recorded (each read the job's progress before the other recorded any). */
    const context = (): JobContext => ({
      job: {
        id: 1,
        kind: OPEN_WAR_ROOM,
        key: 'war-room:1',
        payload: {},
        attempts: 1,
        runAt: 0,
        progress: {},
      } as JobRow,
      step: async (name, fn) => await fn({ key: `war-room:1:${name}`, retried: false }),
    });

    it('records the room, its timeline event and its audit entry once', async () => {
      const now = t.clock.now();
      const incident = await t.store.incidents.create({
        title: 'Payments down',
        description: null,
        severity: 'sev1',
        platform: 'console',
        declaredBy: 'alice',
        declaredAt: now,
        nextReminderAt: now + 15 * 60_000,
      });
      await Promise.all([t, other].map((s) => jobsOn(s)[OPEN_WAR_ROOM]({ incidentId: incident.id }, context())));

      expect(await t.store.incidents.get(incident.id)).toMatchObject({
        roomId: 'inc-1-payments-down',
        roomName: 'inc-1-payments-down',
      });
      const opened = (await t.store.incidents.timeline(incident.id)).filter((e) => e.kind === 'war_room_opened');
      expect(opened.map((e) => e.text)).toEqual(['War room inc-1-payments-down opened']);
      const audited = (await auditRows(t)).filter((row) => row.action === 'incident.war_room_opened');
      expect(audited).toHaveLength(1);
      expect(await t.store.jobs.state('topic:1:opened')).toBe('queued');
    });
  });
}

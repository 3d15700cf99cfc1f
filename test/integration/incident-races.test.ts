// Two /incident commands at once on the same incident: sent over Slack to two firelanes on one
// PostgreSQL database (two replicas), and handed at once to one firelane's router (support/races.ts).
// Each command decides on the incident as the other left it: the second of two resolves answers that the incident is already resolved and writes
// nothing, a severity change never lands on a resolved incident, and every answer says what
// happened. Each race runs on two incidents at once, the two commands sent in both orders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/domain/incident.js';
import { formatDuration } from '../../src/domain/duration.js';
import { type Harness, ANNOUNCE } from '../support/harness.js';
import { raceSetups, type Replicas } from '../support/races.js';
import { queryDatabase, queryOne } from '../support/test-store.js';
import { declare, incident } from './slack-helpers.js';

const MINUTE = 60_000;
const EVERY: Record<string, number> = { sev0: 10 * MINUTE, sev1: 15 * MINUTE, sev2: 30 * MINUTE };

const YAML = `incidents:
  announceChannel: ${ANNOUNCE}
  escalationChannel: C0ESCALATE
  severities:
    sev0: { reminderEvery: 10m }
    sev1: { reminderEvery: 15m }
    sev2: { reminderEvery: 30m }
`;

const setups = raceSetups(() => ({ configYaml: YAML, reminderTicker: false }));

describe.each(setups)('$name: two commands on one incident at once', (setup) => {
  /** `send` takes the words after `/incident`. */
  let r: Replicas;
  let declared = 0;
  /** The newest job before the last race. */
  let lastJob = 0;
  beforeAll(async () => {
    const opened = await setup.open();
    r = { ...opened, send: (h, text, user) => opened.send(h, `/incident ${text}`, user) };
  });
  afterAll(async () => r?.close());

  /** Two incidents to race on, their war rooms open and every job of theirs done. */
  async function twoIncidents(): Promise<[number, number]> {
    const ids: number[] = [];
    for (const n of [1, 2]) ids.push((await declare(r.a, `sev1 Race ${++declared}.${n}`)).id);
    return [ids[0]!, ids[1]!];
  }

  /**
   * `first` and `second` (with INC-n filled in) on each incident at once: on the first incident `first`
   * goes to replica a and `second` to b, on the other the other way round. Both answers per incident.
   */
  async function race(
    ids: [number, number],
    first: string,
    second: string,
  ): Promise<Array<{ id: number; first: string; second: string }>> {
    lastJob = (await queryOne<{ n: number | null }>(r.a.firelane, 'SELECT max(id) AS n FROM jobs'))?.n ?? 0;
    const send = (h: Harness, text: string, id: number, user: string) =>
      r.send(h, text.replaceAll('INC-n', `INC-${id}`), user);
    const [a0, b0, a1, b1] = await Promise.all([
      send(r.a, first, ids[0], 'U0ALICE'),
      send(r.b, second, ids[0], 'U0BOB'),
      send(r.a, second, ids[1], 'U0BOB'),
      send(r.b, first, ids[1], 'U0ALICE'),
    ]);
    return [
      { id: ids[0], first: a0!, second: b0! },
      { id: ids[1], first: b1!, second: a1! },
    ];
  }

  const events = async (id: number, kind?: string) =>
    (await r.a.firelane.store.incidents.timeline(id)).filter((e) => kind === undefined || e.kind === kind);
  /** The audit log's actions about the incident since it was declared, oldest first. */
  const auditActions = async (id: number, prefix: string) =>
    (
      await queryDatabase<{ action: string }>(
        r.a.firelane,
        'SELECT action FROM audit_log WHERE incident_id = ? ORDER BY seq',
        [id],
      )
    )
      .map((row) => row.action)
      .filter((action) => action.startsWith(prefix));
  /** The kinds of the jobs the last race queued for the incident, sorted. */
  const queued = async (id: number) =>
    (
      await queryDatabase<{ kind: string; payload: unknown }>(
        r.a.firelane,
        'SELECT kind, payload FROM jobs WHERE id > ?',
        [lastJob],
      )
    )
      .filter((job) => (typeof job.payload === 'string' ? JSON.parse(job.payload) : job.payload).incidentId === id)
      .map((job) => job.kind)
      .sort();
  /** Which of two timeline kinds came first (each at most once). */
  const order = async (id: number, kinds: string[]) =>
    (await events(id)).map((e) => e.kind).filter((kind) => kinds.includes(kind));

  it('resolve and resolve: one resolution, one announcement, one postmortem reminder; the other hears it is done', async () => {
    const ids = await twoIncidents();
    const resolve = 'resolve INC-n --root-cause="bad config" --action-items="add a check; page earlier"';
    for (const { id, first, second } of await race(ids, resolve, resolve)) {
      const answers = [first, second];
      expect(
        answers.filter((a) => a.includes(`INC-${id} resolved after`)),
        answers.join(' | '),
      ).toHaveLength(1);
      expect(answers.filter((a) => a.includes(`INC-${id} is already resolved. To open it again`))).toHaveLength(1);
      expect(await events(id, 'resolved')).toHaveLength(1);
      expect(await auditActions(id, 'incident.resolved')).toHaveLength(1);
      expect(await auditActions(id, 'incident.action_items_added')).toHaveLength(1);
      expect(await auditActions(id, 'timeline.resolved')).toHaveLength(1);
      expect(await r.a.firelane.store.incidents.actionItems(id)).toHaveLength(2);
      expect(await queued(id)).toEqual([
        'incident.broadcast',
        'incident.postmortem-reminder',
        'incident.refresh-topic',
      ]);
    }
  });

  it('resolve and severity change: a resolved incident is never re-graded; the answer says which happened', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'resolve INC-n', 'severity INC-n sev0')) {
      expect(first).toContain(`INC-${id} resolved after`);
      const stored = await incident(r.a, id);
      expect(stored).toMatchObject({ status: 'resolved', nextReminderAt: null });
      const seen = await order(id, ['resolved', 'severity_changed']);
      if (seen[0] === 'severity_changed') {
        expect(second).toContain(`INC-${id} is now SEV0.`);
        expect(seen).toEqual(['severity_changed', 'resolved']);
        expect(stored.severity).toBe('sev0');
      } else {
        expect(second).toContain(`INC-${id} is resolved; reopen it first with /incident reopen INC-${id}.`);
        expect(seen).toEqual(['resolved']);
        expect(stored.severity).toBe('sev1');
        expect(await auditActions(id, 'incident.severity_changed')).toEqual([]);
      }
    }
  });

  it('status update and resolve: an update never reopens a resolved incident', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(
      ids,
      'resolve INC-n',
      'update INC-n monitoring "error rate falls"',
    )) {
      expect(first).toContain(`INC-${id} resolved after`);
      expect(await incident(r.a, id)).toMatchObject({ status: 'resolved', nextReminderAt: null, snoozedUntil: null });
      const seen = await order(id, ['resolved', 'status_update']);
      if (seen[0] === 'status_update') {
        expect(second).toContain(`Update for INC-${id} recorded`);
        expect(seen).toEqual(['status_update', 'resolved']);
      } else {
        expect(second).toContain(`INC-${id} is resolved; reopen it first`);
        expect(seen).toEqual(['resolved']);
        expect(await auditActions(id, 'incident.status_update')).toEqual([]);
      }
    }
  });

  it('snooze and resolve: a resolved incident keeps no reminder', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'resolve INC-n', 'snooze INC-n 2h')) {
      expect(first).toContain(`INC-${id} resolved after`);
      expect(await incident(r.a, id)).toMatchObject({ status: 'resolved', nextReminderAt: null, snoozedUntil: null });
      const seen = await order(id, ['resolved', 'snoozed']);
      if (seen[0] === 'snoozed') {
        expect(second).toContain(`No reminders for INC-${id} until`);
        expect(seen).toEqual(['snoozed', 'resolved']);
      } else {
        expect(second).toContain(`INC-${id} is resolved: it has no reminders to snooze.`);
        expect(seen).toEqual(['resolved']);
      }
    }
  });

  it('snooze and status update: both recorded; the incident is as the later one left it', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'snooze INC-n 2h', 'update INC-n identified "cache node"')) {
      expect(first).toContain(`No reminders for INC-${id} until`);
      expect(second).toContain(`Update for INC-${id} recorded`);
      const seen = await order(id, ['snoozed', 'status_update']);
      expect([...seen].sort()).toEqual(['snoozed', 'status_update']);
      const stored = await incident(r.a, id);
      expect(stored.status).toBe('identified');
      if (seen.at(-1) === 'snoozed') {
        const until = (await events(id, 'snoozed'))[0]!.data!.until as number;
        expect(stored).toMatchObject({ snoozedUntil: until, nextReminderAt: until });
      } else {
        expect(stored).toMatchObject({ snoozedUntil: null, nextReminderAt: stored.lastUpdateAt + EVERY.sev1! });
      }
    }
  });

  it('reopen and reopen: reopened once; the other hears it is open', async () => {
    const ids = await twoIncidents();
    for (const id of ids) expect(await r.send(r.a, `resolve INC-${id}`, 'U0ALICE')).toContain('resolved after');
    await r.a.drain();
    for (const { id, first, second } of await race(ids, 'reopen INC-n', 'reopen INC-n')) {
      const answers = [first, second];
      expect(answers.filter((a) => a.includes(`INC-${id} is open again (investigating)`))).toHaveLength(1);
      expect(answers.filter((a) => a.includes(`INC-${id} is not resolved (it is investigating).`))).toHaveLength(1);
      expect(await events(id, 'reopened')).toHaveLength(1);
      expect(await auditActions(id, 'incident.reopened')).toHaveLength(1);
      expect(await auditActions(id, 'timeline.reopened')).toHaveLength(1);
      expect(await queued(id)).toEqual(['incident.broadcast', 'incident.refresh-topic']);
      const stored = await incident(r.a, id);
      expect(stored).toMatchObject({ status: 'investigating', resolvedAt: null });
      expect(stored.nextReminderAt).toBe(stored.lastUpdateAt + EVERY.sev1!);
    }
  });

  it('the same severity twice: changed once; the other hears it already is', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'severity INC-n sev0', 'severity INC-n sev0')) {
      const answers = [first, second];
      expect(answers.filter((a) => a.includes(`INC-${id} is now SEV0.`))).toHaveLength(1);
      expect(answers.filter((a) => a.includes(`INC-${id} is already SEV0.`))).toHaveLength(1);
      expect(await events(id, 'severity_changed')).toHaveLength(1);
      expect(await auditActions(id, 'incident.severity_changed')).toHaveLength(1);
      expect(await queued(id)).toEqual(['incident.broadcast', 'incident.refresh-topic']);
    }
  });

  it('two different severities: the second change starts from the first one’s severity', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'severity INC-n sev0', 'severity INC-n sev2')) {
      expect(first).toContain(`INC-${id} is now SEV0.`);
      expect(second).toContain(`INC-${id} is now SEV2.`);
      const changes = (await events(id, 'severity_changed')).map((e) => e.data as { from: string; to: string });
      expect(changes).toHaveLength(2);
      expect(changes[0]!.from).toBe('sev1');
      expect(changes[1]!.from).toBe(changes[0]!.to);
      const stored = await incident(r.a, id);
      expect(stored.severity).toBe(changes[1]!.to);
      expect(stored.nextReminderAt).toBe(stored.lastUpdateAt + EVERY[stored.severity]!);
    }
  });

  it('status update and severity change: the reminder follows the severity the incident ends with', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'severity INC-n sev0', 'update INC-n identified "db"')) {
      expect(first).toContain(`INC-${id} is now SEV0.`);
      expect(second).toContain(`Update for INC-${id} recorded`);
      const stored = await incident(r.a, id);
      expect(stored).toMatchObject({ severity: 'sev0', status: 'identified' });
      expect(stored.nextReminderAt).toBe(stored.lastUpdateAt + EVERY.sev0!);
    }
  });

  it('snooze and severity change: the snooze holds, and its answer names the cadence that follows it', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'severity INC-n sev0', 'snooze INC-n 2h')) {
      expect(first).toContain(`INC-${id} is now SEV0.`);
      const stored = await incident(r.a, id);
      const until = (await events(id, 'snoozed'))[0]!.data!.until as number;
      expect(stored).toMatchObject({ severity: 'sev0', snoozedUntil: until, nextReminderAt: until });
      const seen = await order(id, ['snoozed', 'severity_changed']);
      // The snooze answer tells the cadence after it: the severity it was decided under.
      const every = seen[0] === 'snoozed' ? EVERY.sev1! : EVERY.sev0!;
      expect(second).toContain(`No reminders for INC-${id} until`);
      expect(second).toContain(`then every ${formatDuration(every)} again`);
    }
  });

  it('two "Take command" clicks: one commander; the other hears who it is', async () => {
    const ids = await twoIncidents();
    const races = await Promise.all(
      ids.map(async (id, i) => {
        const answers = await Promise.all([
          r.send(i === 0 ? r.a : r.b, `lead INC-${id} @me --take`, 'U0ALICE'),
          r.send(i === 0 ? r.b : r.a, `lead INC-${id} @me --take`, 'U0BOB'),
        ]);
        return { id, answers };
      }),
    );
    for (const { id, answers } of races) {
      const stored: Incident = await incident(r.a, id);
      expect(['U0ALICE', 'U0BOB']).toContain(stored.commander);
      expect(answers.filter((a) => a.includes(`is now the incident commander of INC-${id}`))).toHaveLength(1);
      expect(answers.filter((a) => a.includes(`is already the incident commander of INC-${id}`))).toHaveLength(1);
      expect(await events(id, 'role_assigned')).toHaveLength(1);
      expect(await auditActions(id, 'incident.role_assigned')).toHaveLength(1);
    }
  });

  it('the same checklist item ticked twice: done once; the other hears by whom', async () => {
    const ids = await twoIncidents();
    for (const { id, first, second } of await race(ids, 'check INC-n 1', 'check INC-n 1')) {
      const answers = [first, second];
      expect(answers.filter((a) => a.includes(`✅ Item 1 of INC-${id} done`))).toHaveLength(1);
      expect(answers.filter((a) => a.includes(`Item 1 of INC-${id}`) && a.includes('is already done by'))).toHaveLength(
        1,
      );
      expect(await events(id, 'playbook_item_done')).toHaveLength(1);
      expect(await auditActions(id, 'incident.playbook_item_done')).toHaveLength(1);
      expect(await queued(id)).toEqual(['incident.refresh-checklist']);
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterSeverityChange, afterSnooze, afterUpdate, onTick } from '../../../src/domain/reminders.js';

const MIN = 60_000;
const sev1 = { reminderEveryMs: 15 * MIN, escalateAfterMissed: 2 };
const sev3 = { reminderEveryMs: 60 * MIN, escalateAfterMissed: 0 };
const state = (over: Partial<Parameters<typeof onTick>[0]> = {}) => ({
  lastUpdateAt: 0,
  nextReminderAt: 15 * MIN,
  missedReminders: 0,
  snoozedUntil: null,
  ...over,
});

describe('reminder schedule', () => {
  it('starts the clock at the update', () => {
    expect(afterUpdate(1000, sev1)).toEqual({ nextReminderAt: 1000 + 15 * MIN, missedReminders: 0 });
  });

  it('is not due before its time, due at it', () => {
    expect(onTick(state(), 15 * MIN - 1, sev1)).toBeUndefined();
    expect(onTick(state(), 15 * MIN, sev1)).toMatchObject({
      remind: true,
      escalate: false,
      dueAt: 15 * MIN,
      schedule: { nextReminderAt: 30 * MIN, missedReminders: 1 },
    });
  });

  it('escalates every escalateAfterMissed-th miss in a row, never when it is 0', () => {
    expect(onTick(state({ missedReminders: 1, nextReminderAt: 30 * MIN }), 30 * MIN, sev1)?.escalate).toBe(true);
    expect(onTick(state({ missedReminders: 2, nextReminderAt: 45 * MIN }), 45 * MIN, sev1)?.escalate).toBe(false);
    expect(onTick(state({ missedReminders: 3, nextReminderAt: 60 * MIN }), 60 * MIN, sev1)?.escalate).toBe(true);
    for (let missed = 0; missed < 20; missed++)
      expect(onTick(state({ missedReminders: missed }), 15 * MIN, sev3)?.escalate).toBe(false);
  });

  it('a late tick keeps the cadence; a very late one restarts it from now (no burst)', () => {
    expect(onTick(state(), 15 * MIN + 900, sev1)?.schedule.nextReminderAt).toBe(30 * MIN);
    expect(onTick(state(), 100 * MIN, sev1)?.schedule.nextReminderAt).toBe(115 * MIN);
  });

  it('a severity change keeps counting from the last update, never schedules in the past, keeps a snooze', () => {
    const sev0 = { reminderEveryMs: 10 * MIN, escalateAfterMissed: 1 };
    expect(afterSeverityChange(state(), 5 * MIN, sev0).nextReminderAt).toBe(10 * MIN);
    expect(afterSeverityChange(state(), 12 * MIN, sev0).nextReminderAt).toBe(12 * MIN);
    expect(afterSeverityChange(state({ snoozedUntil: 40 * MIN }), 5 * MIN, sev0).nextReminderAt).toBe(40 * MIN);
  });

  it('snooze moves the next reminder to its end and clears the misses', () => {
    expect(afterSnooze(5 * MIN, 30 * MIN)).toEqual({
      nextReminderAt: 35 * MIN,
      missedReminders: 0,
      snoozedUntil: 35 * MIN,
    });
  });

  it('property: a tick never schedules the next reminder at or before now, and never loses the due time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: 0, max: 10 ** 9 }),
        fc.integer({ min: 1, max: 10 ** 7 }),
        (due, late, every) => {
          const decision = onTick(state({ nextReminderAt: due }), due + late, {
            reminderEveryMs: every,
            escalateAfterMissed: 2,
          });
          expect(decision?.dueAt).toBe(due);
          expect(decision!.schedule.nextReminderAt!).toBeGreaterThan(due + late);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

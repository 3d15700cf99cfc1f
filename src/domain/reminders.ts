// When the commander is reminded to post an update, and when a silence escalates: pure functions of
// the stored state, the severity's policy and the time now (no timers, no I/O).
/** The part of a severity's config that drives reminders (config's SeverityPolicy fits). */
export interface ReminderPolicy {
  reminderEveryMs: number;
  /** 0: never escalate. */
  escalateAfterMissed: number;
}

export interface ReminderState {
  lastUpdateAt: number;
  nextReminderAt: number | null;
  missedReminders: number;
  snoozedUntil: number | null;
}

export interface ReminderSchedule {
  nextReminderAt: number | null;
  missedReminders: number;
}

/** After a declaration, a status update or a reopen: the clock starts again from now. */
export function afterUpdate(now: number, policy: ReminderPolicy): ReminderSchedule {
  return { nextReminderAt: now + policy.reminderEveryMs, missedReminders: 0 };
}

/**
 * After a severity change the cadence follows the new policy, still counted from the last update
 * (but never in the past: an overdue reminder comes at the next tick); a running snooze is kept.
 */
export function afterSeverityChange(state: ReminderState, now: number, policy: ReminderPolicy): ReminderSchedule {
  const due = Math.max(now, state.lastUpdateAt + policy.reminderEveryMs);
  const snoozed = state.snoozedUntil !== null && state.snoozedUntil > now ? state.snoozedUntil : 0;
  return { nextReminderAt: Math.max(due, snoozed), missedReminders: state.missedReminders };
}

/** Snooze: nothing until now + duration, then the usual cadence. Snoozing counts as a response. */
export function afterSnooze(now: number, durationMs: number): ReminderSchedule & { snoozedUntil: number } {
  return { nextReminderAt: now + durationMs, missedReminders: 0, snoozedUntil: now + durationMs };
}

export interface TickDecision {
  /** Post a reminder for this due time. */
  remind: boolean;
  /** Also escalate (every escalateAfterMissed-th reminder in a row without an update). */
  escalate: boolean;
  /** The due time being served (the idempotency key of the reminder). */
  dueAt: number;
  schedule: ReminderSchedule;
}

/**
 * What a tick at `now` does for one incident. Reminders missed while firelane was down are not
 * posted in a burst: one reminder, then the cadence restarts from now.
 */
export function onTick(state: ReminderState, now: number, policy: ReminderPolicy): TickDecision | undefined {
  if (state.nextReminderAt === null || state.nextReminderAt > now) return undefined;
  const missed = state.missedReminders + 1;
  const every = policy.reminderEveryMs;
  // Counted from the due time, so a tick a second late does not drift the cadence.
  const scheduled = state.nextReminderAt + every;
  return {
    remind: true,
    escalate: policy.escalateAfterMissed > 0 && missed % policy.escalateAfterMissed === 0,
    dueAt: state.nextReminderAt,
    schedule: { nextReminderAt: scheduled > now ? scheduled : now + every, missedReminders: missed },
  };
}

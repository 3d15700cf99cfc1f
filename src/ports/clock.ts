// Time comes from here, so tests move a fake clock instead of sleeping.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export function createManualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let current = start;
  return {
    now: () => current,
    set: (ms: number) => void (current = ms),
    advance: (ms: number) => void (current += ms),
  };
}
export type ManualClock = ReturnType<typeof createManualClock>;

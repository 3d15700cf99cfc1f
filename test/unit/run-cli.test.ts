// What `firelane run` says on standard error about the follow-up jobs the command left behind.
import { describe, expect, it } from 'vitest';
import { jobsLeftNotice } from '../../src/run-cli.js';

const at = Date.UTC(2026, 10, 23, 13, 5);

describe('jobsLeftNotice', () => {
  it('nothing left: nothing said', () => {
    expect(jobsLeftNotice({ unfinished: 0, scheduled: 0 })).toEqual([]);
  });

  it('work that did not finish stays queued for the server', () => {
    expect(jobsLeftNotice({ unfinished: 1, scheduled: 0 })).toEqual([
      'firelane: 1 follow-up job did not finish here; it stays queued, and the server (firelane serve) on this database runs it.',
    ]);
    expect(jobsLeftNotice({ unfinished: 3, scheduled: 0 })).toEqual([
      'firelane: 3 follow-up jobs did not finish here; they stay queued, and the server (firelane serve) on this database runs them.',
    ]);
  });

  it('jobs scheduled for later are named with the first due time', () => {
    expect(jobsLeftNotice({ unfinished: 0, scheduled: 1, firstScheduledAt: at })).toEqual([
      'firelane: 1 job is scheduled for later (the first at 2026-11-23 13:05 UTC); the server (firelane serve) on this database runs it when it is due.',
    ]);
    expect(jobsLeftNotice({ unfinished: 2, scheduled: 2, firstScheduledAt: at })).toEqual([
      'firelane: 2 follow-up jobs did not finish here; they stay queued, and the server (firelane serve) on this database runs them.',
      'firelane: 2 jobs are scheduled for later (the first at 2026-11-23 13:05 UTC); the server (firelane serve) on this database runs them when they are due.',
    ]);
  });
});

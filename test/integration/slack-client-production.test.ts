// The Slack Web API client with production's settings (the other integration tests turn its retries
// off): a passing 5xx is absorbed by the client's two quick retries inside one job attempt, a longer
// outage is left to the outbox after three calls, and a rate limit is never retried by the client
// (rejectRateLimitedCalls): the job waits for Retry-After instead.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { incident } from './slack-helpers.js';

const WAR_ROOM_JOB = 'war-room:1';

describe('the Slack client with production settings', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('two 500s in a row on conversations.create: the client retries, one job attempt opens the room once', async () => {
    h = await startHarness({ productionSlackClient: true });
    h.slack.failNext('conversations.create', { status: 500 }, 2);
    await h.command('sev1 Payment gateway down');
    await h.drain();
    expect(h.slack.callsTo('conversations.create').map((c) => c.status)).toEqual([500, 500, 200]);
    expect(await h.firelane.store.jobs.get(WAR_ROOM_JOB)).toMatchObject({ status: 'done', attempts: 1 });
    expect((await incident(h, 1)).roomId).not.toBeNull();
  });

  it('three 500s: after three calls the job attempt fails and the outbox retries later, still one room', async () => {
    h = await startHarness({ productionSlackClient: true, worker: { baseDelayMs: 300, maxDelayMs: 300 } });
    h.slack.failNext('conversations.create', { status: 500 }, 3);
    await h.command('sev1 Payment gateway down');
    await h.drain();
    expect(h.slack.callsTo('conversations.create').map((c) => c.status)).toEqual([500, 500, 500]);
    const waiting = (await h.firelane.store.jobs.get(WAR_ROOM_JOB))!;
    expect(waiting).toMatchObject({ status: 'queued', attempts: 1 });
    // Until the outbox's retry is due (its backoff has jitter): then the next attempt.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, waiting.runAt - Date.now()) + 20));
    await h.drain();
    expect(await h.firelane.store.jobs.get(WAR_ROOM_JOB)).toMatchObject({ status: 'done', attempts: 2 });
    expect(h.slack.callsTo('conversations.create').filter((c) => c.ok)).toHaveLength(1);
  });

  it('a 429 is not retried by the client: one call, and the job waits for Retry-After', async () => {
    h = await startHarness({ productionSlackClient: true });
    h.slack.failNext('conversations.create', { status: 429, retryAfter: 1 });
    await h.command('sev1 Payment gateway down');
    const failedAt = Date.now();
    await h.drain();
    expect(h.slack.callsTo('conversations.create').map((c) => c.status)).toEqual([429]);
    const job = (await h.firelane.store.jobs.get(WAR_ROOM_JOB))!;
    expect(job).toMatchObject({ status: 'queued', attempts: 1 });
    expect(job.runAt - failedAt).toBeGreaterThanOrEqual(900);
  });
});

// A job that needs a war room not open yet: retried while the war-room job may still open it, given up
// once that job is dead (the broadcast, the resolve prompt and the recent-deploy card share this).
import { describe, expect, it } from 'vitest';
import type { Incident } from '../../../src/domain/incident.js';
import { waitForWarRoom } from '../../../src/jobs/job-helpers.js';
import { PermanentJobError, RetryLater } from '../../../src/jobs/worker.js';
import type { Store } from '../../../src/ports/store.js';

const incident = { id: 7, roomId: null } as unknown as Incident;
const storeWith = (state: string | undefined) => {
  const asked: string[] = [];
  const store = {
    jobs: {
      state: async (key: string) => {
        asked.push(key);
        return state;
      },
    },
  } as unknown as Store;
  return { store, asked };
};

describe('waitForWarRoom', () => {
  it.each(['queued', 'running', undefined])('retries later while the war-room job is %s', async (state) => {
    const { store, asked } = storeWith(state);
    const error = await waitForWarRoom(store, incident, 1_500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryLater);
    expect((error as RetryLater).message).toBe('the war room of INC-7 is not open yet');
    expect((error as RetryLater).retryAfterMs).toBe(1_500);
    expect(asked).toEqual(['war-room:7']);
  });

  it('gives up once the war-room job is dead', async () => {
    const { store } = storeWith('dead');
    const error = await waitForWarRoom(store, incident).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentJobError);
    expect((error as Error).message).toBe('the war room of INC-7 could not be opened');
  });
});

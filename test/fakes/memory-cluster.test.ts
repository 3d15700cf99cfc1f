// The in-memory cluster behaves like Kubernetes where the Cluster port promises it.
import { describe, expect, it } from 'vitest';
import { createMemoryCluster } from './memory-cluster.js';

const T = { namespace: 'shop', deployment: 'web' };
const meta = (changeCause: string) => ({ changeCause });

function cluster(rolloutPolls = 2) {
  const c = createMemoryCluster({ rolloutPolls });
  c.addDeployment({
    namespace: 'shop',
    name: 'web',
    images: { app: 'web:2' },
    history: [{ app: 'web:1' }],
    replicas: 4,
  });
  return c;
}

describe('memory cluster', () => {
  it('reads an unknown deployment as undefined, and refuses to write to it', async () => {
    const c = cluster();
    expect(await c.readDeployment({ namespace: 'shop', deployment: 'nope' })).toBeUndefined();
    await expect(c.setImage({ namespace: 'shop', deployment: 'nope' }, 'app', 'x:1', meta('x'))).rejects.toThrow(
      /not found/,
    );
  });

  it('a new image gets the next revision and rolls out over polls, as rollout status would report', async () => {
    const c = cluster(2);
    expect(await c.readDeployment(T)).toMatchObject({
      revision: 2,
      images: { app: 'web:2' },
      desired: 4,
      available: 4,
    });
    const set = await c.setImage(T, 'app', 'web:3', meta('REQ-1 by U1'));
    expect(set).toMatchObject({ revision: 3, images: { app: 'web:3' }, updated: 0 });
    expect(set.generation).toBeGreaterThan(set.observedGeneration);
    expect(await c.rolloutProgress(T)).toMatchObject({ done: false, updated: 2, desired: 4 });
    expect(await c.rolloutProgress(T)).toMatchObject({ done: true, updated: 4, available: 4 });
    const history = await c.history(T);
    expect(history.map((r) => r.revision)).toEqual([1, 2, 3]);
    expect(history.at(-1)).toMatchObject({ images: { app: 'web:3' }, changeCause: 'REQ-1 by U1' });
  });

  it('setting the image it already has changes nothing', async () => {
    const c = cluster();
    const before = await c.readDeployment(T);
    await c.setImage(T, 'app', 'web:2', meta('noop'));
    expect(await c.readDeployment(T)).toEqual(before);
    expect(c.changes).toEqual([]);
  });

  it('undo brings back the previous template under a new revision; the old number leaves the history', async () => {
    const c = cluster();
    await c.undo(T, meta('undo'));
    expect(await c.readDeployment(T)).toMatchObject({ revision: 3, images: { app: 'web:1' } });
    expect((await c.history(T)).map((r) => [r.revision, r.images.app])).toEqual([
      [2, 'web:2'],
      [3, 'web:1'],
    ]);
    await expect(c.undo(T, meta('x'), 1)).rejects.toThrow(/unable to find specified revision 1/);
    await c.undo(T, meta('to 2'), 2);
    expect((await c.history(T)).map((r) => [r.revision, r.images.app])).toEqual([
      [3, 'web:1'],
      [4, 'web:2'],
    ]);
  });

  it('advance() completes a rollout; a failing one reports its reason and never completes', async () => {
    const c = cluster(5);
    await c.setImage(T, 'app', 'web:3', meta('a'));
    c.advance(T);
    expect(await c.rolloutProgress(T)).toMatchObject({ done: true, updated: 4 });
    c.failNextRollout(T, 'ProgressDeadlineExceeded', 2);
    await c.setImage(T, 'app', 'web:4', meta('b'));
    expect((await c.rolloutProgress(T)).failure).toBeUndefined();
    expect(await c.rolloutProgress(T)).toMatchObject({ done: false, failure: 'ProgressDeadlineExceeded' });
    c.advance(T);
    expect((await c.readDeployment(T))!.deadlineExceeded).toBe(true);
  });
});

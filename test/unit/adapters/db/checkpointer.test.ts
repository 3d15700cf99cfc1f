// WAL checkpoints on their own thread while chat requests come in: the connection stops
// checkpointing itself, the WAL is still copied back and reused, and an idle, stopped or failed
// thread hands checkpoints back to the connection.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCheckpointer, type Checkpointer } from '../../../../src/adapters/db/checkpointer.js';
import { openDatabase, type DbHandle } from '../../../../src/adapters/db/database.js';

let dir: string;
let path: string;
let handle: DbHandle;
let checkpointer: Checkpointer | undefined;
const warnings: string[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const autocheckpoint = () => handle.sqlite.pragma('wal_autocheckpoint', { simple: true });
const walBytes = () => statSync(`${path}-wal`).size;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'firelane-checkpointer-'));
  path = join(dir, 'firelane.db');
  handle = openDatabase(path);
  handle.sqlite.exec('CREATE TABLE filler (text TEXT)');
  warnings.length = 0;
});
afterEach(async () => {
  await checkpointer?.stop();
  checkpointer = undefined;
  handle.close();
  rmSync(dir, { recursive: true, force: true });
});

/** About 1,000 WAL pages of commits. */
function write(): void {
  const insert = handle.sqlite.prepare('INSERT INTO filler VALUES (?)');
  handle.sqlite.transaction(() => {
    for (let i = 0; i < 2000; i++) insert.run('x'.repeat(1500));
  })();
}

describe('background WAL checkpoints', () => {
  it('while busy: the connection does not checkpoint, the thread does, and the WAL is reused', async () => {
    checkpointer = createCheckpointer(handle, path, logger, { intervalMs: 50 });
    expect(autocheckpoint()).toBe(1000);
    checkpointer.busy();
    await checkpointer.started();
    expect(checkpointer.running()).toBe(true);
    expect(autocheckpoint()).toBe(0);
    write();
    const oneBatch = walBytes();
    for (let round = 0; round < 4; round++) {
      await sleep(300); // a few checkpoints: all frames copied, so the next commit starts the WAL over
      write();
    }
    expect(walBytes()).toBeLessThan(oneBatch * 1.5); // without checkpoints: five batches
    expect(handle.sqlite.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(10_000);
  });

  it("without the thread and without the connection's checkpoints the WAL would grow (the check above can fail)", () => {
    handle.sqlite.pragma('wal_autocheckpoint = 0');
    write();
    const oneBatch = walBytes();
    for (let round = 0; round < 4; round++) write();
    expect(walBytes()).toBeGreaterThan(oneBatch * 4);
  });

  it('goes idle: the thread stops and the connection checkpoints itself again; busy again starts it again', async () => {
    checkpointer = createCheckpointer(handle, path, logger, { intervalMs: 50, idleMs: 200 });
    checkpointer.busy();
    await checkpointer.started();
    expect(autocheckpoint()).toBe(0);
    await sleep(600);
    expect(checkpointer.running()).toBe(false);
    expect(autocheckpoint()).toBe(1000);
    checkpointer.busy();
    await checkpointer.started();
    expect(checkpointer.running()).toBe(true);
    expect(autocheckpoint()).toBe(0);
    await checkpointer.stop();
    expect(checkpointer.running()).toBe(false);
    expect(autocheckpoint()).toBe(1000);
  });

  it('a thread that cannot open the database hands checkpoints back and says so', async () => {
    checkpointer = createCheckpointer(handle, join(dir, 'missing.db'), logger, { intervalMs: 50 });
    checkpointer.busy();
    await checkpointer.started();
    await sleep(100);
    expect(checkpointer.running()).toBe(false);
    expect(autocheckpoint()).toBe(1000);
    expect(warnings.join('')).toContain('background WAL checkpoints failed');
  });
});

// The gate that lets asynchronous transactions share one synchronous SQLite connection.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteGate, type SqliteGate } from '../../src/adapters/db/sqlite-gate.js';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe('the SQLite gate', () => {
  let sqlite: Database.Database;
  let gate: SqliteGate;
  const rows = () => sqlite.prepare('SELECT v FROM t ORDER BY rowid').pluck().all();
  const insert = (v: string) => sqlite.prepare('INSERT INTO t (v) VALUES (?)').run(v);

  beforeEach(() => {
    sqlite = new Database(':memory:');
    sqlite.exec('CREATE TABLE t (v TEXT)');
    gate = createSqliteGate(sqlite);
  });
  afterEach(() => sqlite.close());

  it('keeps a statement from outside out of an open transaction, which then rolls back alone', async () => {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    const failing = gate.transaction(async () => {
      insert('inside');
      await paused;
      throw new Error('refused');
    });
    await tick();
    const outside = gate.run(() => insert('outside'));
    await tick();
    expect(rows()).toEqual(['inside']); // the outside statement waits
    release();
    await expect(failing).rejects.toThrow('refused');
    await outside;
    expect(rows()).toEqual(['outside']);
  });

  it('lets a nested transaction join the open one', async () => {
    await gate.transaction(async () => {
      insert('a');
      await gate.transaction(async () => {
        await tick();
        await gate.run(() => insert('b'));
      });
      expect(sqlite.inTransaction).toBe(true);
    });
    expect(rows()).toEqual(['a', 'b']);
    expect(sqlite.inTransaction).toBe(false);
  });

  it('queues work that was started inside a finished transaction like any other caller', async () => {
    // A timer set inside transaction A fires while transaction B is open: it must not write into B.
    let late!: Promise<unknown>;
    await gate.transaction(async () => {
      insert('a');
      await new Promise<void>((started) => {
        setTimeout(() => {
          late = gate.transaction(async () => {
            await gate.run(() => insert('late'));
          });
        }, 20);
        started();
      });
    });
    let releaseB!: () => void;
    const b = gate.transaction(async () => {
      insert('b');
      await new Promise<void>((resolve) => (releaseB = resolve));
      throw new Error('B rolls back');
    });
    await new Promise((resolve) => setTimeout(resolve, 40)); // the timer has fired, B is still open
    expect(late).toBeDefined();
    releaseB();
    await expect(b).rejects.toThrow('B rolls back');
    await late;
    // B's rollback took only B's row; the late write ran after B, in its own transaction.
    expect(rows()).toEqual(['a', 'late']);
  });

  it('runs afterTransaction hooks once the transaction has ended, outside it', async () => {
    const seen: string[] = [];
    await gate.transaction(async () => {
      insert('a');
      gate.afterTransaction(() => {
        seen.push(`hook in transaction: ${sqlite.inTransaction}`);
        // A statement from the hook goes through the gate like any other.
        void gate.run(() => insert('from hook'));
      });
      await tick();
      seen.push('body done');
    });
    expect(seen).toEqual(['body done', 'hook in transaction: false']);
    await gate.idle();
    expect(rows()).toEqual(['a', 'from hook']);
  });
});

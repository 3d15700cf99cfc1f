// SQLite (better-sqlite3, synchronous, one connection) behind the asynchronous Store port. A
// transaction now spans awaits, so while one is open no other caller's statement may reach the
// connection (it would run inside that transaction): a transaction holds the gate for its whole
// life, and a statement from outside waits for it. AsyncLocalStorage tells the calls made inside a
// transaction (they run at once; a nested transaction joins the outer one) from the others: each
// transaction carries its own token, and only the open one's counts, so work that was started inside
// a transaction and outlives it (a timer, a woken worker) queues like any other caller.
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { Async } from '../../ports/store.js';

export interface SqliteGate {
  /** Runs one synchronous database operation: at once when no transaction is open or inside one, else after it. */
  run<R>(fn: () => R): Promise<R>;
  /** `fn` in one IMMEDIATE transaction (or in the caller's, when already inside one). */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` once the open transaction has ended (committed or rolled back); with none open, soon. */
  afterTransaction(fn: () => void): void;
  /** Resolves when no transaction is open and nobody waits for the connection (before closing it). */
  idle(): Promise<void>;
}

export function createSqliteGate(sqlite: Database.Database): SqliteGate {
  const inside = new AsyncLocalStorage<object>();
  let held = false;
  /** The open transaction's token; undefined when none is open. */
  let current: object | undefined;
  const isInside = () => current !== undefined && inside.getStore() === current;
  const waiting: Array<() => void> = [];
  let afterOpen: Array<() => void> = [];
  const acquire = (): Promise<void> | undefined => {
    if (!held) {
      held = true;
      return undefined;
    }
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else held = false;
  };

  return {
    async run(fn) {
      // Not held: no transaction is open, and a synchronous statement cannot interleave with anything.
      if (!held || isInside()) return fn();
      await acquire();
      try {
        return fn();
      } finally {
        release();
      }
    },

    async transaction(fn) {
      if (isInside()) return fn();
      const waited = acquire();
      if (waited) await waited;
      try {
        // IMMEDIATE: the write lock at once, so another process waits on the busy timeout instead of
        // failing on a lock upgrade halfway through.
        sqlite.exec('BEGIN IMMEDIATE');
        const token = {};
        current = token;
        try {
          const result = await inside.run(token, fn);
          sqlite.exec('COMMIT');
          return result;
        } catch (error) {
          if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
          throw error;
        }
      } finally {
        current = undefined;
        const hooks = afterOpen;
        afterOpen = [];
        release();
        // In the caller's context, never the finished transaction's.
        for (const hook of hooks) inside.exit(hook);
      }
    },

    afterTransaction(fn) {
      if (current) afterOpen.push(fn);
      else setImmediate(() => inside.exit(fn));
    },

    async idle() {
      const waited = acquire();
      if (waited) await waited;
      release();
    },
  };
}

/** A synchronous records object with every method answering through the gate. */
export function gated<T extends object>(records: T, gate: SqliteGate): Async<T> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(records) as Array<keyof T & string>) {
    const value = records[name];
    out[name] =
      typeof value === 'function'
        ? (...args: unknown[]) => gate.run(() => (value as (...a: unknown[]) => unknown).apply(records, args))
        : value;
  }
  return out as Async<T>;
}

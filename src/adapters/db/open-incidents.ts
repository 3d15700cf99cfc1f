// The open incidents, newest first, kept in memory between writes: `/incident list` and the status
// page read them far more often than they change (everyone asks during an incident; reading 51
// rows was a fifth of a busy process's CPU). After this connection writes an incident, only the
// written rows are read again (by id, outside any transaction: the committed state, so a rolled-back
// write changes nothing) and patched in; a commit by another connection (PRAGMA data_version: the
// CLI, a second process) or a change the patch cannot place reads the whole list again.
import { OPEN_STATUSES, type Incident } from '../../domain/incident.js';
import type { DbHandle } from './database.js';

/** This connection's incident writes: a sequence number and the ids written lately. */
interface WriteLog {
  seq: number;
  recent: Array<{ seq: number; id: number }>;
}
const writeLogs = new WeakMap<DbHandle, WriteLog>();
const KEEP = 256;
/** More incidents written since the last read than this: reading the list again is cheaper. */
const MAX_PATCHED = 8;

interface Entry {
  seq: number;
  others: unknown;
  rows: readonly Incident[];
  /** True when `rows` holds every open incident (fewer than the limit existed, or none were cut off). */
  complete: boolean;
}

export interface OpenIncidents {
  /** At most `limit` open incidents, newest first; frozen and shared until an incident changes. */
  list(limit: number): readonly Incident[];
  /** Every incident write through this connection reports here (create, update). */
  wrote(id: number): void;
}

const isOpen = (incident: Incident | undefined): incident is Incident =>
  incident !== undefined && (OPEN_STATUSES as readonly string[]).includes(incident.status);

export function createOpenIncidents(
  handle: DbHandle,
  read: { open(limit: number): Incident[]; byId(id: number): Incident | undefined },
): OpenIncidents {
  let log = writeLogs.get(handle);
  if (!log) writeLogs.set(handle, (log = { seq: 0, recent: [] }));
  const writes = log;
  const dataVersion = handle.sqlite.prepare('PRAGMA data_version').pluck();
  const cache = new Map<number, Entry>();

  /** Frozen, the array and its rows: every caller shares them. */
  const readFrozen = (limit: number) => Object.freeze(read.open(limit).map((row) => Object.freeze(row)));

  function readAll(limit: number, others: unknown): Entry {
    const rows = readFrozen(limit);
    const entry = { seq: writes.seq, others, rows, complete: rows.length < limit };
    cache.set(limit, entry);
    return entry;
  }

  /** The entry brought up to date with the incidents written since it was read; undefined when it cannot be. */
  function patched(entry: Entry, limit: number): Entry | undefined {
    const oldest = writes.recent[0];
    if (!oldest || oldest.seq > entry.seq + 1) return undefined; // the log no longer reaches back to it
    const ids = new Set(writes.recent.filter((w) => w.seq > entry.seq).map((w) => w.id));
    if (ids.size > MAX_PATCHED) return undefined;
    const rows = [...entry.rows];
    let complete = entry.complete;
    for (const id of ids) {
      const fresh = read.byId(id);
      const at = rows.findIndex((row) => row.id === id);
      if (at >= 0) {
        if (isOpen(fresh)) rows[at] = Object.freeze(fresh);
        else if (complete) rows.splice(at, 1);
        else return undefined; // one left the window: which one comes next is only in the database
      } else if (isOpen(fresh)) {
        const before = rows.findIndex((row) => row.id < id);
        rows.splice(before === -1 ? rows.length : before, 0, Object.freeze(fresh));
        if (rows.length > limit) {
          // Cut to the window again (an older incident than all of a full window goes right back out).
          rows.length = limit;
          complete = false;
        }
      }
    }
    return { seq: writes.seq, others: entry.others, rows: Object.freeze(rows), complete };
  }

  return {
    list(limit) {
      // Inside a transaction a read may see rows that are rolled back later: never kept.
      if (handle.sqlite.inTransaction) return readFrozen(limit);
      const others = dataVersion.get();
      const entry = cache.get(limit);
      if (!entry || entry.others !== others) return readAll(limit, others).rows;
      if (entry.seq === writes.seq) return entry.rows;
      const next = patched(entry, limit);
      if (!next) return readAll(limit, others).rows;
      cache.set(limit, next);
      return next.rows;
    },
    wrote(id) {
      writes.recent.push({ seq: ++writes.seq, id });
      if (writes.recent.length > KEEP) writes.recent.splice(0, KEEP / 2);
    },
  };
}

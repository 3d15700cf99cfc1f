// The open incidents, newest first, kept in memory between changes on PostgreSQL too: `/incident
// list`, `/deploy` and the status page read them far more often than they change (a query per
// `/incident list` made its p99 1.7x SQLite's under load). Any replica may change them, so a copy is
// kept only while this replica hears every change (notifications.ts), and every change drops every
// copy: at this replica's own commit at once, another's when its notification arrives (milliseconds).
import type { Incident } from '../../domain/incident.js';
import type { PgNotifications } from './notifications.js';

export interface PgOpenIncidents {
  /** At most `limit` open incidents, newest first; frozen and shared until an incident changes. */
  list(limit: number): Promise<readonly Incident[]>;
  /** This replica committed a change to incidents. */
  changed(): void;
}

export function createPgOpenIncidents(
  notifications: Pick<PgNotifications, 'listening' | 'onIncidents'> | undefined,
  read: (limit: number) => Promise<Incident[]>,
  inTransaction: () => boolean,
): PgOpenIncidents {
  /**
   * Counts the changes heard: a read that started before one may have missed it, so it is kept only
   * when the count has not moved meanwhile.
   */
  let generation = 0;
  const copies = new Map<number, { generation: number; rows: Promise<readonly Incident[]> }>();
  const changed = () => void generation++;
  notifications?.onIncidents(changed);

  /** Frozen, the array and its rows: every caller shares them. */
  const readFrozen = async (limit: number) => Object.freeze((await read(limit)).map((row) => Object.freeze(row)));

  return {
    list(limit) {
      // Inside a transaction a read sees its own writes, which may yet roll back: never kept.
      if (inTransaction() || !notifications?.listening()) return readFrozen(limit);
      const copy = copies.get(limit);
      if (copy?.generation === generation) return copy.rows;
      // Callers arriving while it is read wait for the same read (after each change, one query, not twenty).
      const entry = { generation, rows: readFrozen(limit) };
      copies.set(limit, entry);
      entry.rows.catch(() => {
        if (copies.get(limit) === entry) copies.delete(limit);
      });
      return entry.rows;
    },
    changed,
  };
}

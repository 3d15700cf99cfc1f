// What replicas tell each other through PostgreSQL (LISTEN/NOTIFY on one channel): the incidents
// changed (the incidents table's trigger, migrations/postgres/0004, sends it at every commit, whoever
// wrote), and a console room changed (sent here, after the change commits). Each replica keeps one
// connection of its own (not the pool's) listening. A NOTIFY reaches only sessions listening when it
// commits, so while that connection is down or not listening yet, nothing heard can be trusted:
// `listening()` says so, and copies kept by hearing are dropped when it goes down and again once it
// listens (what changed meanwhile was never told). Payloads carry names, never content, and are
// trusted no further than their shape: anyone who can connect to the database may NOTIFY.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import pg from 'pg';
import type { PgHandle } from './database.js';

export const CHANGES_CHANNEL = 'firelane_changes';
/** The trigger's payload (0004_incidents_changed.sql). */
const INCIDENTS = 'incidents';
/** NOTIFY takes payloads under 8000 bytes; a longer room id is sent as "a room". */
const MAX_ROOM_BYTES = 7_000;
const ROOM = /^room ([0-9a-f]{16})(?: ([^]+))?$/;

export interface PgNotifications {
  /** Whether every change is heard now: the connection is up and listening. */
  listening(): boolean;
  /** Incidents changed (by any writer, this replica too), or hearing stopped or started again. */
  onIncidents(listener: () => void): void;
  /** A console room changed on another replica; undefined: some room, or any (hearing started again). */
  onRoom(listener: (roomId: string | undefined) => void): void;
  /** Tells the other replicas that a console room changed, once the open transaction commits. */
  roomChanged(roomId: string): void;
  close(): Promise<void>;
}

export interface PgNotificationsOptions {
  handle: PgHandle;
  url: string;
  logger: Logger;
  /** Reconnecting: the first wait, doubled after each failure up to `max` (with jitter). */
  retryMs?: { first: number; max: number };
  /**
   * How often the connection is checked with a query, and how long its answer may take: a link that
   * died without a word (a failover to another host) is found this way, not after TCP's two hours.
   */
  checkMs?: number;
}

export function createPgNotifications(options: PgNotificationsOptions): PgNotifications {
  const { handle, url, logger } = options;
  const retry = options.retryMs ?? { first: 250, max: 10_000 };
  const checkMs = options.checkMs ?? 5_000;
  /** Marks this replica's own room notifications, which it has already acted on. */
  const self = randomBytes(8).toString('hex');
  const incidentListeners: Array<() => void> = [];
  const roomListeners: Array<(roomId: string | undefined) => void> = [];
  let client: pg.Client | undefined;
  let up = false;
  let closed = false;
  let failures = 0;
  /** Set while hearing is lost: logged when it is lost and when it is back, not at every try between. */
  let lostSince: number | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let checking = false;

  const call = <A extends unknown[]>(listeners: Array<(...args: A) => void>, ...args: A) => {
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        logger.error({ err: error }, 'a listener of database notifications failed');
      }
    }
  };

  const heard = (message: pg.Notification) => {
    const payload = message.payload ?? '';
    if (payload === INCIDENTS) return call(incidentListeners);
    const room = ROOM.exec(payload);
    if (room && room[1] !== self) call(roomListeners, room[2]);
  };

  function lost(from: pg.Client, error?: unknown) {
    from.end().catch(() => undefined);
    if (from !== client) return;
    client = undefined;
    const wasUp = up;
    up = false;
    if (wasUp) call(incidentListeners); // from now on the open incidents are read from the database
    if (closed) return;
    if (lostSince === undefined) {
      lostSince = Date.now();
      logger.warn(
        { err: error },
        "database notifications: the LISTEN connection is down; until it is back, other replicas' changes are not heard (the open incidents are read from the database, console pages are told later)",
      );
    }
    const wait = Math.min(retry.max, retry.first * 2 ** failures++) * (0.75 + Math.random() / 2);
    retryTimer = setTimeout(connect, wait);
    retryTimer.unref();
  }

  async function connect() {
    retryTimer = undefined;
    if (closed) return;
    const next = new pg.Client({
      connectionString: url,
      application_name: 'firelane-listen',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    client = next;
    // Errors of a connection already given up (its end) are of no interest; it must not crash the process.
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next));
    next.on('notification', (message) => {
      if (next === client && up) heard(message);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      return lost(next, error);
    }
    // Closed (or given up) while connecting.
    if (next !== client) return lost(next);
    up = true;
    failures = 0;
    if (lostSince !== undefined)
      logger.info({ downMs: Date.now() - lostSince }, 'database notifications: listening again');
    lostSince = undefined;
    // Whatever changed before this moment was not heard: every copy goes, and pages look again.
    call(incidentListeners);
    call(roomListeners, undefined);
  }

  const check = setInterval(() => {
    const current = client;
    if (!up || !current || checking) return;
    checking = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${checkMs} ms`)), checkMs);
    });
    Promise.race([current.query('SELECT 1'), late])
      .catch((error: unknown) => lost(current, error))
      .finally(() => {
        clearTimeout(timer);
        checking = false;
      });
  }, checkMs);
  check.unref();
  void connect();

  return {
    listening: () => up,
    onIncidents: (listener) => void incidentListeners.push(listener),
    onRoom: (listener) => void roomListeners.push(listener),
    roomChanged(roomId) {
      const payload = `room ${self}${Buffer.byteLength(roomId) <= MAX_ROOM_BYTES ? ` ${roomId}` : ''}`;
      // After the commit, on the pool: never a statement inside someone else's transaction.
      handle.afterCommit(() => {
        handle.pool
          .query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload])
          .catch((error: unknown) =>
            logger.warn(
              { err: error },
              'database notifications: could not tell the other replicas of a console change',
            ),
          );
      });
    },
    async close() {
      closed = true;
      clearInterval(check);
      clearTimeout(retryTimer);
      const last = client;
      client = undefined;
      up = false;
      await last?.end().catch(() => undefined);
    },
  };
}

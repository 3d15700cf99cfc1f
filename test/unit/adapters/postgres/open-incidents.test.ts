// The open-incident list kept in memory on PostgreSQL, where any replica may change it: another
// replica's change shows within milliseconds (its trigger's NOTIFY, heard on the LISTEN connection),
// this replica's own at once, and while the LISTEN connection is down the list is read from the
// database. Then the copy's own rules without a database: a change heard during a read, one read for
// many callers, no copy while not listening or inside a transaction.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPgOpenIncidents } from '../../../../src/adapters/postgres/open-incidents.js';
import type { Incident } from '../../../../src/domain/incident.js';
import type { IncidentStore } from '../../../../src/ports/store.js';
import { postgresServer } from '../../../support/postgres.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

const postgres = dialects().find((dialect) => dialect.name === 'postgres');
const by = { actor: 'U0ALICE', platform: 'slack', action: 'incident.updated' };
/** How long another replica's change may take to show (measured: a few milliseconds). */
const BOUND_MS = 1_000;

/**
 * A TCP proxy to the test server on loopback whose connections can be frozen: from then on nothing
 * passes either way and nothing is closed, as when the host at the other end is gone.
 */
async function startTcpProxy(targetPort: string) {
  const links = new Set<{ frozen: boolean; sockets: Socket[] }>();
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort), '127.0.0.1');
    const link = { frozen: false, sockets: [client, upstream] };
    links.add(link);
    const pipe = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => void (link.frozen || to.write(chunk)));
      from.on('error', () => undefined);
      from.on('close', () => {
        if (!link.frozen) to.destroy();
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => links.forEach((link) => (link.frozen = true)),
    async close() {
      for (const link of links) link.sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Polls `condition` until it holds (or fails after `ms`). */
async function waitFor(condition: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not so after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const declareOn = (incidents: IncidentStore, title: string) =>
  incidents.create({
    title,
    description: null,
    severity: 'sev2',
    platform: 'slack',
    declaredBy: 'U0ALICE',
    declaredAt: 1,
    nextReminderAt: 2,
  });

const summary = (list: readonly Incident[]) => list.map((i) => `${i.title} ${i.severity} ${i.status}`);

describe.skipIf(!postgres)('the open incidents on PostgreSQL replicas', () => {
  let a: StoreUnderTest;
  let b: StoreUnderTest;
  let lines: string[];

  beforeEach(async () => {
    lines = [];
    a = await postgres!.open();
    // B reconnects slowly enough that a test sees it down, and checks its link often.
    b = await a.replica!({
      listen: {
        logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
        retryMs: { first: 50, max: 200 },
        checkMs: 500,
      },
    });
    await waitFor(() => a.notifications!.listening() && b.notifications!.listening());
  });
  afterEach(async () => {
    await b.close();
    await a.close();
  });

  /** Until B's list (a copy, once read) shows `expected`: how long it took. */
  const shownOnB = async (expected: string[]) => {
    const start = performance.now();
    while (JSON.stringify(summary(await b.store.incidents.listOpen(50))) !== JSON.stringify(expected)) {
      if (performance.now() - start > 5_000) throw new Error(`B never showed ${expected.join(', ')}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return performance.now() - start;
  };
  /** B serves its list from memory: the same frozen array again (once it has heard of every change so far). */
  const keptOnB = async () => {
    await b.caughtUp!();
    const first = await b.store.incidents.listOpen(50);
    expect(await b.store.incidents.listOpen(50)).toBe(first);
    return first;
  };

  it("shows another replica's declaration, severity change and resolution within the bound, kept in between", async () => {
    expect(await keptOnB()).toEqual([]);
    const waits: number[] = [];

    const incident = await declareOn(a.store.incidents, 'Checkout errors');
    waits.push(await shownOnB(['Checkout errors sev2 investigating']));
    await keptOnB();

    await a.store.incidents.update(incident.id, { severity: 'sev1' }, by);
    waits.push(await shownOnB(['Checkout errors sev1 investigating']));
    await keptOnB();

    await a.store.incidents.update(incident.id, { status: 'resolved', resolvedAt: 3 }, by);
    waits.push(await shownOnB([]));
    await keptOnB();

    for (const wait of waits) expect(wait).toBeLessThan(BOUND_MS);
  });

  it("a replica's own change shows in its next read at once, also after a transaction around it", async () => {
    const before = await b.store.incidents.listOpen(50);
    expect(await b.store.incidents.listOpen(50)).toBe(before);
    const incident = await declareOn(b.store.incidents, 'Search slow');
    expect(summary(await b.store.incidents.listOpen(50))).toEqual(['Search slow sev2 investigating']);
    await b.store.incidents.update(incident.id, { severity: 'sev1' }, by);
    expect(summary(await b.store.incidents.listOpen(50))).toEqual(['Search slow sev1 investigating']);
    await b.store.transaction(async () => {
      await b.store.incidents.update(incident.id, { status: 'identified' }, by);
      // Inside, the transaction's own write (read from it, not kept: it may yet roll back).
      expect(summary(await b.store.incidents.listOpen(50))).toEqual(['Search slow sev1 identified']);
      await declareOn(b.store.incidents, 'Login broken');
    });
    expect(summary(await b.store.incidents.listOpen(50))).toEqual([
      'Login broken sev2 investigating',
      'Search slow sev1 identified',
    ]);
    await expect(
      b.store.transaction(async () => {
        await b.store.incidents.update(incident.id, { status: 'resolved', resolvedAt: 3 }, by);
        expect(await b.store.incidents.listOpen(50)).toHaveLength(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(summary(await b.store.incidents.listOpen(50))).toEqual([
      'Login broken sev2 investigating',
      'Search slow sev1 identified',
    ]);
  });

  it('an operator’s SQL on the incidents table reaches every replica too (the trigger, not the store, notifies)', async () => {
    await declareOn(a.store.incidents, 'Checkout errors');
    await shownOnB(['Checkout errors sev2 investigating']);
    await keptOnB();
    await a.query("UPDATE incidents SET severity = 'sev3'");
    expect(await shownOnB(['Checkout errors sev3 investigating'])).toBeLessThan(BOUND_MS);
  });

  it('with its LISTEN connection cut, a replica reads from the database (logging once), and keeps the list again once it listens', async () => {
    await declareOn(a.store.incidents, 'Checkout errors');
    await shownOnB(['Checkout errors sev2 investigating']);
    await keptOnB();
    const [{ database }] = (await a.query<{ database: string }>('SELECT current_database() AS database')) as [
      { database: string },
    ];
    // Nobody can connect while it is cut (B's reconnects fail, several times), then its backend is ended.
    const admin = new pg.Client({ connectionString: postgresServer() });
    await admin.connect();
    const allowConnections = (allow: boolean) => admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS ${allow}`);
    await allowConnections(false);
    try {
      const ended = await a.query<{ ended: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'firelane-listen'",
      );
      expect(ended.length).toBe(2); // A's and B's
      await waitFor(() => !b.notifications!.listening());

      // A's change is sent to nobody listening: B shows it because it reads the database, every time.
      const second = await declareOn(a.store.incidents, 'Search slow');
      const list = await b.store.incidents.listOpen(50);
      expect(summary(list)).toEqual(['Search slow sev2 investigating', 'Checkout errors sev2 investigating']);
      expect(await b.store.incidents.listOpen(50)).not.toBe(list);
      await a.store.incidents.update(second.id, { severity: 'sev1' }, by);
      expect(summary(await b.store.incidents.listOpen(50))[0]).toBe('Search slow sev1 investigating');
      await new Promise((resolve) => setTimeout(resolve, 600)); // several failed reconnections (50, 100, 200 ms...)
      expect(b.notifications!.listening()).toBe(false);
    } finally {
      await allowConnections(true);
      await admin.end();
    }
    await waitFor(() => b.notifications!.listening());
    await keptOnB();
    const [first] = await a.store.incidents.listOpen(50);
    await a.store.incidents.update(first!.id, { status: 'resolved', resolvedAt: 3 }, by);
    expect(await shownOnB(['Checkout errors sev2 investigating'])).toBeLessThan(BOUND_MS);

    const logged = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.map((l) => [l.level, l.msg])).toEqual([
      [40, expect.stringMatching(/LISTEN connection is down; .*the open incidents are read from the database/)],
      [30, 'database notifications: listening again'],
    ]);
  });

  it('a LISTEN connection that dies without a word (a failover to another host) is found by its check, and replaced', async () => {
    const proxy = await startTcpProxy(new URL(postgresServer()!).port);
    const url = new URL(postgresServer()!);
    const [{ database }] = (await a.query<{ database: string }>('SELECT current_database() AS database')) as [
      { database: string },
    ];
    url.port = String(proxy.port);
    url.pathname = `/${database}`;
    const c = await a.replica!({ listen: { url: url.href, retryMs: { first: 50, max: 200 }, checkMs: 200 } });
    try {
      await waitFor(() => c.notifications!.listening());
      await declareOn(a.store.incidents, 'Checkout errors');
      await c.caughtUp!();
      const kept = await c.store.incidents.listOpen(50);
      expect(await c.store.incidents.listOpen(50)).toBe(kept);
      expect(kept).toHaveLength(1);
      proxy.freeze(); // nothing passes either way any more, and nobody says so
      const frozenAt = performance.now();
      await declareOn(a.store.incidents, 'Search slow');
      await waitFor(async () => (await c.store.incidents.listOpen(50)).length === 2, 5_000);
      expect(performance.now() - frozenAt).toBeLessThan(1_000); // two checks
      await waitFor(() => c.notifications!.listening()); // a new connection, through the proxy again
      await a.store.incidents.update(1, { severity: 'sev1' }, by);
      await waitFor(async () => (await c.store.incidents.listOpen(50))[1]?.severity === 'sev1', BOUND_MS);
    } finally {
      await c.close();
      await proxy.close();
    }
  });
});

describe('the copy of the open incidents', () => {
  /** Notifications as the store sees them, driven by the test. */
  const hearing = () => {
    const listeners: Array<() => void> = [];
    return {
      up: true,
      listening() {
        return this.up;
      },
      onIncidents: (listener: () => void) => void listeners.push(listener),
      heard: () => listeners.forEach((listener) => listener()),
    };
  };
  /** Reads the test answers (or fails) one by one, in order. */
  const reads = () => {
    const pending: Array<{ resolve(rows: Incident[]): void; reject(error: Error): void }> = [];
    return {
      read: () => new Promise<Incident[]>((resolve, reject) => pending.push({ resolve, reject })),
      get waiting() {
        return pending.length;
      },
      answer: (titles: string[]) =>
        pending.shift()!.resolve(titles.map((title, i) => ({ id: i + 1, title }) as Incident)),
      fail: (error: Error) => pending.shift()!.reject(error),
    };
  };
  const titles = (list: readonly Incident[]) => list.map((i) => i.title);

  it('a change heard while the list is being read is not lost: that read is not kept', async () => {
    const notifications = hearing();
    const db = reads();
    const open = createPgOpenIncidents(notifications, db.read, () => false);
    const first = open.list(50);
    notifications.heard(); // committed after the read's snapshot, heard before its answer
    db.answer(['old']);
    expect(titles(await first)).toEqual(['old']);
    const second = open.list(50);
    expect(db.waiting).toBe(1); // read again
    db.answer(['new']);
    expect(titles(await second)).toEqual(['new']);
    expect(await open.list(50)).toBe(await second);
  });

  it('callers arriving during a read share it; a failed read is not kept', async () => {
    const db = reads();
    const open = createPgOpenIncidents(hearing(), db.read, () => false);
    const lists = Array.from({ length: 20 }, () => open.list(50));
    expect(db.waiting).toBe(1);
    db.answer(['one']);
    expect(new Set(await Promise.all(lists)).size).toBe(1);

    open.changed();
    const failing = open.list(50);
    db.fail(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    const again = open.list(50);
    expect(db.waiting).toBe(1);
    db.answer(['two']);
    expect(titles(await again)).toEqual(['two']);
  });

  it('keeps nothing while not listening, nor what a transaction read', async () => {
    const notifications = hearing();
    const db = reads();
    let inTransaction = true;
    const open = createPgOpenIncidents(notifications, db.read, () => inTransaction);
    const inside = open.list(50);
    db.answer(['uncommitted']);
    await inside;
    inTransaction = false;
    notifications.up = false;
    const down = [open.list(50), open.list(50)];
    expect(db.waiting).toBe(2);
    db.answer(['a']);
    db.answer(['a']);
    const [x, y] = await Promise.all(down);
    expect(x).not.toBe(y);
    notifications.up = true;
    const up = open.list(50);
    expect(db.waiting).toBe(1);
    db.answer(['b']);
    expect(await open.list(50)).toBe(await up);
  });
});

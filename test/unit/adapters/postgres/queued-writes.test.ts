// Transactions on PostgreSQL (adapters/postgres/database.ts): writes nothing reads back are queued and
// sent as one statement; a transaction of such writes alone is that one statement, without BEGIN and
// COMMIT; a statement of the transaction sees every write queued before it; a queued write that fails
// takes the whole transaction with it; and a request key taken before is found before a number is drawn.
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PostgresStore } from '../../../../src/adapters/postgres/pg-store.js';
import { recordDeclaration } from '../../../../src/flows/declare-incident.js';
import { DEFAULT_FILE_CONFIG } from '../../../../src/config.js';
import { REFRESH_TOPIC } from '../../../../src/ports/jobs.js';
import { DuplicateRequest } from '../../../../src/ports/store.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

const postgres = dialects().find((dialect) => dialect.name === 'postgres');

describe.skipIf(!postgres)('queued writes on PostgreSQL', () => {
  let t: StoreUnderTest;
  let store: PostgresStore;
  /** Every statement the pool's connections send while `fn` runs, as text (not the LISTEN connection's). */
  async function statementsOf<T>(fn: () => Promise<T>): Promise<{ value: T; statements: string[] }> {
    const statements: string[] = [];
    const query = pg.Client.prototype.query;
    const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
      this: pg.Client,
      ...args: unknown[]
    ) {
      const config = args[0] as string | { text: string };
      const text = typeof config === 'string' ? config : config.text;
      if (!/^LISTEN /.test(text)) statements.push(text);
      return (query as (...a: unknown[]) => unknown).apply(this, args) as never;
    });
    try {
      return { value: await fn(), statements };
    } finally {
      spy.mockRestore();
    }
  }
  const count = async (table: string) =>
    Number((await t.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
  const config = DEFAULT_FILE_CONFIG;
  const declare = (title: string) =>
    recordDeclaration(
      { store, clock: t.clock, config },
      { title, description: null, severity: 'sev2', platform: 'slack', via: 'slack', actor: 'U1' },
    );

  beforeEach(async () => {
    t = await postgres!.open();
    store = t.store as PostgresStore;
  });
  afterEach(async () => {
    await t.close();
  });

  it('a declaration with its request key is two statements: the numbers drawn, then every row in one, without BEGIN', async () => {
    const { value: incident, statements } = await statementsOf(() =>
      store.transaction(async () => {
        await store.receipts.claim('slack:trigger:1');
        return declare('Payment gateway down');
      }),
    );
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/nextval\('incidents_id_seq'\).*NOT EXISTS \(SELECT 1 FROM receipts/s);
    expect(statements[1]).toMatch(/^WITH w0 AS \(insert into "receipts"/);
    expect(statements.join('\n')).not.toMatch(/^\s*(BEGIN|COMMIT)/im);
    // All of it landed: the incident, its first event, its checklist, its job, the key, and the audit chain.
    expect(await store.incidents.get(incident.id)).toEqual(incident);
    expect((await store.incidents.timeline(incident.id)).map((e) => e.kind)).toEqual(['declared']);
    expect((await store.playbooks.items(incident.id)).length).toBe(config.incidents.playbooks.sev2.length);
    expect(config.incidents.playbooks.sev2.length).toBeGreaterThan(0);
    expect(await store.jobs.get(`war-room:${incident.id}`)).toMatchObject({ status: 'queued' });
    expect(await store.receipts.reply('slack:trigger:1')).toBeNull();
    expect(await store.audit.verify()).toMatchObject({ ok: true });
    expect(
      (await t.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq')).map((r) => r.action),
    ).toEqual(expect.arrayContaining(['incident.declared', 'timeline.declared']));
  });

  it('a statement of the transaction sees the writes queued before it', async () => {
    const seen = await store.transaction(async () => {
      const incident = await declare('Search is slow');
      // Queued, not yet written: this read sends them first.
      return {
        incident: await store.incidents.get(incident.id),
        timeline: await store.incidents.timeline(incident.id),
      };
    });
    expect(seen.incident?.title).toBe('Search is slow');
    expect(seen.timeline).toHaveLength(1);
  });

  it('a key taken before: DuplicateRequest, no number drawn, nothing written', async () => {
    await store.transaction(async () => {
      await store.receipts.claim('k1');
      await declare('First');
    });
    const before = { incidents: await count('incidents'), audit: await count('audit_log'), jobs: await count('jobs') };
    await expect(
      store.transaction(async () => {
        await store.receipts.claim('k1');
        await declare('Again');
      }),
    ).rejects.toBeInstanceOf(DuplicateRequest);
    expect({ incidents: await count('incidents'), audit: await count('audit_log'), jobs: await count('jobs') }).toEqual(
      before,
    );
    // The guard stopped the draw: the next incident takes the next number.
    expect((await declare('Next')).id).toBe(2);
  });

  it('a key claimed by a transaction still open: the later one waits, then fails whole when the first commits', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = store.transaction(async () => {
      await store.receipts.claim('k2');
      const incident = await declare('First');
      // Begins the transaction (a read), so the queued key is written and held until COMMIT.
      await store.incidents.get(incident.id);
      await held;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Its outcome is taken at once: it may fail before `first` is awaited below.
    const second = store
      .transaction(async () => {
        await store.receipts.claim('k2');
        await declare('Second');
      })
      .then(
        () => 'committed',
        (error: unknown) => error,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await first;
    expect(await second).toBeInstanceOf(DuplicateRequest);
    expect((await store.incidents.list()).map((i) => i.title)).toEqual(['First']);
    expect(await store.audit.verify()).toMatchObject({ ok: true });
  });

  it('writes queued under a savepoint that rolls back are dropped; the rest of the transaction commits', async () => {
    const incident = await store.transaction(async () => {
      const kept = await declare('Kept');
      await expect(
        store.handle.savepoint(async () => {
          await store.jobs.enqueueLater({ kind: REFRESH_TOPIC, key: 'dropped', payload: { incidentId: kept.id } });
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      await store.jobs.enqueueLater({ kind: REFRESH_TOPIC, key: 'kept', payload: { incidentId: kept.id } });
      return kept;
    });
    expect(await store.incidents.get(incident.id)).toBeDefined();
    expect(await store.jobs.get('dropped')).toBeUndefined();
    expect(await store.jobs.get('kept')).toMatchObject({ status: 'queued' });
  });

  it("audit entries wait for the transaction's end: one statement for all of them, just before COMMIT", async () => {
    const incident = await declare('Search is slow');
    const by = { actor: 'firelane', platform: 'slack' };
    const { statements } = await statementsOf(() =>
      store.transaction(async () => {
        await store.incidents.update(
          incident.id,
          { roomId: 'C1', roomName: 'inc-1' },
          { ...by, action: 'incident.war_room_opened' },
        );
        await store.incidents.addEvent({
          incidentId: incident.id,
          at: 1,
          ...by,
          kind: 'war_room_opened',
          text: 'War room opened',
        });
        await store.jobs.enqueue({ kind: REFRESH_TOPIC, key: 'topic:1', payload: { incidentId: incident.id } });
      }),
    );
    const audits = statements.flatMap((text, i) => (/audit_pending/.test(text) ? [i] : []));
    expect(audits).toEqual([statements.length - 2]);
    expect(statements.at(-1)).toBe('COMMIT');
    expect(await store.audit.verify()).toMatchObject({ ok: true });
    expect(
      (await t.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq')).map((r) => r.action).slice(-2),
    ).toEqual(['incident.war_room_opened', 'timeline.war_room_opened']);
  });

  it('audit entries queued before a savepoint that rolls back are kept (they go out before it)', async () => {
    const incident = await declare('Search is slow');
    await store.transaction(async () => {
      await store.incidents.update(
        incident.id,
        { roomId: 'C1', roomName: 'inc-1' },
        {
          actor: 'firelane',
          platform: 'slack',
          action: 'incident.war_room_opened',
        },
      );
      await expect(
        store.handle.savepoint(async () => {
          // A write a read must see, then a read: what is queued goes out here, inside the savepoint.
          await store.jobs.enqueueLater({ kind: REFRESH_TOPIC, key: 'dropped', payload: { incidentId: incident.id } });
          await store.incidents.get(incident.id);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
    });
    expect(
      (await t.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq')).map((r) => r.action).at(-1),
    ).toBe('incident.war_room_opened');
    expect(await store.jobs.get('dropped')).toBeUndefined();
    expect(await store.audit.verify()).toMatchObject({ ok: true });
  });

  it('a transaction that throws after queuing writes leaves nothing', async () => {
    await expect(
      store.transaction(async () => {
        await declare('Never');
        throw new Error('the command failed');
      }),
    ).rejects.toThrow('the command failed');
    expect(await count('incidents')).toBe(0);
    expect(await count('audit_log')).toBe(0);
  });
});

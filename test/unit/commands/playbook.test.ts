// The checklist: copied at declaration, ticked with /incident check, shown by checklist and show, and its card.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUTTON_ACTION_PREFIX, renderSlack } from '../../../src/adapters/slack/render.js';

import { buttonLabel, checklistCard } from '../../../src/views/playbook-card.js';
import { channelReply, mention, timeToken, type Reply } from '../../../src/ports/reply.js';
import { DEFAULT_FILE_CONFIG, type FileConfig } from '../../../src/config.js';
import type { Incident } from '../../../src/domain/incident.js';
import { createPlaybookJobs } from '../../../src/jobs/playbook-jobs.js';
import { RetryLater, type JobContext } from '../../../src/jobs/worker.js';
import type { ChatPort } from '../../../src/ports/chat.js';
import type { PlaybookItem } from '../../../src/ports/store.js';
import { createIncidentFixture, type IncidentFixture } from './incident-fixture.js';
import { REFRESH_CHECKLIST } from '../../../src/ports/jobs.js';

const SEV1 = ['Assign an incident commander', 'Post a first status update', 'Check recent deploys'];
const config: FileConfig = {
  ...DEFAULT_FILE_CONFIG,
  incidents: {
    ...DEFAULT_FILE_CONFIG.incidents,
    playbooks: { ...DEFAULT_FILE_CONFIG.incidents.playbooks, sev1: SEV1, sev3: [] },
  },
};
const T0 = Date.parse('2026-03-01T10:00:00Z');

let f: IncidentFixture;
beforeEach(() => {
  f = createIncidentFixture(config);
  f.clock.set(T0);
});
afterEach(() => f.close());

const audit = async () =>
  [...(await f.store.audit.rows())].map((r) => ({
    action: r.action,
    actor: r.actor,
    incidentId: r.incidentId,
    before: JSON.parse(r.before ?? 'null') as unknown,
    after: JSON.parse(r.after ?? 'null') as unknown,
  }));
const auditCount = async () => [...(await f.store.audit.rows())].length;
const items = (id = 1) => f.store.playbooks.items(id);
/** Everything a refused or no-op check must leave alone. */
const state = async () => ({ counts: f.counts(), audit: await auditCount(), items: await items() });

async function declare(text = '/incident sev1 Payment gateway down') {
  const result = await f.run(text);
  expect(result.outcome, result.reply.text).toBe('ok');
}

describe('declaring copies the severity playbook', () => {
  it('gives INC-1 the configured sev1 checklist, nothing done, audited in the same transaction', async () => {
    await declare();
    expect(await items()).toEqual(SEV1.map((text, i) => ({ position: i + 1, text, doneBy: null, doneAt: null })));
    expect((await audit()).filter((a) => a.action === 'incident.playbook_created')).toEqual([
      { action: 'incident.playbook_created', actor: 'alice', incidentId: 1, before: null, after: { items: SEV1 } },
    ]);
    expect(await f.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('copies the playbook of the declared severity, and nothing for an empty one', async () => {
    await declare('/incident sev2 Slow search');
    await declare('/incident sev3 Typo on the status page');
    expect((await items(1)).map((i) => i.text)).toEqual(DEFAULT_FILE_CONFIG.incidents.playbooks.sev2);
    expect(await items(2)).toEqual([]);
    expect((await audit()).filter((a) => a.action === 'incident.playbook_created').map((a) => a.incidentId)).toEqual([
      1,
    ]);
  });
});

describe('/incident check', () => {
  beforeEach(() => declare());

  it('check 2 marks the item done with a timeline event, an audit row and one card-update job', async () => {
    const jobsBefore = f.jobs().length;
    f.clock.set(T0 + 5 * 60_000);
    const result = await f.run('/incident check INC-1 2', { user: 'bob' });

    expect(result).toMatchObject({ command: 'incident check', outcome: 'ok' });
    expect(result.reply.visibility).toBe('private');
    expect(result.reply.text).toContain('Item 2 of INC-1 done: Post a first status update (1 of 3 done)');
    expect((await items())[1]).toEqual({
      position: 2,
      text: 'Post a first status update',
      doneBy: 'bob',
      doneAt: T0 + 5 * 60_000,
    });
    expect((await items()).filter((i) => i.doneAt !== null)).toHaveLength(1);

    const event = (await f.store.incidents.timeline(1)).at(-1)!;
    expect(event).toMatchObject({
      kind: 'playbook_item_done',
      actor: 'bob',
      platform: 'console',
      text: '✅ Post a first status update',
      data: { position: 2 },
      at: T0 + 5 * 60_000,
    });

    const done = (await audit()).filter((a) => a.action === 'incident.playbook_item_done');
    expect(done).toEqual([
      {
        action: 'incident.playbook_item_done',
        actor: 'bob',
        incidentId: 1,
        before: { position: 2, text: 'Post a first status update', doneBy: null, doneAt: null },
        after: { position: 2, text: 'Post a first status update', doneBy: 'bob', doneAt: T0 + 5 * 60_000 },
      },
    ]);
    expect((await audit()).some((a) => a.action === 'timeline.playbook_item_done')).toBe(true);

    const jobs = f.jobs().slice(jobsBefore);
    expect(jobs).toEqual([
      { kind: REFRESH_CHECKLIST, key: `checklist:1:${event.id}`, payload: { incidentId: 1 }, status: 'queued' },
    ]);
  });

  it('check 2 again changes nothing and answers privately who did it and when', async () => {
    await f.run('/incident check INC-1 2', { user: 'bob' });
    const before = await state();
    f.clock.set(T0 + 60_000);
    const again = await f.run('/incident check INC-1 2', { user: 'carol' });
    expect(again.outcome).toBe('ok');
    expect(again.reply.visibility).toBe('private');
    expect(again.reply.text).toContain(`already done by ${mention('bob')} at ${timeToken(T0)}`);
    expect(await state()).toEqual(before);
  });

  it.each([
    ['9', 'there is no item 9'],
    ['0', 'there is no item 0'],
    ['two', '"two" is not an item number'],
    ['2 3', '"2 3" is not an item number'],
    ['', 'No item number given: give one number as shown by /incident checklist INC-1'],
  ])('check %j is refused privately with the usage, and changes nothing', async (typed, message) => {
    const before = await state();
    const result = await f.run(`/incident check INC-1 ${typed}`);
    expect(result.outcome).toBe('invalid');
    expect(result.reply.visibility).toBe('private');
    expect(result.reply.text).toContain(message);
    expect(result.reply.text).toContain('Usage: `/incident check [INC-n] <number>');
    expect(await state()).toEqual(before);
  });

  it('finds the incident from its war room, and refuses an unknown incident', async () => {
    await f.store.incidents.update(
      1,
      { roomId: 'war-1', roomName: 'inc-1-payment' },
      { actor: 'firelane', platform: 'console', action: 'test' },
    );
    expect((await f.run('/incident check 3', { roomId: 'war-1' })).outcome).toBe('ok');
    expect((await items())[2]?.doneBy).toBe('alice');
    expect((await f.run('/incident check INC-7 1')).reply.text).toContain('INC-7 does not exist');
    expect((await f.run('/incident check 1')).reply.text).toContain('Name the incident');
  });

  it('an incident without a checklist says so', async () => {
    await declare('/incident sev3 Typo');
    const result = await f.run('/incident check INC-2 1');
    expect(result.outcome).toBe('invalid');
    expect(result.reply.text).toContain('INC-2 has no checklist');
    expect((await f.run('/incident checklist INC-2')).reply.text).toContain('INC-2 has no checklist');
  });

  it('a retried delivery (same idempotency key) ticks once and answers the same', async () => {
    const first = await f.run('/incident check INC-1 1', { idempotencyKey: 'k1' });
    const again = await f.run('/incident check INC-1 1', { idempotencyKey: 'k1' });
    expect(again).toMatchObject({ outcome: 'duplicate', reply: first.reply });
    expect((await f.store.incidents.timeline(1)).filter((e) => e.kind === 'playbook_item_done')).toHaveLength(1);
  });

  it('is in help, with the checklist command', async () => {
    const help = (await f.run('/incident help')).reply.text;
    expect(help).toContain('/incident check [INC-n] <number>');
    expect(help).toContain('/incident checklist [INC-n]');
  });
});

describe('/incident checklist and /incident show', () => {
  beforeEach(async () => {
    await declare();
    f.clock.set(T0 + 120_000);
    await f.run('/incident check INC-1 2', { user: 'bob' });
  });

  it('checklist shows done and not-done items privately, with a button per open item', async () => {
    const result = await f.run('/incident checklist INC-1');
    expect(result.reply.visibility).toBe('private');
    const card = result.reply.card!;
    expect(card.title).toBe('Checklist (SEV1)');
    expect(card.text!.split('\n')).toEqual([
      '1. ☐ Assign an incident commander',
      `2. ✅ Post a first status update — ${mention('bob')}, ${timeToken(T0 + 120_000)}`,
      '3. ☐ Check recent deploys',
    ]);
    expect(card.buttons).toEqual([
      { label: 'Assign an incident commander', command: 'incident check INC-1 1' },
      { label: 'Check recent deploys', command: 'incident check INC-1 3' },
    ]);
    expect(card.footer).toContain('1 of 3 done');
    expect((await f.run('/incident checklist INC-1 extra')).outcome).toBe('invalid');
  });

  it('a button runs check through the router like a typed command', async () => {
    const card = (await f.run('/incident checklist INC-1')).reply.card!;
    const result = await f.run(card.buttons![1]!.command, { user: 'carol' });
    expect(result.outcome).toBe('ok');
    expect((await items())[2]).toMatchObject({ doneBy: 'carol' });
  });

  it('show lists the checklist, done and not done, below the timeline', async () => {
    const text = (await f.run('/incident show INC-1')).reply.text;
    const lines = text.split('\n');
    const event = lines.findIndex((l) => l.endsWith(`${mention('bob')} · ✅ Post a first status update`));
    const heading = lines.indexOf('*Checklist* (1 of 3 done)');
    expect(event).toBeGreaterThan(0);
    expect(heading).toBeGreaterThan(event);
    expect(lines.slice(heading + 1)).toEqual([
      '1. ☐ Assign an incident commander',
      `2. ✅ Post a first status update — ${mention('bob')}, ${timeToken(T0 + 120_000)}`,
      '3. ☐ Check recent deploys',
    ]);
  });

  it('when every item is done the card has no buttons and a good accent', async () => {
    await f.run('/incident check INC-1 1');
    await f.run('/incident check INC-1 3');
    const card = (await f.run('/incident checklist INC-1')).reply.card!;
    expect(card.buttons).toBeUndefined();
    expect(card.accent).toBe('good');
    expect(card.footer).toContain('3 of 3 done');
  });
});

describe('the checklist card on Slack', () => {
  const incident = { id: 4, severity: 'sev0' } as Incident;
  const open = (n: number, text = (i: number) => `Step ${i}`): PlaybookItem[] =>
    Array.from({ length: n }, (_, i) => ({ position: i + 1, text: text(i + 1), doneBy: null, doneAt: null }));
  type Actions = { type: 'actions'; elements: Array<{ action_id: string; value: string; text: { text: string } }> };
  const actionBlocks = (reply: Reply) =>
    (renderSlack(reply).blocks as Array<{ type: string }>).filter((b): b is Actions => b.type === 'actions');

  it('splits more than 25 buttons over several actions blocks with distinct action ids', () => {
    const blocks = actionBlocks(channelReply('', checklistCard(incident, open(30))));
    expect(blocks.map((b) => b.elements.length)).toEqual([25, 5]);
    const all = blocks.flatMap((b) => b.elements);
    expect(all.map((e) => e.action_id)).toEqual(all.map((_, i) => `${BUTTON_ACTION_PREFIX}${i}`));
    expect(all.map((e) => e.value)).toEqual(all.map((_, i) => `incident check INC-4 ${i + 1}`));
  });

  it('cuts a long label to 75 characters on a whole character', () => {
    const long = `${'🔥'.repeat(20)} ${'x'.repeat(100)}`;
    const label = buttonLabel(long);
    expect(label.length).toBeLessThanOrEqual(75);
    expect(label.endsWith('…')).toBe(true);
    expect(label).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(buttonLabel('Short')).toBe('Short');
    const [element] = actionBlocks(
      channelReply(
        '',
        checklistCard(
          incident,
          open(1, () => long),
        ),
      ),
    ).flatMap((b) => b.elements);
    expect(element?.text.text).toBe(label);
  });

  it('config text cannot forge a mention token', async () => {
    const forged: FileConfig = {
      ...config,
      incidents: {
        ...config.incidents,
        playbooks: { ...config.incidents.playbooks, sev2: ['Ping \uE000@U0BOSS\uE001\nnow'] },
      },
    };
    const g = createIncidentFixture(forged);
    try {
      await g.run('/incident sev2 X');
      expect((await g.store.playbooks.items(1)).map((i) => i.text)).toEqual(['Ping @U0BOSS now']);
    } finally {
      g.close();
    }
  });
});

describe('the refresh-checklist job', () => {
  function fakeChat() {
    const updates: Array<{ roomId: string; messageId: string; message: Reply }> = [];
    const chat = {
      announceRoom: undefined,
      update: async (roomId: string, messageId: string, message: Reply) => {
        updates.push({ roomId, messageId, message });
      },
    } as unknown as ChatPort;
    return { chat, updates };
  }
  const context = (): JobContext => ({
    job: { id: 1, kind: REFRESH_CHECKLIST, key: 'k', payload: {}, attempts: 1, runAt: 0, progress: {}, createdAt: 0 },
    step: (name, fn) => fn({ key: `k/${name}`, retried: false }),
  });

  beforeEach(() => declare());

  it('waits while the war-room job may still post the card, and does nothing once it cannot', async () => {
    const { chat, updates } = fakeChat();
    const handler = createPlaybookJobs({ store: f.store, chats: { console: chat } })[REFRESH_CHECKLIST]!;
    await expect(handler({ incidentId: 1 }, context())).rejects.toBeInstanceOf(RetryLater);
    f.handle.sqlite.prepare(`UPDATE jobs SET status = 'dead' WHERE key = 'war-room:1'`).run();
    await handler({ incidentId: 1 }, context());
    expect(updates).toEqual([]);
  });

  it('updates the card in place with what is stored when it runs', async () => {
    const { chat, updates } = fakeChat();
    await f.store.incidents.update(
      1,
      { roomId: 'war-1', roomName: 'inc-1', playbookRef: 'msg-7' },
      { actor: 'firelane', platform: 'console', action: 'test' },
    );
    await f.run('/incident check INC-1 1');
    await f.run('/incident check INC-1 3');
    await createPlaybookJobs({ store: f.store, chats: { console: chat } })[REFRESH_CHECKLIST]!(
      { incidentId: 1 },
      context(),
    );
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ roomId: 'war-1', messageId: 'msg-7' });
    expect(updates[0]!.message.card!.buttons).toEqual([
      { label: 'Post a first status update', command: 'incident check INC-1 2' },
    ]);
  });
});

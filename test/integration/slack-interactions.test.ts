// Retries and double clicks change nothing twice; the declare modal opens and submits like Slack's.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ANNOUNCE, buttonClick, startHarness, type Harness } from '../support/harness.js';
import {
  ackText,
  buttons,
  cardField,
  cardMessage,
  commandForm,
  declare,
  declareSubmission,
  incident,
  postSigned,
  snapshot,
} from './slack-helpers.js';

describe('Slack retries and double clicks', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('the same slash command delivered again (same trigger_id, X-Slack-Retry-Num) declares once and answers the same', async () => {
    h = await startHarness();
    const first = await h.command('sev1 Payment gateway down', { triggerId: 'trigger-dup-1' });
    const second = await h.command('sev1 Payment gateway down', { triggerId: 'trigger-dup-1' });
    const form = commandForm('sev1 Payment gateway down', { trigger_id: 'trigger-dup-1' });
    const retried = await postSigned(h, form, { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' });

    expect(first.body.response_type).toBe('in_channel');
    expect(first.body.text).toContain('INC-1');
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual(first.body);

    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    expect((await h.firelane.store.incidents.timeline(1)).map((e) => e.kind)).toEqual(['declared']);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 1 });

    await h.drain();
    expect(h.slack.callsTo('conversations.create')).toHaveLength(1);
    expect([...h.slack.channels.values()].filter((c) => c.name.startsWith('inc-'))).toHaveLength(1);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
    expect(h.slack.pins).toHaveLength(1);

    // Draining again repeats nothing.
    const calls = h.slack.calls.length;
    await h.drain();
    await h.drain();
    expect(h.slack.calls.length).toBe(calls);
    expect((await h.firelane.store.jobs.get('war-room:1'))?.status).toBe('done');
  });

  it('a different trigger_id with the same text is a new declaration', async () => {
    h = await startHarness();
    await h.command('sev1 Payment gateway down', { triggerId: 'trigger-a' });
    const other = await h.command('sev1 Payment gateway down', { triggerId: 'trigger-b' });
    expect(other.body.text).toContain('INC-2');
    expect(await h.firelane.store.incidents.list()).toHaveLength(2);
  });

  it('"Take command" clicked twice (and the click retried by Slack) assigns once', async () => {
    h = await startHarness();
    const inc = await declare(h, 'sev1 Payment gateway down');
    const card = await cardMessage(h, 1);
    const take = buttons(card.blocks).find((b) => b.text.text === 'Take command');
    expect(take).toBeDefined();
    const click = () =>
      buttonClick({
        user: 'U0BOB',
        channel: inc.roomId!,
        messageTs: card.ts,
        actionId: take!.action_id,
        value: take!.value,
        responseUrl: h.slack.responseUrl(),
      });

    const firstClick = click();
    const [a, b] = await Promise.all([h.interaction(firstClick), h.interaction(click())]);
    const retried = await h.interaction(firstClick); // the same delivery again
    expect([a.status, b.status, retried.status]).toEqual([200, 200, 200]);

    expect((await incident(h, 1)).commander).toBe('U0BOB');
    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'role_assigned')).toHaveLength(1);
    expect((await h.firelane.store.jobs.depth()).queued).toBe(2); // one broadcast and one topic refresh

    // Each click gets a private answer on its response_url.
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(3));
    for (const r of h.slack.responses)
      expect(r.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(h.slack.responses.map((r) => ackText(r.body as { text?: string })).join('\n')).toContain('<@U0BOB>');

    await h.drain();
    expect(h.slack.callsTo('chat.update')).toHaveLength(1);
    expect(h.slack.messagesIn(inc.roomId!)).toHaveLength(3); // card, checklist, one "is now the incident commander"
    expect(cardField((await cardMessage(h, 1)).blocks, 'Commander')).toBe('<@U0BOB>');
    const calls = h.slack.calls.length;
    await h.drain();
    expect(h.slack.calls.length).toBe(calls);
  });
});

describe('the declare modal', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('/incident with no text opens the modal on the trigger_id and creates nothing', async () => {
    h = await startHarness();
    const before = await snapshot(h);
    const ack = await h.command('', { triggerId: 'trigger-modal-1', channel: 'C0GENERAL' });
    expect(ack.status).toBe(200);
    await vi.waitFor(() => expect(h.slack.views).toHaveLength(1));
    const [opened] = h.slack.views;
    expect(opened!.triggerId).toBe('trigger-modal-1');
    const view = opened!.view as {
      type: string;
      callback_id: string;
      private_metadata: string;
      blocks: Array<{ block_id: string; element: { action_id: string } }>;
    };
    expect(view).toMatchObject({ type: 'modal', callback_id: 'firelane:declare', private_metadata: 'C0GENERAL' });
    expect(view.blocks.map((b) => `${b.block_id}.${b.element.action_id}`)).toEqual([
      'severity.value',
      'title.value',
      'description.value',
    ]);
    const after = await snapshot(h);
    expect({ ...after, slackCalls: before.slackCalls }).toEqual(before);
    expect(h.slack.calls.slice(before.slackCalls).map((c) => c.method)).toEqual(['views.open']);
  });

  it('a submitted modal declares with the description; the same view submitted twice declares once', async () => {
    h = await startHarness();
    const payload = declareSubmission({ viewId: 'V0MODAL1', title: 'Checkout broken', description: '500s on /pay' });
    const first = await h.interaction(payload);
    const again = await h.interaction(payload);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(first.body).toBeUndefined(); // a plain ack: the modal closes

    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    expect(await incident(h, 1)).toMatchObject({
      title: 'Checkout broken',
      description: '500s on /pay',
      severity: 'sev1',
      declaredBy: 'U0ALICE',
      platform: 'slack',
    });
    await h.drain();
    expect(h.slack.callsTo('conversations.create')).toHaveLength(1);
    const card = await cardMessage(h, 1);
    expect(JSON.stringify(card.blocks)).toContain('500s on /pay');
    expect(cardField(card.blocks, 'Severity')).toBe('SEV1');
    expect(h.slack.channelByName('inc-1-checkout-broken')).toBeDefined();
  });

  it('a modal with an empty title is answered with a field error, and nothing is created', async () => {
    h = await startHarness();
    const before = await snapshot(h);
    const result = await h.interaction(declareSubmission({ viewId: 'V0EMPTY', title: '   ' }));
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      response_action: 'errors',
      errors: { title: expect.stringMatching(/title is missing/) },
    });
    await h.drain();
    expect(await snapshot(h)).toEqual(before);
  });

  it('a modal title over 150 code points is refused on the title field', async () => {
    h = await startHarness();
    const before = await snapshot(h);
    const result = await h.interaction(declareSubmission({ viewId: 'V0LONG', title: '🔥'.repeat(151) }));
    expect(result.body).toMatchObject({ response_action: 'errors', errors: { title: expect.stringMatching(/151/) } });
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('declare form: feedback', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("confirms a declaration from the form in the declarer's direct messages", async () => {
    h = await startHarness();
    const submitted = await h.interaction(
      declareSubmission({ viewId: 'V0CONFIRM', title: 'Checkout broken', description: '' }),
    );
    expect(submitted.status).toBe(200);
    // The confirmation is sent after the ack (the form closes first).
    await expect.poll(() => h.slack.callsTo('chat.postMessage').length).toBeGreaterThan(0);
    const dm = [...h.slack.channels.values()].find((c) => c.id.startsWith('D') && c.members.has('U0ALICE'));
    expect(dm).toBeDefined();
    const confirmation = h.slack.messagesIn(dm!.id);
    expect(confirmation).toHaveLength(1);
    expect(JSON.stringify(confirmation[0])).toContain('INC-1');
  });

  it('tells the user when the form cannot be opened, with the typed form instead', async () => {
    h = await startHarness();
    h.slack.failNext('views.open', { error: 'expired_trigger_id' });
    const ack = await h.command('', { user: 'U0ALICE' });
    expect(ack.status).toBe(200);
    await expect.poll(() => h.slack.responses.length).toBe(1);
    const body = h.slack.responses[0]!.body as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('/incident sev1');
    expect(await h.firelane.store.incidents.list()).toHaveLength(0);
  });
});

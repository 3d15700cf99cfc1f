// The checklist over Slack: posted in the war room, ticked by a button click, updated in place.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BUTTON_ACTION_PREFIX } from '../../src/adapters/slack/render.js';
import type { Incident } from '../../src/domain/incident.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import { ANNOUNCE, buttonClick, startHarness, type Harness } from '../support/harness.js';
import { ackText, blockTexts, buttons, declare, incident, shownText } from './slack-helpers.js';

const YAML = `incidents:
  announceChannel: ${ANNOUNCE}
  severities:
    sev1: { responders: [U0ONCALL1] }
  playbooks:
    sev1: ["Assign an incident commander", "Post a first status update", "Check recent deploys"]
`;

/** The checklist card as it is in the war room now (the fake applies chat.update in place). */
async function checklistMessage(h: Harness, inc: Incident): Promise<FakeMessage> {
  const ref = (await incident(h, inc.id)).playbookRef;
  expect(ref, 'the checklist card was posted').toBeTruthy();
  const message = h.slack.messages.find((m) => m.channel === inc.roomId && m.ts === ref);
  expect(message).toBeDefined();
  return message!;
}
const lines = (message: FakeMessage) => blockTexts(message.blocks).join('\n');

describe('the war-room checklist on Slack', () => {
  let h: Harness;
  let inc: Incident;
  beforeEach(async () => {
    h = await startHarness({ configYaml: YAML });
    inc = await declare(h, 'sev1 Payment gateway down');
  });
  afterEach(async () => h?.close());

  const click = async (user: string, position: number) => {
    const card = await checklistMessage(h, inc);
    const button = buttons(card.blocks).find((b) => b.value === `incident check INC-1 ${position}`);
    expect(button, `a button for item ${position}`).toBeDefined();
    return buttonClick({
      user,
      channel: inc.roomId!,
      messageTs: card.ts,
      actionId: button!.action_id,
      value: button!.value,
      responseUrl: h.slack.responseUrl(),
    });
  };

  it('declaring posts the checklist card below the incident card, one button per item, not pinned', async () => {
    const card = await checklistMessage(h, inc);
    expect(h.slack.messagesIn(inc.roomId!).map((m) => m.ts)).toEqual([inc.cardRef, card.ts]);
    expect(lines(card)).toContain('*Checklist (SEV1)*');
    expect(lines(card)).toContain(
      '1. ☐ Assign an incident commander\n2. ☐ Post a first status update\n3. ☐ Check recent deploys',
    );
    expect(buttons(card.blocks)).toEqual([
      {
        type: 'button',
        action_id: `${BUTTON_ACTION_PREFIX}0`,
        text: { type: 'plain_text', text: 'Assign an incident commander' },
        value: 'incident check INC-1 1',
      },
      {
        type: 'button',
        action_id: `${BUTTON_ACTION_PREFIX}1`,
        text: { type: 'plain_text', text: 'Post a first status update' },
        value: 'incident check INC-1 2',
      },
      {
        type: 'button',
        action_id: `${BUTTON_ACTION_PREFIX}2`,
        text: { type: 'plain_text', text: 'Check recent deploys' },
        value: 'incident check INC-1 3',
      },
    ]);
    expect(h.slack.pins).toEqual([{ channel: inc.roomId, ts: inc.cardRef }]);
    expect((await h.firelane.store.jobs.get('war-room:1'))?.status).toBe('done');
  });

  it('a click on item 2 ticks it as the clicking user; after the job the card shows ✅ and one button fewer, in place', async () => {
    const posted = await checklistMessage(h, inc);
    const messagesBefore = h.slack.messages.length;
    const res = await h.interaction(await click('U0BOB', 2));
    expect(res.status).toBe(200);

    const events = (await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'playbook_item_done');
    expect(events).toEqual([
      expect.objectContaining({ actor: 'U0BOB', platform: 'slack', text: '✅ Post a first status update' }),
    ]);
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(1));
    expect(h.slack.responses[0]!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(ackText(h.slack.responses[0]!.body as { text?: string })).toContain('Item 2 of INC-1 done');
    expect(h.slack.callsTo('chat.update')).toHaveLength(0); // nothing before the job runs

    await h.drain();
    const updates = h.slack.callsTo('chat.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]!.params).toMatchObject({ channel: inc.roomId, ts: posted.ts });
    expect(h.slack.messages.length).toBe(messagesBefore); // updated, not posted again
    const card = await checklistMessage(h, inc);
    expect(card.ts).toBe(posted.ts);
    expect(lines(card)).toMatch(
      /2\. ✅ Post a first status update — <@U0BOB>, <!date\^\d+\^[^|>]+\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>/,
    );
    expect(lines(card)).toContain('1. ☐ Assign an incident commander');
    expect(buttons(card.blocks).map((b) => b.value)).toEqual(['incident check INC-1 1', 'incident check INC-1 3']);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 0, dead: 0 });
  });

  it('a double click (and a retried delivery) ticks once; the second click hears who did it', async () => {
    const first = await click('U0BOB', 2);
    const second = await click('U0CAROL', 2);
    const results = await Promise.all([h.interaction(first), h.interaction(second)]);
    await h.interaction(first); // the same delivery again
    expect(results.map((r) => r.status)).toEqual([200, 200]);

    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'playbook_item_done')).toHaveLength(
      1,
    );
    const doneBy = (await h.firelane.store.playbooks.items(1))[1]!.doneBy!;
    expect(['U0BOB', 'U0CAROL']).toContain(doneBy);
    await vi.waitFor(() => expect(h.slack.responses).toHaveLength(3));
    // Per click (each has its own response URL): either click may win the race. The retried delivery
    // is answered with its first delivery's reply, whichever that was.
    const byClick = new Map<string, string[]>();
    for (const r of h.slack.responses)
      byClick.set(r.path, [...(byClick.get(r.path) ?? []), ackText(r.body as { text?: string })]);
    const [repeated, once] = [...byClick.values()].sort((a, b) => b.length - a.length);
    expect([repeated!.length, once!.length]).toEqual([2, 1]);
    expect(repeated![1]).toBe(repeated![0]);
    const answers = [repeated![0]!, once![0]!];
    expect(answers.filter((a) => a.includes(`already done by <@${doneBy}>`))).toHaveLength(1);
    expect(answers.filter((a) => a.includes('Item 2 of INC-1 done'))).toHaveLength(1);

    await h.drain();
    expect(h.slack.callsTo('chat.update')).toHaveLength(1);
    expect(buttons((await checklistMessage(h, inc)).blocks)).toHaveLength(2);
  });

  it('/incident checklist and /incident show list the done and the open items', async () => {
    await h.interaction(await click('U0BOB', 2));
    const checklist = await h.command('checklist', { channel: inc.roomId! });
    expect(checklist.body.response_type).toBe('ephemeral');
    expect(shownText(checklist.body)).toContain('1. ☐ Assign an incident commander');
    expect(shownText(checklist.body)).toMatch(/2\. ✅ Post a first status update — <@U0BOB>/);

    const show = await h.command('show INC-1');
    expect(show.body.response_type).toBe('ephemeral');
    const text = shownText(show.body);
    expect(text).toContain('*Checklist* (1 of 3 done)');
    expect(text).toContain('3. ☐ Check recent deploys');
    expect(text).toMatch(/2\. ✅ Post a first status update — <@U0BOB>, <!date/);
    expect(text.indexOf('*Checklist*')).toBeGreaterThan(text.indexOf('*Timeline*'));
  });

  it('a number not on the list is refused privately with the usage, nothing changes', async () => {
    const ack = await h.command('check 9', { channel: inc.roomId! });
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toContain('there is no item 9');
    expect(shownText(ack.body)).toContain('/incident check [INC-n] &lt;number&gt;');
    expect((await h.firelane.store.playbooks.items(1)).every((i) => i.doneAt === null)).toBe(true);
    expect((await h.firelane.store.jobs.depth()).queued).toBe(0);
  });
});

// Microsoft Teams over the wire: Bot Framework activities POSTed to /api/messages into the Microsoft 365 Agents
// SDK's CloudAdapter, and what reaches the loopback fake Bot Connector: replies and Adaptive Cards, the war room as a
// channel thread, private answers in a personal chat, card buttons with the approval rules, updates in place,
// proactive reminders. Token, tenant and service URL checks are in teams-security.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tickReminders } from '../../src/jobs/reminder-tick.js';
import { createManualClock } from '../../src/ports/clock.js';
import { declare } from './slack-helpers.js';
import {
  AAD,
  cardText,
  GENERAL,
  INCIDENTS,
  personalMessages as personalIn,
  startTeams,
  submit,
  texts,
  USERS,
  type SendOptions,
  type StartOptions,
  type TeamsRig,
  type User,
} from './teams-helpers.js';

let rig: TeamsRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

// The tests below read as they did with botbuilder: h, connector, send().
let h: TeamsRig['h'];
let connector: TeamsRig['connector'];
async function start(options: StartOptions = {}) {
  rig = await startTeams(options);
  ({ h, connector } = rig);
}
const send = (options: SendOptions) => rig!.send(options);
const personalMessages = () => personalIn(connector);

describe('Teams (no app id: loopback emulator mode)', () => {
  it('declares from a channel mention: the war room is a new thread in that channel, with the card, responders mentioned, and the announcement', async () => {
    await start();
    const posted = await send({ text: 'incident sev1 Payments down' });
    expect(posted.status).toBe(200);
    expect(texts(connector.messagesIn(GENERAL)).join('\n')).toContain('INC-1');
    await h.drain();

    const incident = (await h.firelane.store.incidents.get(1))!;
    expect(incident.platform).toBe('teams');
    expect(incident.roomId).toMatch(new RegExp(`^${GENERAL.replace(/[.:@]/g, '\\$&')};messageid=\\d+$`));
    const thread = connector.conversation(incident.roomId!)!;
    expect(thread).toMatchObject({ kind: 'channel-thread', channelId: GENERAL });
    const inRoom = connector.messagesIn(incident.roomId!);
    expect(texts(inRoom)[0]).toContain('inc-1-payments-down');
    expect(inRoom.some((a) => cardText(a).includes('INC-1: Payments down'))).toBe(true);
    // Responders are mentioned (Teams cannot add people to a thread): a real mention for a team member,
    // a warning for one who is not in the team.
    const mentionMessage = inRoom.find((a) => a.text?.includes('you are responders here'))!;
    // (the declarer and the severity's responders)
    expect(mentionMessage.text).toBe('<at>Alice Dev</at> <at>Lea Lead</at>: you are responders here.');
    expect(mentionMessage.entities).toEqual([
      { type: 'mention', text: '<at>Alice Dev</at>', mentioned: { id: AAD.alice, name: 'Alice Dev' } },
      { type: 'mention', text: '<at>Lea Lead</at>', mentioned: { id: AAD.lea, name: 'Lea Lead' } },
    ]);
    expect(texts(inRoom).join('\n')).toContain(`⚠️ Could not invite @${AAD.ghost} \\(not a member of this team\\)`);
    expect(texts(connector.messagesIn(INCIDENTS)).join('\n')).toContain('INC-1');
  });

  it('a deploy request card: the requester is refused privately in a personal chat; an approver approves once, however often it is submitted; the card updates in place', async () => {
    await start();
    await send({ text: 'deploy payments v2.1.1', from: USERS.alice });
    await h.drain();
    const card = connector.messagesIn(GENERAL).find((a) => cardText(a).includes('REQ-1'))!;
    expect(card).toBeDefined();
    expect(cardText(card)).toContain('Approve');

    // Alice asked: her own Approve is refused, privately (a 1:1 chat with the bot).
    await send({ value: submit(card, 'Approve'), from: USERS.alice });
    const personal = connector.conversations().find((c) => c.kind === 'personal')!;
    expect(personal).toBeDefined();
    expect(texts(connector.messagesIn(personal.id)).join('\n')).toMatch(
      /You asked for REQ-1, so someone else must approve it/,
    );
    // Bob is no approver.
    await send({ value: submit(card, 'Approve'), from: USERS.bob });
    expect(
      texts(
        connector
          .conversations()
          .filter((c) => c.kind === 'personal')
          .flatMap((c) => connector.messagesIn(c.id)),
      ).join('\n'),
    ).toMatch(/You are not an approver for production/);
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'pending', approvals: [] });

    // Lea approves; the same submit delivered twice (same activity id) and a second click approve once.
    const click = { value: submit(card, 'Approve'), from: USERS.lea, id: '1799999999001' };
    await Promise.all([send(click), send(click), send({ ...click, id: '1799999999002' })]);
    await h.drain();
    const request = (await h.firelane.store.deploys.get(1))!;
    expect(request).toMatchObject({ status: 'succeeded' });
    expect(request.approvals.map((a) => a.by)).toEqual([AAD.lea]);
    // The card was updated in place (PUT), ending with Succeeded and a Rollback button.
    // Alice was answered privately twice (the request, the refusal), one after the other: her
    // personal chat was opened once and then reused.
    const openedFor = (user: User) =>
      connector.requests.filter(
        (r) =>
          r.method === 'POST' &&
          r.path === '/v3/conversations' &&
          (r.body as { members?: Array<{ id: string }> }).members?.[0]?.id === user.id,
      );
    expect(
      texts(
        connector.messagesIn(
          connector
            .conversations()
            .find((c) => c.kind === 'personal' && c.members.some((m) => m.id === USERS.alice.id))!.id,
        ),
      ).length,
    ).toBeGreaterThanOrEqual(2);
    expect(openedFor(USERS.alice)).toHaveLength(1);
    const updated = connector.activity(card.id)!;
    expect(updated.history.length).toBeGreaterThan(0);
    expect(cardText(updated)).toContain('Succeeded');
    expect(cardText(updated)).toContain('Rollback');
  });

  it('Action.Execute (an invoke) reaches the same approval logic and answers the clicker in the invoke response', async () => {
    await start();
    await send({ text: 'deploy payments v2.1.1', from: USERS.alice });
    await h.drain();
    const card = connector.messagesIn(GENERAL).find((a) => cardText(a).includes('REQ-1'))!;
    const execute = (from: User, id: string) =>
      send({
        type: 'invoke',
        name: 'adaptiveCard/action',
        value: { action: { type: 'Action.Execute', verb: 'firelane', data: submit(card, 'Approve') } },
        from,
        id,
      });
    const refused = await execute(USERS.alice, '1800000000001');
    expect(refused.status).toBe(200);
    expect(JSON.parse(refused.body)).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.activity.message',
      value: expect.stringMatching(/You asked for REQ-1, so someone else must approve it/),
    });
    const approved = await execute(USERS.lea, '1800000000002');
    expect(JSON.parse(approved.body).value).toMatch(/You approved REQ-1/);
    const again = await execute(USERS.lea, '1800000000002');
    expect(JSON.parse(again.body).value).toBe(JSON.parse(approved.body).value);
    await h.drain();
    expect(await h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', approvals: [{ by: AAD.lea }] });
  });

  it('an incident declared in Slack is updated from Teams: one core, one database', async () => {
    await start();
    const slackIncident = await declare(h, 'sev2 Search is slow', { command: '/incident', channel: 'C0GENERAL' });
    await send({ text: `incident update INC-${slackIncident.id} identified "index rebuild stuck"`, from: USERS.lea });
    await h.drain();
    const stored = (await h.firelane.store.incidents.get(slackIncident.id))!;
    expect(stored.status).toBe('identified');
    // The update reached the Slack war room; the Teams user got the answer in Teams.
    expect(
      h.slack
        .messagesIn(stored.roomId!)
        .map((m) => JSON.stringify(m.blocks ?? m.text))
        .join('\n'),
    ).toContain('index rebuild stuck');
    expect(texts(personalMessages()).join('\n')).toMatch(new RegExp(`INC-${slackIncident.id}`));
  });

  it('reminders reach the Teams war room proactively', async () => {
    const clock = createManualClock(Date.parse('2026-11-21T10:00:00Z'));
    await start({ clock });
    await send({ text: 'incident sev1 Payments down' });
    await h.drain();
    const room = (await h.firelane.store.incidents.get(1))!.roomId!;
    const before = connector.messagesIn(room).length;
    clock.advance(16 * 60_000);
    await tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    await h.drain();
    const after = connector.messagesIn(room).slice(before);
    expect(texts(after).join('\n')).toMatch(/status update/i);
  });

  it('a Bot Connector failure is counted in firelane_upstream_errors_total and the war room is opened on the retry', async () => {
    await start();
    // A 403 reaches the job (the SDK retries no Bot Connector call), which retries it later.
    connector.failNext({ method: 'POST', path: '/v3/conversations', status: 403 });
    await send({ text: 'incident sev2 Search is slow' });
    // The job's retry comes after a short back-off.
    await vi.waitFor(
      async () => {
        await h.drain();
        expect((await h.firelane.store.incidents.get(1))!.roomId).toBeTruthy();
      },
      { timeout: 5000, interval: 50 },
    );
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^firelane_upstream_errors_total\{service="teams",status="403"\} 1$/m);
  });

  it('chatter that is no command gets the usage; nothing is recorded', async () => {
    await start();
    await send({ text: 'thanks everyone' });
    expect(texts(connector.messagesIn(GENERAL)).join('\n')).toMatch(
      /Mention me with a command: \/incident, \/deploy, \/rollback, \/hotfix/,
    );
    expect(await h.firelane.store.incidents.listOpen(5)).toEqual([]);
  });
});

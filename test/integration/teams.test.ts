// Microsoft Teams over the wire: Bot Framework activities POSTed to /api/messages into the real
// botbuilder CloudAdapter, and what reaches the loopback fake Bot Connector: replies and Adaptive
// Cards, the war room as a channel thread, private answers in a personal chat, card buttons with
// the approval rules, updates in place, proactive reminders, and token verification in app-id mode.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tickReminders } from '../../src/jobs/reminder-tick.js';
import { createManualClock } from '../../src/ports/clock.js';
import { adaptiveCards, startFakeBotConnector, type FakeActivity, type FakeBotConnector } from '../fakes/fake-bot-connector.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { startBotAuthServer, type BotAuthKit } from '../support/bot-auth.js';
import { startHarness, type Harness } from '../support/harness.js';
import { IMAGE, PAYMENTS } from './deploy-config.js';
import { declare } from './slack-helpers.js';

const TENANT = 'tenant-1';
const TEAM = '19:team-ops@thread.tacv2';
const GENERAL = '19:general@thread.tacv2';
const INCIDENTS = '19:incidents@thread.tacv2';
const BOT = { id: '28:firelane-bot', name: 'firelane' };
const USERS = {
  alice: { id: '29:alice', aadObjectId: 'aad-alice', name: 'Alice Dev' },
  lea: { id: '29:lea', aadObjectId: 'aad-lea', name: 'Lea Lead' },
  bob: { id: '29:bob', aadObjectId: 'aad-bob', name: 'Bob Bystander' },
};
type User = (typeof USERS)[keyof typeof USERS];

const YAML = `incidents:
  announceChannel: C0INCIDENTS
  teams:
    announceChannel: "${INCIDENTS}"
  severities:
    sev1: { reminderEvery: 15m, escalateAfterMissed: 2, responders: [aad-lea, aad-ghost] }
services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE} }
    healthCheck: { window: 1s }
approvals:
  production: { approvers: [aad-lea, aad-alice], required: 1 }
`;

let h: Harness;
let connector: FakeBotConnector;
let auth: BotAuthKit | undefined;
let n = 0;
afterEach(async () => {
  await h?.close();
  await connector?.close();
  await auth?.close();
  auth = undefined;
});

async function start(options: { appId?: string; clock?: ReturnType<typeof createManualClock> } = {}) {
  connector = await startFakeBotConnector({ requireAuth: options.appId !== undefined });
  const cluster = createMemoryCluster({ rolloutPolls: 2 });
  cluster.addDeployment({ ...PAYMENTS, name: 'payments', images: { app: `${IMAGE}:v2.1.0` }, history: [{ app: `${IMAGE}:v2.0.0` }], replicas: 2 });
  if (options.appId !== undefined) auth = await startBotAuthServer();
  h = await startHarness({
    configYaml: YAML,
    cluster,
    deploy: { pollIntervalMs: 5 },
    ...(options.clock && { clock: options.clock, reminderTicker: false }),
    ...(auth && options.appId && { teams: { appId: options.appId, appPassword: 'secret', authConfig: auth.botFrameworkAuthConfig(options.appId, 'secret'), credentialsFactory: auth.credentialsFactory(options.appId) } }),
  });
  // The team's members, as the Bot Connector knows them (Lea is in the team; aad-ghost is not).
  for (const user of Object.values(USERS)) connector.addMember(GENERAL, { id: user.id, name: user.name, aadObjectId: user.aadObjectId });
  // The channel the bot was added to (Teams sends conversationUpdate), so it knows the service URL and team.
  await send({ type: 'conversationUpdate', conversation: GENERAL });
}

/** POSTs one activity as Teams would; `text` mentions the bot first, like a channel message. */
async function send(options: { type?: string; name?: string; text?: string; value?: Record<string, unknown>; from?: User; conversation?: string; personal?: boolean; id?: string; mentions?: User[]; token?: string | null }) {
  const from = options.from ?? USERS.alice;
  const conversation = options.conversation ?? GENERAL;
  const mentionEntities = [
    ...(options.text !== undefined && !options.personal ? [{ type: 'mention', text: '<at>firelane</at>', mentioned: BOT }] : []),
    ...(options.mentions ?? []).map((u) => ({ type: 'mention', text: `<at>${u.name}</at>`, mentioned: { id: u.id, name: u.name, aadObjectId: u.aadObjectId } })),
  ];
  const activity = {
    type: options.type ?? 'message',
    ...(options.name && { name: options.name }),
    id: options.id ?? `1700000000${String(++n).padStart(3, '0')}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connector.url,
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    recipient: BOT,
    conversation: options.personal ? { id: `a:personal-${from.aadObjectId}`, conversationType: 'personal', tenantId: TENANT } : { id: conversation, conversationType: 'channel', isGroup: true, tenantId: TENANT },
    channelData: options.personal ? { tenant: { id: TENANT } } : { tenant: { id: TENANT }, team: { id: TEAM, name: 'Ops' }, channel: { id: conversation.split(';')[0] } },
    ...(options.text !== undefined && { text: options.personal ? options.text : `<at>firelane</at> ${options.text}`, textFormat: 'plain' }),
    ...(options.value && { value: options.value }),
    entities: mentionEntities,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== null && auth) headers.authorization = `Bearer ${options.token ?? auth.signActivityToken({ appId: 'app-123', serviceUrl: connector.url })}`;
  const response = await fetch(`${h.url}/api/messages`, { method: 'POST', headers, body: JSON.stringify(activity) });
  return { status: response.status, body: await response.text() };
}

/** Everything the bot said in personal (1:1) chats. */
const personalMessages = () => connector.conversations().filter((c) => c.kind === 'personal').flatMap((c) => connector.messagesIn(c.id));
const texts = (activities: FakeActivity[]) => activities.map((a) => a.text ?? JSON.stringify(adaptiveCards(a)));
const cardText = (activity: FakeActivity) => JSON.stringify(adaptiveCards(activity));
const submit = (activity: FakeActivity, title: string) => {
  const action = (adaptiveCards(activity)[0]!.actions as Array<{ title: string; data: Record<string, unknown> }>).find((a) => a.title === title);
  expect(action, `a ${title} button`).toBeDefined();
  return action!.data;
};

describe('Teams (no app id: loopback emulator mode)', () => {
  it('declares from a channel mention: the war room is a new thread in that channel, with the card, responders mentioned, and the announcement', async () => {
    await start();
    const posted = await send({ text: 'incident sev1 Payments down' });
    expect(posted.status).toBe(200);
    expect(texts(connector.messagesIn(GENERAL)).join('\n')).toContain('INC-1');
    await h.drain();

    const incident = h.firelane.store.incidents.get(1)!;
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
      { type: 'mention', text: '<at>Alice Dev</at>', mentioned: { id: 'aad-alice', name: 'Alice Dev' } },
      { type: 'mention', text: '<at>Lea Lead</at>', mentioned: { id: 'aad-lea', name: 'Lea Lead' } },
    ]);
    expect(texts(inRoom).join('\n')).toContain('⚠️ Could not invite @aad-ghost \\(not a member of this team\\)');
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
    expect(texts(connector.messagesIn(personal.id)).join('\n')).toMatch(/You asked for REQ-1, so someone else must approve it/);
    // Bob is no approver.
    await send({ value: submit(card, 'Approve'), from: USERS.bob });
    expect(texts(connector.conversations().filter((c) => c.kind === 'personal').flatMap((c) => connector.messagesIn(c.id))).join('\n')).toMatch(/You are not an approver for production/);
    expect(h.firelane.store.deploys.get(1)).toMatchObject({ status: 'pending', approvals: [] });

    // Lea approves; the same submit delivered twice (same activity id) and a second click approve once.
    const click = { value: submit(card, 'Approve'), from: USERS.lea, id: '1799999999001' };
    await Promise.all([send(click), send(click), send({ ...click, id: '1799999999002' })]);
    await h.drain();
    const request = h.firelane.store.deploys.get(1)!;
    expect(request).toMatchObject({ status: 'succeeded' });
    expect(request.approvals.map((a) => a.by)).toEqual(['aad-lea']);
    // The card was updated in place (PUT), ending with Succeeded and a Rollback button.
    // Alice was answered privately twice (the request, the refusal), one after the other: her
    // personal chat was opened once and then reused.
    const openedFor = (user: User) =>
      connector.requests.filter((r) => r.method === 'POST' && r.path === '/v3/conversations' && (r.body as { members?: Array<{ id: string }> }).members?.[0]?.id === user.id);
    expect(texts(connector.messagesIn(connector.conversations().find((c) => c.kind === 'personal' && c.members.some((m) => m.id === USERS.alice.id))!.id)).length).toBeGreaterThanOrEqual(2);
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
    const execute = (from: User, id: string) => send({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'firelane', data: submit(card, 'Approve') } }, from, id });
    const refused = await execute(USERS.alice, '1800000000001');
    expect(refused.status).toBe(200);
    expect(JSON.parse(refused.body)).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: expect.stringMatching(/You asked for REQ-1, so someone else must approve it/) });
    const approved = await execute(USERS.lea, '1800000000002');
    expect(JSON.parse(approved.body).value).toMatch(/You approved REQ-1/);
    const again = await execute(USERS.lea, '1800000000002');
    expect(JSON.parse(again.body).value).toBe(JSON.parse(approved.body).value);
    await h.drain();
    expect(h.firelane.store.deploys.get(1)).toMatchObject({ status: 'succeeded', approvals: [{ by: 'aad-lea' }] });
  });

  it('an incident declared in Slack is updated from Teams: one core, one database', async () => {
    await start();
    const slackIncident = await declare(h, 'sev2 Search is slow', { command: '/incident', channel: 'C0GENERAL' });
    await send({ text: `incident update INC-${slackIncident.id} identified "index rebuild stuck"`, from: USERS.lea });
    await h.drain();
    const stored = h.firelane.store.incidents.get(slackIncident.id)!;
    expect(stored.status).toBe('identified');
    // The update reached the Slack war room; the Teams user got the answer in Teams.
    expect(h.slack.messagesIn(stored.roomId!).map((m) => JSON.stringify(m.blocks ?? m.text)).join('\n')).toContain('index rebuild stuck');
    expect(texts(personalMessages()).join('\n')).toMatch(new RegExp(`INC-${slackIncident.id}`));
  });

  it('reminders reach the Teams war room proactively', async () => {
    const clock = createManualClock(Date.parse('2026-11-21T10:00:00Z'));
    await start({ clock });
    await send({ text: 'incident sev1 Payments down' });
    await h.drain();
    const room = h.firelane.store.incidents.get(1)!.roomId!;
    const before = connector.messagesIn(room).length;
    clock.advance(16 * 60_000);
    tickReminders({ store: h.firelane.store, config: h.firelane.config.file, clock });
    await h.drain();
    const after = connector.messagesIn(room).slice(before);
    expect(texts(after).join('\n')).toMatch(/status update/i);
  });

  it('a Bot Connector failure is counted in firelane_upstream_errors_total and the war room is opened on the retry', async () => {
    await start();
    // A 403 (botbuilder retries 5xx and 429 itself; a refusal reaches the job, which retries it later).
    connector.failNext({ method: 'POST', path: '/v3/conversations', status: 403 });
    await send({ text: 'incident sev2 Search is slow' });
    // The job's retry comes after a short back-off.
    await vi.waitFor(
      async () => {
        await h.drain();
        expect(h.firelane.store.incidents.get(1)!.roomId).toBeTruthy();
      },
      { timeout: 5000, interval: 50 },
    );
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/^firelane_upstream_errors_total\{service="teams",status="403"\} 1$/m);
  });

  it('chatter that is no command gets the usage; nothing is recorded', async () => {
    await start();
    await send({ text: 'thanks everyone' });
    expect(texts(connector.messagesIn(GENERAL)).join('\n')).toMatch(/Mention me with a command: \/incident, \/deploy, \/rollback, \/hotfix/);
    expect(h.firelane.store.incidents.listOpen(5)).toEqual([]);
  });
});

describe('Teams (app id set: every token verified)', () => {
  it('accepts a signed activity and refuses one without a token or with a forged one; replies carry the outbound token', async () => {
    await start({ appId: 'app-123' });
    expect((await send({ text: 'incident list', token: null })).status).toBe(401);
    const forged = auth!.signActivityToken({ appId: 'someone-else', serviceUrl: connector.url });
    expect((await send({ text: 'incident list', token: forged })).status).toBe(401);
    expect(personalMessages()).toHaveLength(0);
    expect((await send({ text: 'incident list' })).status).toBe(200);
    // `incident list` answers privately: in the user's personal chat with the bot.
    expect(texts(personalMessages()).join('\n')).toMatch(/No open incidents|open incident/i);
    expect(connector.requests.filter((r) => r.method === 'POST').every((r) => r.headers.authorization === 'Bearer test-outbound-token')).toBe(true);
  });
});

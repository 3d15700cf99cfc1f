/**
 * Contract tests for the Slack fake: everything is driven through the real WebClient from @slack/web-api (plus plain
 * fetch for response URLs), so the fake is held to the wire protocol the production code will see.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, LogLevel, WebClient, WebClientEvent, type WebClientOptions } from '@slack/web-api';
import { SEED_CREATOR, startFakeSlack, type FakeSlack, type FakeSlackOptions } from './fake-slack.js';

const TOKEN = 'xoxb-test-token';
const SEEDED = [
  { id: 'CGENERAL01', name: 'general' },
  { id: 'COUTSIDE01', name: 'outside', isMember: false },
  { id: 'GSECRET001', name: 'secret', isMember: false, isPrivate: true },
];

let fake: FakeSlack;
let client: WebClient;
const extra: FakeSlack[] = [];

function clientFor(f: FakeSlack, token = TOKEN, opts: WebClientOptions = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: f.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...opts,
  });
}
async function otherFake(options: FakeSlackOptions): Promise<FakeSlack> {
  const f = await startFakeSlack(options);
  extra.push(f);
  return f;
}
/** Shape of WebClient's rejection for an HTTP 200 `{ok:false,error}` answer. */
const platformError = (error: string) => ({
  code: ErrorCode.PlatformError,
  data: expect.objectContaining({ ok: false, error }),
});

beforeEach(async () => {
  fake = await startFakeSlack({ channels: SEEDED });
  client = clientFor(fake);
});
afterEach(async () => {
  await fake.close();
  await Promise.all(extra.splice(0).map((f) => f.close()));
});

describe('auth', () => {
  it('auth.test identifies the bot', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({
      ok: true,
      team: 'Firelane Test',
      team_id: 'T0001',
      user: 'firelane',
      user_id: 'UBOT',
      bot_id: 'BBOT',
    });
    expect(fake.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    expect(fake.callsTo('auth.test')).toEqual([
      expect.objectContaining({ method: 'auth.test', ok: true, status: 200 }),
    ]);
  });

  it('honours custom identity options', async () => {
    const f = await otherFake({ token: 'xoxb-other', botUserId: 'U0BOT', botId: 'B0BOT', teamId: 'T9' });
    await expect(clientFor(f, 'xoxb-other').auth.test()).resolves.toMatchObject({
      user_id: 'U0BOT',
      bot_id: 'B0BOT',
      team_id: 'T9',
    });
  });

  it('rejects a wrong token with invalid_auth and a missing one with not_authed', async () => {
    await expect(clientFor(fake, 'xoxb-wrong').auth.test()).rejects.toMatchObject(platformError('invalid_auth'));
    const anonymous = new WebClient(undefined, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logLevel: LogLevel.ERROR,
    });
    await expect(anonymous.auth.test()).rejects.toMatchObject(platformError('not_authed'));
    expect(fake.calls.map((c) => [c.ok, c.error, c.status])).toEqual([
      [false, 'invalid_auth', 200],
      [false, 'not_authed', 200],
    ]);
  });

  it('answers unknown methods with unknown_method', async () => {
    await expect(client.apiCall('nope.nothing')).rejects.toMatchObject(platformError('unknown_method'));
  });
});

describe('conversations', () => {
  it('creates channels with Slack-style increasing ids, bot as member', async () => {
    const a = await client.conversations.create({ name: 'inc-42-db-down' });
    const b = await client.conversations.create({ name: 'inc_43', is_private: true });
    expect(a.channel).toMatchObject({
      name: 'inc-42-db-down',
      is_channel: true,
      is_private: false,
      is_member: true,
      creator: 'UBOT',
    });
    expect(a.channel?.id).toMatch(/^C[A-Z0-9]{10}$/);
    expect(b.channel?.id! > a.channel?.id!).toBe(true);
    expect(b.channel?.is_private).toBe(true);
    expect(fake.channelByName('inc_43')?.isPrivate).toBe(true);
    expect([...fake.channelByName('inc-42-db-down')!.members]).toEqual(['UBOT']);
  });

  it('enforces Slack channel name rules', async () => {
    await client.conversations.create({ name: 'taken' });
    await client.conversations.create({ name: 'old' });
    await client.conversations.archive({ channel: fake.channelByName('old')!.id });
    const cases: Array<[string, string]> = [
      ['', 'invalid_name_required'],
      ['a'.repeat(81), 'invalid_name_maxlength'],
      ['Inc-42', 'invalid_name_specials'],
      ['inc 42!', 'invalid_name_specials'],
      ['inc.42', 'invalid_name_specials'],
      ['taken', 'name_taken'],
      ['general', 'name_taken'],
      ['old', 'name_taken'],
    ];
    for (const [name, error] of cases) {
      await expect(client.conversations.create({ name }), name).rejects.toMatchObject(platformError(error));
    }
    await expect(client.conversations.create({ name: 'a'.repeat(80) })).resolves.toMatchObject({ ok: true });
  });

  it('invites users with Slack semantics', async () => {
    const { channel } = await client.conversations.create({ name: 'inc-1' });
    const id = channel!.id!;
    await expect(client.conversations.invite({ channel: id, users: 'U111,W222' })).resolves.toMatchObject({
      ok: true,
      channel: { id },
    });
    await expect(client.conversations.invite({ channel: id, users: 'U111' })).rejects.toMatchObject(
      platformError('already_in_channel'),
    );
    await client.conversations.invite({ channel: id, users: 'U111,U333' }); // partially new: succeeds
    await expect(client.conversations.invite({ channel: id, users: 'U444,bogus' })).rejects.toMatchObject(
      platformError('user_not_found'),
    );
    await expect(client.conversations.invite({ channel: id, users: 'U555,UBOT' })).rejects.toMatchObject(
      platformError('cant_invite_self'),
    );
    await expect(client.conversations.invite({ channel: 'COUTSIDE01', users: 'U111' })).rejects.toMatchObject(
      platformError('not_in_channel'),
    );
    await expect(client.conversations.invite({ channel: 'CNOPE00000', users: 'U111' })).rejects.toMatchObject(
      platformError('channel_not_found'),
    );
    const { members } = await client.conversations.members({ channel: id });
    expect(members).toEqual(['UBOT', 'U111', 'W222', 'U333']);
  });

  it('knownUsers restricts which users exist', async () => {
    const f = await otherFake({ knownUsers: ['UALICE'], channels: [{ id: 'C1', name: 'one' }] });
    const c = clientFor(f);
    await expect(c.users.info({ user: 'UALICE' })).resolves.toMatchObject({
      user: { id: 'UALICE', tz: 'Europe/Berlin' },
    });
    await expect(c.users.info({ user: 'UBOB' })).rejects.toMatchObject(platformError('user_not_found'));
    await expect(c.conversations.invite({ channel: 'C1', users: 'UALICE,UBOB' })).rejects.toMatchObject(
      platformError('user_not_found'),
    );
  });

  it('join, info, setTopic and setPurpose', async () => {
    await expect(client.conversations.setTopic({ channel: 'COUTSIDE01', topic: 'x' })).rejects.toMatchObject(
      platformError('not_in_channel'),
    );
    await expect(client.conversations.join({ channel: 'GSECRET001' })).rejects.toMatchObject(
      platformError('channel_not_found'),
    );
    await client.conversations.join({ channel: 'COUTSIDE01' });
    await client.conversations.setTopic({ channel: 'COUTSIDE01', topic: 'SEV1: checkout down' });
    await client.conversations.setPurpose({ channel: 'COUTSIDE01', purpose: 'Incident room' });
    await expect(
      client.conversations.setTopic({ channel: 'COUTSIDE01', topic: 't'.repeat(251) }),
    ).rejects.toMatchObject(platformError('too_long'));
    const info = await client.conversations.info({ channel: 'COUTSIDE01' });
    expect(info.channel).toMatchObject({
      is_member: true,
      topic: { value: 'SEV1: checkout down' },
      purpose: { value: 'Incident room' },
    });
    expect(fake.channels.get('COUTSIDE01')?.topic).toBe('SEV1: checkout down');
  });
});

describe('conversations.list and users.conversations', () => {
  it('lists public channels by default, with creator, purpose and topic; archived ones unless exclude_archived', async () => {
    const f = await otherFake({
      channels: [
        { id: 'C0HUMAN001', name: 'general', purpose: 'Everything', created: 1_700_000_000 },
        { id: 'C0OLD00001', name: 'old', archived: true, creator: 'UBOT' },
        { id: 'G0PRIVATE1', name: 'ops-private', isPrivate: true },
        { id: 'G0HIDDEN01', name: 'hidden', isPrivate: true, isMember: false },
      ],
    });
    const c = clientFor(f);
    const { channel } = await c.conversations.create({ name: 'inc-7-db-down' });
    await c.conversations.setPurpose({ channel: channel!.id!, purpose: 'War room of INC-7' });
    await c.chat.postMessage({ channel: 'U0ALICE', text: 'a DM' }); // opens the app's DM with U0ALICE

    const all = await c.conversations.list();
    expect(all.channels!.map((ch) => ch.name)).toEqual(['general', 'old', 'inc-7-db-down']);
    expect(all.response_metadata?.next_cursor).toBe('');
    expect(all.channels![0]).toMatchObject({
      id: 'C0HUMAN001',
      creator: SEED_CREATOR,
      created: 1_700_000_000,
      is_archived: false,
      purpose: { value: 'Everything', creator: SEED_CREATOR },
      topic: { value: '', creator: '' },
    });
    expect(all.channels![2]).toMatchObject({
      id: channel!.id,
      creator: 'UBOT',
      is_member: true,
      purpose: { value: 'War room of INC-7', creator: 'UBOT' },
    });
    expect(all.channels![1]).toMatchObject({ is_archived: true, creator: 'UBOT' });

    const live = await c.conversations.list({ exclude_archived: true });
    expect(live.channels!.map((ch) => ch.name)).toEqual(['general', 'inc-7-db-down']);
    // Private channels only where the bot is a member; DMs as ims.
    const privateOnes = await c.conversations.list({ types: 'private_channel' });
    expect(privateOnes.channels!.map((ch) => ch.id)).toEqual(['G0PRIVATE1']);
    const ims = await c.conversations.list({ types: 'im' });
    expect(ims.channels).toEqual([expect.objectContaining({ is_im: true, user: 'U0ALICE' })]);
    await expect(c.conversations.list({ types: 'public_channel,nonsense' })).rejects.toMatchObject(
      platformError('invalid_types'),
    );
  });

  it('pages with limit and cursor, as WebClient.paginate follows them', async () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ id: `C0PAGE000${i}`, name: `page-${i}` }));
    const f = await otherFake({ channels: many });
    const c = clientFor(f);
    const first = await c.conversations.list({ limit: 3 });
    expect(first.channels!.map((ch) => ch.name)).toEqual(['page-0', 'page-1', 'page-2']);
    expect(first.response_metadata?.next_cursor).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const second = await c.conversations.list({ limit: 3, cursor: first.response_metadata!.next_cursor! });
    expect(second.channels!.map((ch) => ch.name)).toEqual(['page-3', 'page-4', 'page-5']);
    const last = await c.conversations.list({ limit: 3, cursor: second.response_metadata!.next_cursor! });
    expect(last.channels!.map((ch) => ch.name)).toEqual(['page-6']);
    expect(last.response_metadata?.next_cursor).toBe('');
    await expect(c.conversations.list({ cursor: 'bm9wZQ==' })).rejects.toMatchObject(platformError('invalid_cursor'));

    const names: string[] = [];
    for await (const page of c.paginate('conversations.list', { limit: 2 }))
      names.push(...(page as unknown as { channels: Array<{ name: string }> }).channels.map((ch) => ch.name));
    expect(names).toEqual(many.map((ch) => ch.name));
    expect(
      f
        .callsTo('conversations.list')
        .slice(-4)
        .map((call) => call.params.limit),
    ).toEqual(['2', '2', '2', '2']);
  });

  it('users.conversations lists the conversations a user (default: the bot) is in, with the same pages', async () => {
    const f = await otherFake({
      channels: [
        { id: 'C0IN000001', name: 'in-1' },
        { id: 'C0OUT00001', name: 'out', isMember: false },
        { id: 'C0IN000002', name: 'in-2', archived: true },
        { id: 'C0IN000003', name: 'in-3' },
        { id: 'G0SECRET01', name: 'secret', isPrivate: true },
      ],
    });
    const c = clientFor(f);
    await c.conversations.invite({ channel: 'C0IN000003', users: 'U0ALICE' });
    const mine = await c.users.conversations({ exclude_archived: true, limit: 1 });
    expect(mine.channels!.map((ch) => ch.name)).toEqual(['in-1']);
    const rest = await c.users.conversations({
      exclude_archived: true,
      limit: 5,
      cursor: mine.response_metadata!.next_cursor!,
    });
    expect(rest.channels!.map((ch) => ch.name)).toEqual(['in-3']);
    expect(rest.channels![0]).toMatchObject({ creator: SEED_CREATOR, is_member: true, purpose: { value: '' } });
    expect((await c.users.conversations({})).channels!.map((ch) => ch.name)).toEqual(['in-1', 'in-2', 'in-3']);
    expect(
      (await c.users.conversations({ types: 'public_channel,private_channel' })).channels!.map((ch) => ch.name),
    ).toEqual(['in-1', 'in-2', 'in-3', 'secret']);
    expect((await c.users.conversations({ user: 'U0ALICE' })).channels!.map((ch) => ch.name)).toEqual(['in-3']);
    await expect(c.users.conversations({ user: 'nobody' })).rejects.toMatchObject(platformError('user_not_found'));
  });

  it('listPageMax returns fewer than asked before the end, like Slack may', async () => {
    const f = await otherFake({
      channels: Array.from({ length: 5 }, (_, i) => ({ id: `C0SHORT00${i}`, name: `short-${i}` })),
      listPageMax: 2,
    });
    const page = await clientFor(f).conversations.list({ limit: 200 });
    expect(page.channels).toHaveLength(2);
    expect(page.response_metadata?.next_cursor).not.toBe('');
  });
});

describe('chat', () => {
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: 'SEV1' } },
    { type: 'section', text: { type: 'mrkdwn', text: '*Checkout* is down' } },
  ];

  it('postMessage stores parsed blocks and answers like Slack', async () => {
    const res = await client.chat.postMessage({ channel: 'CGENERAL01', text: 'SEV1 declared', blocks });
    expect(res).toMatchObject({
      ok: true,
      channel: 'CGENERAL01',
      message: { text: 'SEV1 declared', user: 'UBOT', ts: res.ts, blocks },
    });
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.callsTo('chat.postMessage')[0]?.params.blocks).toEqual(blocks);
    expect(fake.messagesIn('CGENERAL01')).toEqual([
      { channel: 'CGENERAL01', ts: res.ts, text: 'SEV1 declared', blocks, user: 'UBOT' },
    ]);

    const reply = await client.chat.postMessage({ channel: 'CGENERAL01', text: 'update', thread_ts: res.ts! });
    expect(fake.messages.find((m) => m.ts === reply.ts)?.threadTs).toBe(res.ts);
  });

  it('postMessage errors: not_in_channel, channel_not_found, no_text, invalid_blocks', async () => {
    await expect(client.chat.postMessage({ channel: 'COUTSIDE01', text: 'hi' })).rejects.toMatchObject(
      platformError('not_in_channel'),
    );
    await expect(client.chat.postMessage({ channel: 'CNOPE00000', text: 'hi' })).rejects.toMatchObject(
      platformError('channel_not_found'),
    );
    await expect(client.chat.postMessage({ channel: 'GSECRET001', text: 'hi' })).rejects.toMatchObject(
      platformError('channel_not_found'),
    );
    await expect(client.apiCall('chat.postMessage', { channel: 'CGENERAL01' })).rejects.toMatchObject(
      platformError('no_text'),
    );
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client.chat.postMessage({ channel: 'CGENERAL01', text: 'x', blocks: tooMany })).rejects.toMatchObject(
      platformError('invalid_blocks'),
    );
    await expect(
      client.apiCall('chat.postMessage', { channel: 'CGENERAL01', text: 'x', blocks: { type: 'divider' } }),
    ).rejects.toMatchObject(platformError('invalid_blocks'));
    expect(fake.messages).toEqual([]);
    expect(fake.calls).toHaveLength(6);
    expect(fake.calls.every((c) => !c.ok && c.status === 200)).toBe(true);
  });

  it('ts values are unique and strictly increasing over 50 posts', async () => {
    const tss: string[] = [];
    for (let i = 0; i < 50; i++)
      tss.push((await client.chat.postMessage({ channel: 'CGENERAL01', text: `m${i}` })).ts!);
    for (let i = 1; i < tss.length; i++) {
      expect(tss[i]!.localeCompare(tss[i - 1]!), `${tss[i - 1]} < ${tss[i]}`).toBe(1);
      expect(Number(tss[i])).toBeGreaterThan(Number(tss[i - 1]));
    }
    expect(new Set(tss).size).toBe(50);
  });

  it('chat.update edits in place; message_not_found and cant_update_message', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'CGENERAL01', text: 'investigating' });
    const res = await client.chat.update({ channel: 'CGENERAL01', ts: ts!, text: 'resolved', blocks });
    expect(res).toMatchObject({ ok: true, channel: 'CGENERAL01', ts, text: 'resolved' });
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]).toMatchObject({ ts, text: 'resolved', blocks, user: 'UBOT', updated: expect.any(Number) });

    await expect(
      client.chat.update({ channel: 'CGENERAL01', ts: '1234567890.000001', text: 'x' }),
    ).rejects.toMatchObject(platformError('message_not_found'));
    fake.messages.push({ channel: 'CGENERAL01', ts: '1000000000.000001', text: 'human', user: 'UHUMAN' });
    await expect(
      client.chat.update({ channel: 'CGENERAL01', ts: '1000000000.000001', text: 'x' }),
    ).rejects.toMatchObject(platformError('cant_update_message'));
  });

  it('postMessage keeps metadata; conversations.history returns it only with include_all_metadata', async () => {
    const metadata = { event_type: 'firelane_post', event_payload: { key: 'remind:1:1700000000000/post' } };
    const res = await client.chat.postMessage({ channel: 'CGENERAL01', text: 'with metadata', metadata });
    expect(res.warning).toBeUndefined();
    expect(fake.messages[0]).toMatchObject({ ts: res.ts, metadata });
    fake.postAsUser('CGENERAL01', 'U0ALICE', 'typed by a person');

    const plain = await client.conversations.history({ channel: 'CGENERAL01' });
    expect(plain.messages!.map((m) => [m.text, m.metadata])).toEqual([
      ['typed by a person', undefined],
      ['with metadata', undefined],
    ]);
    const all = await client.conversations.history({ channel: 'CGENERAL01', include_all_metadata: true });
    expect(all.messages!.map((m) => [m.text, m.user, m.metadata])).toEqual([
      ['typed by a person', 'U0ALICE', undefined],
      ['with metadata', 'UBOT', metadata],
    ]);
    expect(all.messages![1]).toMatchObject({ bot_id: 'BBOT', ts: res.ts });

    // An event_type with punctuation is ignored with a warning; metadata that is not an object is refused.
    const odd = await client.chat.postMessage({
      channel: 'CGENERAL01',
      text: 'odd type',
      metadata: { event_type: 'firelane.post', event_payload: { key: 'k' } },
    });
    expect(odd.warning).toBe('invalid_metadata_schema');
    expect(fake.messages.find((m) => m.ts === odd.ts)?.metadata).toBeUndefined();
    await expect(
      client.apiCall('chat.postMessage', { channel: 'CGENERAL01', text: 'x', metadata: '{not json' }),
    ).rejects.toMatchObject(platformError('invalid_metadata_format'));
    await expect(
      client.apiCall('chat.postMessage', { channel: 'CGENERAL01', text: 'x', metadata: { event_type: 'a' } }),
    ).rejects.toMatchObject(platformError('invalid_metadata_format'));
  });

  it('conversations.history pages newest first with limit and cursor, within oldest/latest', async () => {
    const tss: string[] = [];
    for (let i = 0; i < 7; i++) tss.push((await client.chat.postMessage({ channel: 'CGENERAL01', text: `m${i}` })).ts!);
    const first = await client.conversations.history({ channel: 'CGENERAL01', limit: 3 });
    expect(first.messages!.map((m) => m.text)).toEqual(['m6', 'm5', 'm4']);
    expect(first.has_more).toBe(true);
    expect(first.response_metadata?.next_cursor).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const second = await client.conversations.history({
      channel: 'CGENERAL01',
      limit: 3,
      cursor: first.response_metadata!.next_cursor!,
    });
    expect(second.messages!.map((m) => m.text)).toEqual(['m3', 'm2', 'm1']);
    const last = await client.conversations.history({
      channel: 'CGENERAL01',
      limit: 3,
      cursor: second.response_metadata!.next_cursor!,
    });
    expect(last.messages!.map((m) => m.text)).toEqual(['m0']);
    expect(last).toMatchObject({ has_more: false, response_metadata: { next_cursor: '' } });
    await expect(client.conversations.history({ channel: 'CGENERAL01', cursor: 'bm9wZQ==' })).rejects.toMatchObject(
      platformError('invalid_cursor'),
    );

    // oldest (exclusive) bounds the pages too, as WebClient.paginate follows them.
    const texts: string[] = [];
    for await (const page of client.paginate('conversations.history', {
      channel: 'CGENERAL01',
      oldest: tss[2]!,
      limit: 2,
    }))
      texts.push(...(page as unknown as { messages: Array<{ text: string }> }).messages.map((m) => m.text));
    expect(texts).toEqual(['m6', 'm5', 'm4', 'm3']);
    await expect(client.conversations.history({ channel: 'COUTSIDE01' })).rejects.toMatchObject(
      platformError('not_in_channel'),
    );
  });

  it('postEphemeral records and requires the user in the channel', async () => {
    await client.conversations.invite({ channel: 'CGENERAL01', users: 'U111' });
    const res = await client.chat.postEphemeral({ channel: 'CGENERAL01', user: 'U111', text: 'only you' });
    expect(res.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemerals).toEqual([{ channel: 'CGENERAL01', user: 'U111', text: 'only you', blocks: undefined }]);
    await expect(client.chat.postEphemeral({ channel: 'CGENERAL01', user: 'U999', text: 'x' })).rejects.toMatchObject(
      platformError('user_not_in_channel'),
    );
  });
});

describe('pins and views', () => {
  it('pins.add, already_pinned, message_not_found, pins.list', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'CGENERAL01', text: 'summary' });
    await expect(client.pins.add({ channel: 'CGENERAL01', timestamp: ts! })).resolves.toMatchObject({ ok: true });
    await expect(client.pins.add({ channel: 'CGENERAL01', timestamp: ts! })).rejects.toMatchObject(
      platformError('already_pinned'),
    );
    await expect(client.pins.add({ channel: 'CGENERAL01', timestamp: '1.000000' })).rejects.toMatchObject(
      platformError('message_not_found'),
    );
    await expect(client.pins.add({ channel: 'COUTSIDE01', timestamp: ts! })).rejects.toMatchObject(
      platformError('not_in_channel'),
    );
    expect(fake.pins).toEqual([{ channel: 'CGENERAL01', ts }]);
    const list = await client.pins.list({ channel: 'CGENERAL01' });
    expect(list.items).toEqual([
      expect.objectContaining({ type: 'message', message: expect.objectContaining({ ts, text: 'summary' }) }),
    ]);
  });

  it('views.open accepts modals only', async () => {
    const view = {
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text: 'Declare incident' },
      blocks: [],
    };
    const res = await client.views.open({ trigger_id: '123.456.abc', view });
    expect(res.view).toMatchObject({ id: expect.stringMatching(/^V[A-Z0-9]+$/), type: 'modal', title: view.title });
    expect(fake.views).toEqual([{ triggerId: '123.456.abc', view }]);
    await expect(
      client.apiCall('views.open', { trigger_id: '1', view: { type: 'home', blocks: [] } }),
    ).rejects.toMatchObject(platformError('invalid_arguments'));
  });
});

describe('files.uploadV2', () => {
  it('runs the getUploadURLExternal -> upload -> completeUploadExternal flow end to end', async () => {
    const res = await client.files.uploadV2({
      channel_id: 'CGENERAL01',
      content: '# Timeline\n10:00 paged',
      filename: 'timeline.md',
      title: 'Timeline',
      initial_comment: 'Postmortem draft',
    });
    const fileId = fake.files[0]?.id;
    expect(fileId).toMatch(/^F[A-Z0-9]{10}$/);
    expect(fake.files).toEqual([
      {
        id: fileId,
        title: 'Timeline',
        filename: 'timeline.md',
        content: '# Timeline\n10:00 paged',
        channels: ['CGENERAL01'],
      },
    ]);
    expect(res).toMatchObject({ ok: true, files: [{ ok: true, files: [{ id: fileId, title: 'Timeline' }] }] });
    expect(fake.messagesIn('CGENERAL01')).toEqual([
      expect.objectContaining({
        text: 'Postmortem draft',
        user: 'UBOT',
        files: [{ id: fileId, name: 'timeline.md', title: 'Timeline' }],
      }),
    ]);
    expect(fake.calls.map((c) => c.method)).toEqual(['files.getUploadURLExternal', 'files.completeUploadExternal']);
    expect(fake.calls[0]?.params).toMatchObject({
      filename: 'timeline.md',
      length: String(Buffer.byteLength('# Timeline\n10:00 paged')),
    });
  });

  it('fails with not_in_channel when sharing to a channel the bot is not in', async () => {
    await expect(
      client.files.uploadV2({ channel_id: 'COUTSIDE01', content: 'x', filename: 'x.txt' }),
    ).rejects.toMatchObject(platformError('not_in_channel'));
    expect(fake.files).toEqual([]);
  });
});

describe('response urls', () => {
  it('records JSON POSTed to a response URL', async () => {
    const url = fake.responseUrl('abc123');
    expect(url).toBe(`${fake.baseUrl}/response/abc123`);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'ack', response_type: 'ephemeral' }),
    });
    expect([res.status, await res.text()]).toEqual([200, 'ok']);
    expect(fake.responses).toEqual([{ path: '/response/abc123', body: { text: 'ack', response_type: 'ephemeral' } }]);
    expect(fake.responseUrl()).not.toBe(fake.responseUrl());
  });
});

describe('failure injection and latency', () => {
  it('429 with rejectRateLimitedCalls surfaces a WebAPIRateLimitedError carrying Retry-After', async () => {
    fake.failNext('auth.test', { status: 429, retryAfter: 7 });
    const c = clientFor(fake, TOKEN, { rejectRateLimitedCalls: true });
    await expect(c.auth.test()).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(fake.calls[0]).toMatchObject({ method: 'auth.test', ok: false, error: 'ratelimited', status: 429 });
    await expect(c.auth.test()).resolves.toMatchObject({ ok: true }); // consumed
  });

  it('429 with retries 0 (default rejectRateLimitedCalls=false) waits Retry-After, then throws a request error', async () => {
    fake.failNext('auth.test', { status: 429, retryAfter: 1 });
    const rateLimited: number[] = [];
    client.on(WebClientEvent.RATE_LIMITED, (sec: number) => rateLimited.push(sec));
    const started = Date.now();
    await expect(client.auth.test()).rejects.toMatchObject({
      code: ErrorCode.RequestError,
      original: expect.objectContaining({ message: expect.stringContaining('A rate limit was exceeded') }),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(rateLimited).toEqual([1]);
  });

  it('429 is retried after Retry-After when retries are enabled', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const c = clientFor(fake, TOKEN, { retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 2000 } });
    const started = Date.now();
    const res = await c.chat.postMessage({ channel: 'CGENERAL01', text: 'eventually' });
    expect(res.ok).toBe(true);
    const calls = fake.callsTo('chat.postMessage');
    expect(calls.map((x) => x.status)).toEqual([429, 200]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(990);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(fake.messages).toHaveLength(1); // the rate-limited attempt had no effect
  });

  it('injected 500 surfaces as an HTTP error', async () => {
    fake.failNext('conversations.create', { status: 500 });
    await expect(client.conversations.create({ name: 'inc-500' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    expect(fake.calls[0]).toMatchObject({ ok: false, status: 500 });
    expect(fake.channelByName('inc-500')).toBeUndefined();
  });

  it('injected {error} answers HTTP 200 ok:false and is consumed per call', async () => {
    fake.failNext('auth.test', { error: 'fatal_error' }, 2);
    await expect(client.auth.test()).rejects.toMatchObject(platformError('fatal_error'));
    await expect(client.auth.test()).rejects.toMatchObject(platformError('fatal_error'));
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    expect(fake.calls.map((c) => c.error ?? 'ok')).toEqual(['fatal_error', 'fatal_error', 'ok']);
  });

  it('afterEffect: the call takes effect and its answer is lost (500, a reset connection, or never)', async () => {
    fake.failNext('conversations.create', { afterEffect: 500 });
    await expect(client.conversations.create({ name: 'inc-lost-500' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    expect(fake.channelByName('inc-lost-500')).toMatchObject({ creator: 'UBOT' });

    fake.failNext('conversations.create', { afterEffect: 'reset' });
    await expect(client.conversations.create({ name: 'inc-lost-reset' })).rejects.toMatchObject({
      code: ErrorCode.RequestError,
    });
    expect(fake.channelByName('inc-lost-reset')).toBeDefined();
    // Asked again, the name is taken: by the channel the lost answer was about.
    await expect(client.conversations.create({ name: 'inc-lost-reset' })).rejects.toMatchObject(
      platformError('name_taken'),
    );

    fake.failNext('conversations.create', { afterEffect: 'never' });
    const c = clientFor(fake, TOKEN, { timeout: 300 });
    await expect(c.conversations.create({ name: 'inc-lost-never' })).rejects.toBeDefined();
    expect(fake.channelByName('inc-lost-never')).toBeDefined();

    expect(fake.callsTo('conversations.create').map((call) => [call.ok, call.status, call.lostAnswer])).toEqual([
      [true, 500, 500],
      [true, 0, 'reset'],
      [false, 200, undefined],
      [true, 0, 'never'],
    ]);
    // A call that fails anyway is answered as usual, and leaves the failure for the next that takes effect.
    fake.failNext('conversations.create', { afterEffect: 'reset' });
    await expect(client.conversations.create({ name: 'inc-lost-500' })).rejects.toMatchObject(
      platformError('name_taken'),
    );
    await expect(client.conversations.create({ name: 'inc-after' })).rejects.toMatchObject({
      code: ErrorCode.RequestError,
    });
    expect(fake.channelByName('inc-after')).toBeDefined();
    await expect(client.conversations.create({ name: 'inc-after-2' })).resolves.toMatchObject({ ok: true });
  });

  it('when: only calls whose params match fail; the others pass the failure by', async () => {
    fake.failNext('chat.postMessage', { afterEffect: 'reset', when: (p) => String(p.text).startsWith('⏰') });
    await expect(client.chat.postMessage({ channel: 'CGENERAL01', text: 'card' })).resolves.toMatchObject({ ok: true });
    await expect(client.chat.postMessage({ channel: 'CGENERAL01', text: '⏰ reminder' })).rejects.toMatchObject({
      code: ErrorCode.RequestError,
    });
    await expect(client.chat.postMessage({ channel: 'CGENERAL01', text: '⏰ next' })).resolves.toMatchObject({
      ok: true,
    });
    expect(fake.callsTo('chat.postMessage').map((c) => [c.params.text, c.lostAnswer ?? 'answered'])).toEqual([
      ['card', 'answered'],
      ['⏰ reminder', 'reset'],
      ['⏰ next', 'answered'],
    ]);
    expect(fake.messages.map((m) => m.text)).toEqual(['card', '⏰ reminder', '⏰ next']);
  });

  it('latencyMs delays every Web API call', async () => {
    const f = await otherFake({ latencyMs: 150 });
    const c = clientFor(f);
    const started = performance.now();
    await c.auth.test();
    await c.auth.test();
    // 1ms tolerance: Node timers may fire marginally before the nominal delay as measured by another clock
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 150 - 1);
  });
});

describe('reset', () => {
  it('clears recorded state but keeps seeded channels', async () => {
    await client.conversations.create({ name: 'inc-reset' });
    await client.conversations.join({ channel: 'COUTSIDE01' });
    await client.chat.postMessage({ channel: 'CGENERAL01', text: 'x' });
    fake.failNext('auth.test', { error: 'fatal_error' });
    fake.reset();
    expect(fake.calls).toEqual([]);
    expect(fake.messages).toEqual([]);
    expect(fake.channelByName('inc-reset')).toBeUndefined();
    expect([...fake.channels.keys()]).toEqual(['CGENERAL01', 'COUTSIDE01', 'GSECRET001']);
    expect(fake.channels.get('COUTSIDE01')?.members.has('UBOT')).toBe(false);
    await expect(client.auth.test()).resolves.toMatchObject({ ok: true });
    await expect(client.conversations.create({ name: 'inc-reset' })).resolves.toMatchObject({ ok: true });
  });
});

/**
 * Stateful loopback fake of the Slack Web API.
 *
 * Speaks the same wire protocol as slack.com/api (form-urlencoded or JSON POSTs, Bearer auth, HTTP 200 with
 * `{ok:false,error}` for API errors, 429 + Retry-After for rate limits) so the real `WebClient` from
 * `@slack/web-api` can be pointed at it with `slackApiUrl: fake.apiUrl`. It also serves the external upload URLs of
 * the files.uploadV2 flow and interaction response URLs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSlackOptions {
  /** Expected bot token, default 'xoxb-test-token'; other Bearer tokens get {ok:false,error:'invalid_auth'}. */
  token?: string;
  /** Delay added to every Web API call (default 0). */
  latencyMs?: number;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  /** If given, only these user ids exist; default: any id matching /^[UW][A-Z0-9]{2,}$/ exists. */
  knownUsers?: string[];
  /**
   * Pre-existing channels (isMember default true). Like channels people made in Slack, they were created by
   * `creator` (default `U0CREATOR`, a person: not the bot) at `created` (unix seconds, default when the fake
   * starts), and carry the `purpose` and `topic` given (set by their creator).
   */
  channels?: Array<{
    id: string;
    name: string;
    isMember?: boolean;
    isPrivate?: boolean;
    archived?: boolean;
    creator?: string;
    created?: number;
    purpose?: string;
    topic?: string;
  }>;
  /**
   * At most this many conversations on a page of conversations.list, whatever `limit` asks (Slack: "fewer than the
   * requested number of items may be returned, even if the end of the list hasn't been reached"). Default: `limit`.
   */
  listPageMax?: number;
}
/**
 * `at`: when the request arrived (Date.now()); `answeredAt`: when its response was sent, after latencyMs (absent until
 * then, and for good when the answer was lost). `ok`: the call succeeded (took effect); `lostAnswer`: how its answer was
 * lost (failNext with afterEffect; `status` is then 500 or 0).
 */
export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  answeredAt?: number;
  ok: boolean;
  error?: string;
  status: number;
  lostAnswer?: 'reset' | 'never' | 500;
}
/** Message metadata as chat.postMessage takes it (`metadata`), and conversations.history returns it when asked. */
export interface FakeMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}
export interface FakeMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  user: string;
  threadTs?: string;
  updated?: number;
  files?: unknown[];
  metadata?: FakeMetadata;
}
export interface FakeChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  members: Set<string>;
  topic: string;
  purpose: string;
  /** Who set the topic and the purpose ('' while empty). */
  topicBy: string;
  purposeBy: string;
  /** Unix seconds, like Slack's `created`. */
  created: number;
  /** The user who created it (the bot for conversations.create). */
  creator: string;
  archived: boolean;
}
/**
 * `afterEffect`: the call takes effect as it would (the channel is created), and then its answer is lost: `reset`
 * closes the connection without one, `never` leaves the request unanswered (the caller waits, e.g. until it is
 * killed), `500` answers HTTP 500 as a gateway in front of a backend that did the work. It waits for a call that takes
 * effect: one that fails anyway (e.g. name_taken) is answered as usual and leaves it for the next.
 */
export type FakeFailure = (
  { status: 429; retryAfter: number } | { status: 500 } | { error: string } | { afterEffect: 'reset' | 'never' | 500 }
) & {
  /** Only calls whose (decoded) params this accepts fail, e.g. the one post of a reminder; others pass it by. */
  when?: (params: Record<string, unknown>) => boolean;
};
export interface FakeSlack {
  apiUrl: string;
  baseUrl: string;
  calls: RecordedCall[];
  callsTo(method: string): RecordedCall[];
  channels: Map<string, FakeChannel>;
  channelByName(name: string): FakeChannel | undefined;
  messages: FakeMessage[];
  messagesIn(channel: string): FakeMessage[];
  ephemerals: Array<{ channel: string; user: string; text?: string; blocks?: unknown[] }>;
  pins: Array<{ channel: string; ts: string }>;
  views: Array<{ triggerId: string; view: unknown }>;
  files: Array<{ id: string; title?: string; filename: string; content: string; channels: string[] }>;
  responses: Array<{ path: string; body: unknown }>;
  responseUrl(id?: string): string;
  failNext(method: string, failure: FakeFailure, times?: number): void;
  /** Drops failures injected with failNext that have not happened yet. */
  clearFailures(): void;
  /**
   * A message posted by a person (not the bot), as if typed in Slack, or by another app's bot user (which may attach
   * `metadata`, as any app can). Returns its ts.
   */
  postAsUser(channel: string, user: string, text: string, metadata?: FakeMetadata): string;
  reset(): void;
  close(): Promise<void>;
}

type Params = Record<string, unknown>;
type Json = Record<string, unknown>;
type Handler = (p: Params) => Json;

/** Thrown by handlers; becomes HTTP 200 `{ok:false, error}` like Slack. */
class SlackApiError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}
function fail(error: string): never {
  throw new SlackApiError(error);
}

/** Params that Slack accepts as JSON-encoded strings in form bodies. */
const JSON_PARAMS = new Set(['blocks', 'attachments', 'view', 'files', 'metadata']);
const CHANNEL_NAME = /^[a-z0-9_-]+$/;
/** conversations.list `types`. */
const CONVERSATION_TYPES = new Set(['public_channel', 'private_channel', 'mpim', 'im']);
/** A seeded channel's creator when the test names none: a person. */
export const SEED_CREATOR = 'U0CREATOR';
const USER_ID = /^[UW][A-Z0-9]{2,}$/;

const str = (p: Params, key: string): string | undefined => {
  const v = p[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
};
const truthy = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses a urlencoded / JSON / multipart body into params; JSON-valued params are decoded. */
async function parseParams(contentType: string, raw: Buffer, query: URLSearchParams): Promise<Params> {
  const params: Params = Object.fromEntries(query);
  if (contentType.includes('application/json')) {
    const body: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    if (isObject(body)) Object.assign(params, body);
  } else if (contentType.includes('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    for (const [k, v] of form) params[k] = typeof v === 'string' ? v : await v.text();
  } else {
    Object.assign(params, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
  }
  for (const key of JSON_PARAMS) {
    const v = params[key];
    if (typeof v === 'string') {
      try {
        params[key] = JSON.parse(v);
      } catch {
        /* leave the raw string: handlers reject it as invalid */
      }
    }
  }
  return params;
}

/** Upload bodies: multipart (first file part, else first field) or raw bytes, stored as text. */
async function uploadContent(contentType: string, raw: Buffer): Promise<string> {
  if (!contentType.includes('multipart/form-data')) return raw.toString('utf8');
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const entries = [...form.values()];
  const part = entries.find((v) => typeof v !== 'string') ?? entries[0];
  return part === undefined ? '' : typeof part === 'string' ? part : await part.text();
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-test-token';
  const latencyMs = options.latencyMs ?? 0;
  const botUserId = options.botUserId ?? 'UBOT';
  const botId = options.botId ?? 'BBOT';
  const teamId = options.teamId ?? 'T0001';
  const knownUsers = options.knownUsers ? new Set(options.knownUsers) : undefined;

  const channels = new Map<string, FakeChannel>();
  const messages: FakeMessage[] = [];
  const calls: RecordedCall[] = [];
  const ephemerals: FakeSlack['ephemerals'] = [];
  const pins: FakeSlack['pins'] = [];
  const views: FakeSlack['views'] = [];
  const files: FakeSlack['files'] = [];
  const responses: FakeSlack['responses'] = [];
  const uploads = new Map<string, { filename: string; length: number; content?: string }>();
  const failures = new Map<string, FakeFailure[]>();
  let seq = 0; // ids (channels, files, views, response urls) — never reset, so ids stay unique
  let lastTsSec = 0;
  let lastTsMicro = 0;

  const nextId = (prefix: string, taken?: (id: string) => boolean): string => {
    let id: string;
    do id = prefix + String(++seq).padStart(10, '0');
    while (taken?.(id));
    return id;
  };
  /** Slack-style '<seconds>.<micro>' ts, strictly increasing. */
  const nextTs = (): string => {
    const now = Math.floor(Date.now() / 1000);
    if (now > lastTsSec) [lastTsSec, lastTsMicro] = [now, 0];
    else if (++lastTsMicro > 999_999) [lastTsSec, lastTsMicro] = [lastTsSec + 1, 0];
    return `${lastTsSec}.${String(lastTsMicro).padStart(6, '0')}`;
  };
  const seedChannels = () => {
    channels.clear();
    for (const c of options.channels ?? []) {
      const creator = c.creator ?? SEED_CREATOR;
      channels.set(c.id, {
        id: c.id,
        name: c.name,
        isPrivate: c.isPrivate ?? false,
        members: new Set(c.isMember === false ? [] : [botUserId]),
        topic: c.topic ?? '',
        purpose: c.purpose ?? '',
        topicBy: c.topic ? creator : '',
        purposeBy: c.purpose ? creator : '',
        created: c.created ?? Math.floor(Date.now() / 1000),
        creator,
        archived: c.archived ?? false,
      });
    }
  };
  seedChannels();

  const userExists = (id: string) => id === botUserId || (knownUsers ? knownUsers.has(id) : USER_ID.test(id));
  const isMember = (ch: FakeChannel) => ch.members.has(botUserId);
  /** Like Slack, private channels the bot is not in are invisible (channel_not_found). */
  const channelParam = (p: Params, key = 'channel'): FakeChannel => {
    const ch = channels.get(str(p, key) ?? '');
    if (!ch || (ch.isPrivate && !isMember(ch))) return fail('channel_not_found');
    return ch;
  };
  const writableChannel = (p: Params, key = 'channel'): FakeChannel => {
    const ch = channelParam(p, key);
    if (ch.archived) fail('is_archived');
    if (!isMember(ch)) fail('not_in_channel');
    return ch;
  };
  const findMessage = (channel: string, ts: string | undefined) =>
    messages.find((m) => m.channel === channel && m.ts === ts) ?? fail('message_not_found');
  /** Validates text/blocks like chat.postMessage: blocks must be an array of ≤50 typed objects. */
  const content = (p: Params, requireSome = true) => {
    const text = str(p, 'text') || undefined;
    const blocks = p.blocks;
    if (
      blocks !== undefined &&
      (!Array.isArray(blocks) || blocks.length > 50 || !blocks.every((b) => isObject(b) && typeof b.type === 'string'))
    ) {
      fail('invalid_blocks');
    }
    const list = blocks as unknown[] | undefined;
    const hasAttachments = Array.isArray(p.attachments) && p.attachments.length > 0;
    if (requireSome && !text && !list?.length && !hasAttachments) fail('no_text');
    return { text, blocks: list };
  };
  /**
   * chat.postMessage's `metadata`, like Slack: an object with an `event_type` and an object `event_payload`, else
   * invalid_metadata_format; an event_type of other than letters, digits, `_` and `-` is ignored with the warning
   * invalid_metadata_schema.
   */
  const messageMetadata = (value: unknown): { stored?: FakeMetadata; warning?: string } => {
    if (value === undefined) return {};
    if (!isObject(value) || !isObject(value.event_payload) || typeof value.event_type !== 'string')
      return fail('invalid_metadata_format');
    if (!/^[A-Za-z0-9_-]+$/.test(value.event_type)) return { warning: 'invalid_metadata_schema' };
    return { stored: { event_type: value.event_type, event_payload: value.event_payload } };
  };
  const topicJson = (value: string, by: string) => ({ value, creator: value ? by : '', last_set: 0 });
  const channelJson = (ch: FakeChannel) => ({
    id: ch.id,
    name: ch.name,
    name_normalized: ch.name,
    is_channel: true,
    is_group: false,
    is_im: false,
    is_private: ch.isPrivate,
    is_archived: ch.archived,
    created: ch.created,
    creator: ch.creator,
    is_member: isMember(ch),
    num_members: ch.members.size,
    topic: topicJson(ch.topic, ch.topicBy),
    purpose: topicJson(ch.purpose, ch.purposeBy),
  });
  /** An app's DM (im) as conversations.list shows one. */
  const imJson = (ch: FakeChannel) => ({
    id: ch.id,
    created: ch.created,
    is_im: true,
    is_org_shared: false,
    user: ch.name.slice('dm-'.length),
    is_user_deleted: false,
    priority: 0,
  });
  const isDirectMessage = (ch: FakeChannel) => ch.id.startsWith('D');
  /** `withMetadata`: conversations.history with include_all_metadata (Slack leaves metadata out otherwise). */
  const messageJson = (m: FakeMessage, withMetadata = false) => ({
    type: 'message',
    user: m.user,
    ...(m.user === botUserId ? { bot_id: botId } : {}),
    text: m.text ?? '',
    ts: m.ts,
    team: teamId,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    ...(m.files ? { files: m.files } : {}),
    ...(m.updated ? { edited: { user: botUserId, ts: `${Math.floor(m.updated / 1000)}.000000` } } : {}),
    ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
  });
  const setText = (field: 'topic' | 'purpose') => (p: Params) => {
    const ch = writableChannel(p);
    const value = str(p, field) ?? '';
    if (value.length > 250) fail('too_long');
    ch[field] = value;
    ch[field === 'topic' ? 'topicBy' : 'purposeBy'] = value ? botUserId : '';
    return { channel: channelJson(ch), [field]: value };
  };

  /** The app's DM with a user (Slack's `D…` conversation), created on first use. */
  function directMessage(user: string): FakeChannel {
    if (!userExists(user)) fail('channel_not_found');
    const existing = [...channels.values()].find((c) => c.name === `dm-${user}`);
    if (existing) return existing;
    const dm: FakeChannel = {
      id: nextId('D'),
      name: `dm-${user}`,
      isPrivate: true,
      members: new Set([botUserId, user]),
      topic: '',
      purpose: '',
      topicBy: '',
      purposeBy: '',
      created: Math.floor(Date.now() / 1000),
      creator: botUserId,
      archived: false,
    };
    channels.set(dm.id, dm);
    return dm;
  }

  /** conversations.list and users.conversations: one page of the conversations `types` asks for, among those `among`. */
  function listConversations(p: Params, among: (ch: FakeChannel) => boolean): Json {
    const types = (str(p, 'types') ?? 'public_channel')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (types.length === 0 || !types.every((t) => CONVERSATION_TYPES.has(t))) fail('invalid_types');
    const asked = Number(str(p, 'limit') ?? 100);
    if (!Number.isInteger(asked) || asked < 0) fail('invalid_limit');
    const limit = Math.min(asked || 100, 1000, options.listPageMax ?? Infinity);
    const listed = [...channels.values()].filter((ch) => {
      if (!among(ch) || (truthy(p.exclude_archived) && ch.archived)) return false;
      if (isDirectMessage(ch)) return types.includes('im');
      if (ch.isPrivate) return types.includes('private_channel') && isMember(ch);
      return types.includes('public_channel');
    });
    const cursor = str(p, 'cursor');
    let start = 0;
    if (cursor) {
      const id = /^team:(\w+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'))?.[1];
      start = listed.findIndex((ch) => ch.id === id);
      if (start < 0) fail('invalid_cursor');
    }
    const page = listed.slice(start, start + limit);
    const next = listed[start + limit];
    return {
      channels: page.map((ch) => (isDirectMessage(ch) ? imJson(ch) : channelJson(ch))),
      response_metadata: { next_cursor: next ? Buffer.from(`team:${next.id}`).toString('base64') : '' },
    };
  }

  const methods: Record<string, Handler> = {
    'api.test': (p) => ({ args: p }),
    'auth.test': () => ({
      url: 'https://firelane-test.slack.com/',
      team: 'Firelane Test',
      user: 'firelane',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'conversations.create': (p) => {
      const name = str(p, 'name') ?? '';
      if (!name) fail('invalid_name_required');
      if (name.length > 80) fail('invalid_name_maxlength');
      if (!CHANNEL_NAME.test(name)) fail('invalid_name_specials');
      if ([...channels.values()].some((c) => c.name === name)) fail('name_taken');
      const ch: FakeChannel = {
        id: nextId('C', (id) => channels.has(id)),
        name,
        isPrivate: truthy(p.is_private),
        members: new Set([botUserId]),
        topic: '',
        purpose: '',
        topicBy: '',
        purposeBy: '',
        created: Math.floor(Date.now() / 1000),
        creator: botUserId,
        archived: false,
      };
      channels.set(ch.id, ch);
      return { channel: channelJson(ch) };
    },
    // Like Slack for a bot token: `types` (default public_channel) picks public channels, the private ones the bot
    // is in, and its DMs (im); archived ones unless exclude_archived. Oldest first; `limit` (default 100, at most
    // 1000) per page, and `response_metadata.next_cursor` ('' on the last page) is the `cursor` of the next.
    'conversations.list': (p) => listConversations(p, () => true),
    // The same, of the conversations `user` (default: the bot) is a member of.
    'users.conversations': (p) => {
      const user = str(p, 'user') ?? botUserId;
      if (!userExists(user)) fail('user_not_found');
      return listConversations(p, (ch) => ch.members.has(user));
    },
    'conversations.invite': (p) => {
      const ch = writableChannel(p);
      const users = (str(p, 'users') ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      if (users.length === 0) fail('no_user');
      if (users.length > 1000) fail('too_many_users');
      if (users.includes(botUserId)) fail('cant_invite_self');
      if (!users.every(userExists)) fail('user_not_found');
      if (users.every((u) => ch.members.has(u))) fail('already_in_channel');
      for (const u of users) ch.members.add(u);
      return { channel: channelJson(ch) };
    },
    'conversations.join': (p) => {
      const ch = channelParam(p);
      if (ch.isPrivate) fail('method_not_supported_for_channel_type');
      if (ch.archived) fail('is_archived');
      const already = isMember(ch);
      ch.members.add(botUserId);
      return { channel: channelJson(ch), ...(already ? { warning: 'already_in_channel' } : {}) };
    },
    'conversations.archive': (p) => {
      const ch = channelParam(p);
      if (ch.archived) fail('already_archived');
      if (!isMember(ch)) fail('not_in_channel');
      ch.archived = true;
      return {};
    },
    'conversations.info': (p) => ({ channel: channelJson(channelParam(p)) }),
    // Newest first; `latest`/`oldest` bound the range (exclusive unless inclusive=true), like Slack. `limit` (default
    // 100, at most 999) per page; `has_more` and `response_metadata.next_cursor` ('' on the last page) lead to the
    // next, older page. Message metadata only with include_all_metadata.
    'conversations.history': (p) => {
      const ch = channelParam(p);
      if (!isMember(ch)) fail('not_in_channel');
      const latest = str(p, 'latest');
      const oldest = str(p, 'oldest');
      const inclusive = truthy(p.inclusive);
      const asked = Number(str(p, 'limit') ?? 100);
      if (!Number.isInteger(asked) || asked < 0) fail('invalid_limit');
      const limit = Math.min(asked || 100, 999);
      const inRange = (ts: string) =>
        (latest === undefined || (inclusive ? Number(ts) <= Number(latest) : Number(ts) < Number(latest))) &&
        (oldest === undefined || (inclusive ? Number(ts) >= Number(oldest) : Number(ts) > Number(oldest)));
      const listed = messages
        .filter((m) => m.channel === ch.id && !m.threadTs && inRange(m.ts))
        .sort((a, b) => Number(b.ts) - Number(a.ts));
      const cursor = str(p, 'cursor');
      let start = 0;
      if (cursor) {
        // Slack's history cursors read `next_ts:<ts without the dot>`.
        const ts = /^next_ts:(\d{16})$/.exec(Buffer.from(cursor, 'base64').toString('utf8'))?.[1];
        start = listed.findIndex((m) => m.ts.replace('.', '') === ts);
        if (start < 0) fail('invalid_cursor');
      }
      const page = listed.slice(start, start + limit);
      const next = listed[start + limit];
      const withMetadata = truthy(p.include_all_metadata);
      return {
        messages: page.map((m) => messageJson(m, withMetadata)),
        has_more: next !== undefined,
        pin_count: pins.filter((x) => x.channel === ch.id).length,
        response_metadata: {
          next_cursor: next ? Buffer.from(`next_ts:${next.ts.replace('.', '')}`).toString('base64') : '',
        },
      };
    },
    'conversations.members': (p) => ({ members: [...channelParam(p).members], response_metadata: { next_cursor: '' } }),
    'conversations.setTopic': setText('topic'),
    'conversations.setPurpose': setText('purpose'),
    'chat.postMessage': (p) => {
      const target = str(p, 'channel') ?? '';
      const byName = [...channels.values()].find((c) => c.name === target.replace(/^#/, ''));
      // Like Slack: a user id as channel posts in the app's direct-message conversation with that user.
      const dm = /^[UW][A-Z0-9]{2,}$/.test(target) ? directMessage(target) : undefined;
      const ch = writableChannel(dm ? { channel: dm.id } : byName ? { channel: byName.id } : p);
      const { text, blocks } = content(p);
      const metadata = messageMetadata(p.metadata);
      const threadTs = str(p, 'thread_ts');
      const msg: FakeMessage = {
        channel: ch.id,
        ts: nextTs(),
        text,
        blocks,
        user: botUserId,
        ...(threadTs ? { threadTs } : {}),
        ...(metadata.stored && { metadata: metadata.stored }),
      };
      messages.push(msg);
      return {
        channel: ch.id,
        ts: msg.ts,
        message: messageJson(msg),
        ...(metadata.warning && { warning: metadata.warning }),
      };
    },
    'chat.update': (p) => {
      const ch = channelParam(p);
      const msg = findMessage(ch.id, str(p, 'ts'));
      if (msg.user !== botUserId) fail('cant_update_message');
      const { text, blocks } = content(p, false);
      if (text === undefined && blocks === undefined && p.attachments === undefined) fail('no_text');
      if (text !== undefined) msg.text = text;
      if (blocks !== undefined) msg.blocks = blocks;
      msg.updated = Date.now();
      return { channel: ch.id, ts: msg.ts, text: msg.text ?? '', message: messageJson(msg) };
    },
    'chat.postEphemeral': (p) => {
      const ch = writableChannel(p);
      const user = str(p, 'user') ?? '';
      if (!userExists(user)) fail('user_not_found');
      if (!ch.members.has(user)) fail('user_not_in_channel');
      const { text, blocks } = content(p);
      ephemerals.push({ channel: ch.id, user, text, blocks });
      return { message_ts: nextTs() };
    },
    'chat.getPermalink': (p) => {
      const ch = channelParam(p);
      const msg = findMessage(ch.id, str(p, 'message_ts'));
      return {
        channel: ch.id,
        permalink: `https://firelane-test.slack.com/archives/${ch.id}/p${msg.ts.replace('.', '')}`,
      };
    },
    'pins.add': (p) => {
      const ch = writableChannel(p);
      if (!str(p, 'timestamp')) fail('no_item_specified');
      const msg = findMessage(ch.id, str(p, 'timestamp'));
      if (pins.some((x) => x.channel === ch.id && x.ts === msg.ts)) fail('already_pinned');
      pins.push({ channel: ch.id, ts: msg.ts });
      return {};
    },
    'pins.remove': (p) => {
      const ch = writableChannel(p);
      const idx = pins.findIndex((x) => x.channel === ch.id && x.ts === str(p, 'timestamp'));
      if (idx < 0) fail('no_pin');
      pins.splice(idx, 1);
      return {};
    },
    'pins.list': (p) => {
      const ch = channelParam(p);
      const items = pins
        .filter((x) => x.channel === ch.id)
        .map((x) => ({
          type: 'message',
          channel: ch.id,
          created_by: botUserId,
          message: messageJson(findMessage(ch.id, x.ts)),
        }));
      return { items };
    },
    'views.open': (p) => {
      const triggerId = str(p, 'trigger_id');
      const view = p.view;
      if (!triggerId || !isObject(view) || view.type !== 'modal') return fail('invalid_arguments');
      views.push({ triggerId, view });
      return {
        view: {
          id: nextId('V'),
          team_id: teamId,
          app_id: 'A0000000001',
          bot_id: botId,
          state: { values: {} },
          hash: nextTs(),
          ...view,
        },
      };
    },
    'users.info': (p) => {
      const id = str(p, 'user') ?? '';
      if (!userExists(id)) fail('user_not_found');
      const isBot = id === botUserId;
      const name = isBot ? 'firelane' : `user-${id.toLowerCase()}`;
      return {
        user: {
          id,
          team_id: teamId,
          name,
          real_name: isBot ? 'Firelane' : `User ${id}`,
          tz: 'Europe/Berlin',
          is_bot: isBot,
          deleted: false,
        },
      };
    },
    'files.getUploadURLExternal': (p) => {
      const filename = str(p, 'filename');
      const length = Number(str(p, 'length'));
      if (!filename || !Number.isInteger(length) || length < 0) fail('invalid_arguments');
      const fileId = nextId('F');
      uploads.set(fileId, { filename, length });
      return { upload_url: `${baseUrl}/upload/${fileId}`, file_id: fileId };
    },
    'files.completeUploadExternal': (p) => {
      const list = p.files;
      if (!Array.isArray(list) || list.length === 0 || !list.every((f) => isObject(f) && typeof f.id === 'string'))
        return fail('invalid_arguments');
      const targets = (str(p, 'channel_id') ?? str(p, 'channels') ?? '')
        .split(',')
        .filter(Boolean)
        .map((id) => writableChannel({ channel: id }).id);
      const done = (list as Array<{ id: string; title?: unknown }>).map((f) => {
        const up = uploads.get(f.id);
        if (!up || up.content === undefined) return fail('file_not_found');
        return {
          id: f.id,
          title: typeof f.title === 'string' ? f.title : up.filename,
          name: up.filename,
          content: up.content,
        };
      });
      const threadTs = str(p, 'thread_ts');
      for (const f of done) {
        uploads.delete(f.id);
        files.push({ id: f.id, title: f.title, filename: f.name, content: f.content, channels: targets });
      }
      for (const channel of targets) {
        const text = str(p, 'initial_comment') || undefined;
        const fileRefs = done.map(({ id, name, title }) => ({ id, name, title }));
        messages.push({
          channel,
          ts: nextTs(),
          text,
          user: botUserId,
          files: fileRefs,
          ...(threadTs ? { threadTs } : {}),
        });
      }
      return { files: done.map(({ id, title, name }) => ({ id, title, name, channels: targets })) };
    },
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    res.writeHead(status, { 'content-type': type, ...headers }).end(text);
  };

  const handleApi = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer) => {
    const method = url.pathname.slice('/api/'.length);
    const at = Date.now();
    const params = await parseParams(req.headers['content-type'] ?? '', raw, url.searchParams).catch(() => undefined);
    const call: RecordedCall = { method, params: params ?? {}, at, ok: false, status: 200 };
    calls.push(call);
    if (latencyMs > 0) await sleep(latencyMs);
    const answer = (status: number, body: Json, headers?: Record<string, string>) => {
      call.status = status;
      call.answeredAt = Date.now();
      call.ok = body.ok === true;
      if (typeof body.error === 'string') call.error = body.error;
      send(res, status, body, headers);
    };
    if (!params) return answer(200, { ok: false, error: 'invalid_json' });
    const queue = failures.get(method) ?? [];
    const index = queue.findIndex((f) => !f.when || f.when(params));
    const injected = index < 0 ? undefined : queue[index];
    // An answer lost after the effect waits for a call that takes effect (below); any other failure happens now.
    if (injected && !('afterEffect' in injected)) {
      queue.splice(index, 1);
      if ('error' in injected) return answer(200, { ok: false, error: injected.error });
      if (injected.status === 429)
        return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(injected.retryAfter) });
      return answer(500, { ok: false, error: 'internal_error' });
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? str(params, 'token');
    if (!bearer) return answer(200, { ok: false, error: 'not_authed' });
    if (bearer !== token) return answer(200, { ok: false, error: 'invalid_auth' });
    const handler = methods[method];
    if (!handler) return answer(200, { ok: false, error: 'unknown_method' });
    try {
      const result = handler(params);
      // Unless a call made at the same time has lost its answer for it already.
      const pending = injected ? queue.indexOf(injected) : -1;
      if (injected && 'afterEffect' in injected && pending >= 0) {
        // The change is made; its answer never reaches the caller.
        queue.splice(pending, 1);
        call.lostAnswer = injected.afterEffect;
        if (injected.afterEffect === 500) answer(500, { ok: false, error: 'internal_error' });
        else if (injected.afterEffect === 'reset') req.socket.destroy();
        call.ok = true;
        call.status = injected.afterEffect === 500 ? 500 : 0;
        return;
      }
      return answer(200, { ok: true, ...result });
    } catch (e) {
      if (e instanceof SlackApiError) return answer(200, { ok: false, error: e.error });
      throw e;
    }
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = await readBody(req);
      const contentType = req.headers['content-type'] ?? '';
      if (url.pathname.startsWith('/api/')) return handleApi(req, res, url, raw);
      const upload = /^\/upload\/([^/]+)$/.exec(url.pathname);
      if (upload && req.method === 'POST') {
        const pending = uploads.get(upload[1] ?? '');
        if (!pending) return send(res, 404, 'file not found');
        pending.content = await uploadContent(contentType, raw);
        return send(res, 200, `OK - ${raw.length}`);
      }
      if (url.pathname.startsWith('/response/') && req.method === 'POST') {
        const text = raw.toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* keep raw text */
        }
        responses.push({ path: url.pathname, body });
        return send(res, 200, 'ok');
      }
      return send(res, 404, 'not found');
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error: 'fake_internal_error', detail: String(e) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    channels,
    channelByName: (name) => [...channels.values()].find((c) => c.name === name),
    messages,
    messagesIn: (channel) => messages.filter((m) => m.channel === channel),
    ephemerals,
    pins,
    views,
    files,
    responses,
    responseUrl: (id) => `${baseUrl}/response/${id ?? nextId('R')}`,
    failNext(method, failure, times = 1) {
      const queue = failures.get(method) ?? [];
      for (let i = 0; i < times; i++) queue.push(failure);
      failures.set(method, queue);
    },
    clearFailures: () => failures.clear(),
    postAsUser(channel, user, text, metadata) {
      const ts = nextTs();
      messages.push({ channel, ts, text, user, ...(metadata && { metadata }) });
      return ts;
    },
    reset() {
      for (const list of [calls, messages, ephemerals, pins, views, files, responses] as unknown[][]) list.length = 0;
      uploads.clear();
      failures.clear();
      seedChannels();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

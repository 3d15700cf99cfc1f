/**
 * Stateful loopback fake of the Bot Framework Connector REST API (the `serviceUrl` a Teams activity carries).
 *
 * Speaks the wire protocol the Microsoft 365 Agents SDK's ConnectorClient uses (see fake-bot-connector.test.ts):
 * JSON bodies; conversation and activity ids as path segments, raw (`19:abc@thread.tacv2;messageid=123`, as the
 * SDK sends them) or percent-encoded (`19%3Aabc...`, as botbuilder did and firelane does for member look-ups);
 * errors as `{ error: { code, message } }`; 429 + Retry-After for throttling (via failNext); and, with
 * `requireAuth`, the ASP.NET-style 401 `{ message: 'Authorization has been denied for this request.' }` for calls
 * without a Bearer token. Point an adapter at it by giving inbound activities `serviceUrl: fake.url`.
 *
 * Modelled: send to conversation, reply, update (PUT), delete, create conversation (Teams channel thread and 1:1),
 * a conversation member by 29: id, AAD object id or UPN (members of a channel are members of its threads). Not
 * modelled: member lists, /v3/teams/*, attachments upload, activity history, conversation listing, the OAuth token
 * service.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

export interface FakeBotConnectorOptions {
  /** Reject calls without `Authorization: Bearer <token>` with 401, like the real service (default false). */
  requireAuth?: boolean;
  /** With requireAuth: accept only this bearer token (default: any non-empty token). */
  token?: string;
  /**
   * Reject activities (send/reply/update/create) whose JSON body is larger than this with 413 MessageSizeTooBig,
   * as Teams does at about 28 KB (default 28 * 1024; 0 disables).
   */
  maxActivityBytes?: number;
  /** Answer 404 ConversationNotFound for conversations that were neither created, seeded nor addMember'd. */
  knownConversationsOnly?: boolean;
}

export interface FakeMember {
  id: string;
  name?: string;
  aadObjectId?: string;
  userPrincipalName?: string;
  email?: string;
  givenName?: string;
  surname?: string;
  tenantId?: string;
  userRole?: string;
}

export interface RecordedRequest {
  method: string;
  /** Raw path as sent, query included (ids as the client sent them: raw or percent-encoded). */
  path: string;
  /** Path with each segment percent-decoded, no query. */
  decodedPath: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  authorization?: string;
  body: unknown;
  status: number;
  at: number;
}

export interface FakeActivity {
  id: string;
  conversationId: string;
  type: string;
  text?: string;
  textFormat?: string;
  summary?: string;
  attachments: Array<{ contentType: string; content?: unknown; contentUrl?: string; name?: string }>;
  entities: Array<Record<string, unknown>>;
  replyToId?: string;
  channelData?: unknown;
  value?: unknown;
  from?: { id?: string; name?: string };
  recipient?: { id?: string; name?: string };
  /** How it arrived: POST .../activities, POST .../activities/{id}, or the first activity of POST /v3/conversations. */
  via: 'send' | 'reply' | 'create';
  /** The activity JSON as last received (after updates). */
  body: Record<string, unknown>;
  /** Earlier versions, oldest first, one per PUT. */
  history: Array<Record<string, unknown>>;
  deleted: boolean;
  at: number;
  updatedAt?: number;
}

export interface FakeConversation {
  id: string;
  kind: 'channel-thread' | 'channel' | 'group-chat' | 'personal' | 'other';
  /** For channel threads: the channel (`19:...@thread.tacv2`) the thread lives in. */
  channelId?: string;
  tenantId?: string;
  isGroup: boolean;
  members: FakeMember[];
  createdBy: 'createConversation' | 'seed' | 'activity';
}

export type { FailureSpec } from './failure-spec.js';
import type { FailureSpec } from './failure-spec.js';

export interface FakeBotConnector {
  /** The serviceUrl, with trailing slash: `http://127.0.0.1:PORT/`. */
  url: string;
  /** Every activity the bot sent, by conversation id (decoded), in order; deleted ones stay with `deleted: true`. */
  activities: Map<string, FakeActivity[]>;
  requests: RecordedRequest[];
  conversations(): FakeConversation[];
  conversation(id: string): FakeConversation | undefined;
  /** Message activities (not deleted) in a conversation, in order. */
  messagesIn(conversationId: string): FakeActivity[];
  /** An activity by id, in any conversation. */
  activity(activityId: string): FakeActivity | undefined;
  /** Seeds a member (creating the conversation if needed). Members of a channel are members of its threads. */
  addMember(conversationId: string, member: FakeMember): void;
  /** Makes a conversation known (for knownConversationsOnly). */
  addConversation(id: string, init?: { isGroup?: boolean; tenantId?: string; members?: FakeMember[] }): void;
  failNext(spec: FailureSpec): void;
  clearFailures(): void;
  /** Drops recorded requests, activities, conversations, members and failures. */
  reset(): void;
  close(): Promise<void>;
}

/** The Adaptive Card contents of an activity's attachments. */
export function adaptiveCards(activity: Pick<FakeActivity, 'attachments'>): Array<Record<string, unknown>> {
  return activity.attachments
    .filter((a) => a.contentType === ADAPTIVE_CARD && isObject(a.content))
    .map((a) => a.content as Record<string, unknown>);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

class ConnectorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
const fail = (status: number, code: string, message: string): never => {
  throw new ConnectorError(status, code, message);
};

const DEFAULT_ERRORS: Record<number, [string, string]> = {
  400: ['BadArgument', 'Bad request'],
  401: ['Unauthorized', 'Unauthorized'],
  403: ['Forbidden', 'The bot is not part of the conversation roster.'],
  404: ['NotFound', 'Not found'],
  412: ['PreconditionFailed', 'Precondition failed'],
  413: ['MessageSizeTooBig', 'Message size too big'],
  429: ['TooManyRequests', 'Too many requests, please retry later'],
  500: ['ServiceError', 'Internal server error'],
  502: ['BadGateway', 'Bad gateway'],
  503: ['ServiceUnavailable', 'Service unavailable'],
};
const errorBody = (status: number, code?: string, message?: string) => {
  const [dc, dm] = DEFAULT_ERRORS[status] ?? ['ServiceError', `HTTP ${status}`];
  return { error: { code: code ?? dc, message: message ?? dm } };
};

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const THREAD_SUFFIX = /;messageid=\d+$/;
const CHANNEL_ID = /^19:.+@thread\.(tacv2|skype)$/;
const GROUP_CHAT_ID = /^19:.+@(thread\.v2|unq\.gbl\.spaces)$/;

export async function startFakeBotConnector(options: FakeBotConnectorOptions = {}): Promise<FakeBotConnector> {
  const maxActivityBytes = options.maxActivityBytes ?? 28 * 1024;
  const requests: RecordedRequest[] = [];
  const activities = new Map<string, FakeActivity[]>();
  const byId = new Map<string, FakeActivity>();
  const convs = new Map<string, FakeConversation>();
  const personalIds = new Map<string, string>(); // member id (+tenant) -> a:... conversation id
  let failures: Array<FailureSpec & { left: number }> = [];
  let lastId = 0;

  /** Teams-style message ids: epoch milliseconds, strictly increasing. */
  const nextActivityId = (): string => {
    lastId = Math.max(Date.now(), lastId + 1);
    return String(lastId);
  };

  const ensureConversation = (id: string, createdBy: FakeConversation['createdBy']): FakeConversation => {
    let c = convs.get(id);
    if (!c) {
      const kind: FakeConversation['kind'] = THREAD_SUFFIX.test(id)
        ? 'channel-thread'
        : CHANNEL_ID.test(id)
          ? 'channel'
          : GROUP_CHAT_ID.test(id)
            ? 'group-chat'
            : id.startsWith('a:')
              ? 'personal'
              : 'other';
      c = { id, kind, isGroup: kind !== 'personal' && kind !== 'other', members: [], createdBy };
      if (kind === 'channel-thread') c.channelId = id.replace(THREAD_SUFFIX, '');
      convs.set(id, c);
    }
    return c;
  };
  const knownConversation = (id: string): FakeConversation => {
    const existing = convs.get(id);
    if (existing) return existing;
    const channelKnown = THREAD_SUFFIX.test(id) && convs.has(id.replace(THREAD_SUFFIX, ''));
    if (options.knownConversationsOnly && !channelKnown) fail(404, 'ConversationNotFound', 'Conversation not found.');
    return ensureConversation(id, 'activity');
  };
  /** Members of a conversation; threads inherit their channel's members. */
  const membersOf = (id: string): FakeMember[] | undefined => {
    const own = convs.get(id);
    const channel = THREAD_SUFFIX.test(id) ? convs.get(id.replace(THREAD_SUFFIX, '')) : undefined;
    if (!own && !channel) return undefined;
    const seen = new Set<string>();
    return [...(own?.members ?? []), ...(channel?.members ?? [])].filter((m) => !seen.has(m.id) && !!seen.add(m.id));
  };
  const memberJson = (m: FakeMember) => ({ ...m, objectId: m.aadObjectId });

  const checkActivity = (raw: Buffer, body: unknown): Json => {
    if (!isObject(body)) fail(400, 'BadSyntax', 'Request body must be an activity object.');
    const activity = body as Json;
    if (typeof activity.type !== 'string' || !activity.type) fail(400, 'BadArgument', 'Activity type is required.');
    if (maxActivityBytes > 0 && raw.length > maxActivityBytes) fail(413, 'MessageSizeTooBig', 'Message size too big.');
    return activity;
  };
  const record = (
    conversationId: string,
    id: string,
    activity: Json,
    via: FakeActivity['via'],
    replyToId?: string,
  ): FakeActivity => {
    const a: FakeActivity = {
      id,
      conversationId,
      ...fieldsOf(activity),
      replyToId: str(activity.replyToId) ?? replyToId,
      via,
      body: {
        ...activity,
        id,
        conversation: { ...(isObject(activity.conversation) ? activity.conversation : {}), id: conversationId },
      },
      history: [],
      deleted: false,
      at: Date.now(),
    };
    let list = activities.get(conversationId);
    if (!list) activities.set(conversationId, (list = []));
    list.push(a);
    byId.set(id, a);
    return a;
  };
  const findActivity = (conversationId: string, activityId: string): FakeActivity => {
    const a = activities.get(conversationId)?.find((x) => x.id === activityId && !x.deleted);
    return a ?? fail(404, 'ActivityNotFound', `Activity ${activityId} not found in conversation.`);
  };

  type Route = { conversationId?: string; activityId?: string; memberId?: string; op: string };
  const route = (method: string, segs: string[]): Route | undefined => {
    if (segs[0] !== 'v3' || segs[1] !== 'conversations') return undefined;
    const [, , cid, sub, sid, ...rest] = segs;
    if (cid === undefined) return method === 'POST' ? { op: 'create' } : undefined;
    if (sub === 'activities' && sid === undefined && method === 'POST') return { op: 'send', conversationId: cid };
    if (sub === 'activities' && sid !== undefined && rest.length === 0) {
      const op = { POST: 'reply', PUT: 'update', DELETE: 'delete' }[method];
      return op ? { op, conversationId: cid, activityId: sid } : undefined;
    }
    if (sub === 'members' && method === 'GET' && sid !== undefined && rest.length === 0)
      return { op: 'member', conversationId: cid, memberId: sid };
    return undefined;
  };

  const handle = (method: string, r: Route, raw: Buffer, body: unknown): [number, unknown] => {
    const cid = r.conversationId ?? '';
    switch (r.op) {
      case 'send': {
        const activity = checkActivity(raw, body);
        knownConversation(cid);
        const a = record(cid, nextActivityId(), activity, 'send');
        return [201, { id: a.id }];
      }
      case 'reply': {
        const activity = checkActivity(raw, body);
        knownConversation(cid);
        const a = record(cid, nextActivityId(), activity, 'reply', r.activityId);
        return [201, { id: a.id }];
      }
      case 'update': {
        const activity = checkActivity(raw, body);
        knownConversation(cid);
        const a = findActivity(cid, r.activityId ?? '');
        a.history.push(a.body);
        Object.assign(a, fieldsOf(activity));
        a.body = {
          ...activity,
          id: a.id,
          conversation: { ...(isObject(activity.conversation) ? activity.conversation : {}), id: cid },
        };
        a.updatedAt = Date.now();
        return [200, { id: a.id }];
      }
      case 'delete': {
        knownConversation(cid);
        const a = findActivity(cid, r.activityId ?? '');
        a.deleted = true;
        a.updatedAt = Date.now();
        return [200, undefined];
      }
      case 'member': {
        const members = membersOf(cid);
        if (!members) return fail(404, 'ConversationNotFound', 'Conversation not found.');
        const wanted = r.memberId ?? '';
        const m = members.find(
          (x) =>
            x.id === wanted ||
            x.aadObjectId === wanted ||
            (!!x.userPrincipalName && x.userPrincipalName.toLowerCase() === wanted.toLowerCase()),
        );
        if (!m)
          return fail(404, 'MemberNotFoundInConversation', 'The specified user was not found in the conversation.');
        return [200, memberJson(m)];
      }
      case 'create':
        return createConversation(body);
      default:
        return fail(404, 'NotFound', `No route for ${method}`);
    }
  };

  const createConversation = (body: unknown): [number, unknown] => {
    if (!isObject(body)) return fail(400, 'BadSyntax', 'Request body must be conversation parameters.');
    const channelData = isObject(body.channelData) ? body.channelData : {};
    const channel = isObject(channelData.channel) ? str(channelData.channel.id) : undefined;
    const tenantId = str(body.tenantId) ?? (isObject(channelData.tenant) ? str(channelData.tenant.id) : undefined);
    const members = Array.isArray(body.members) ? body.members.filter(isObject) : [];
    const activity =
      body.activity === undefined || body.activity === null
        ? undefined
        : checkActivity(Buffer.from(JSON.stringify(body.activity)), body.activity);
    if (channel) {
      // Teams: a new thread (root post) in a channel.
      if (body.isGroup !== true)
        return fail(400, 'BadArgument', 'isGroup must be true to create a conversation in a channel.');
      if (!activity) return fail(400, 'BadArgument', 'An activity is required to create a conversation in a channel.');
      if (options.knownConversationsOnly && !convs.has(channel))
        return fail(404, 'ConversationNotFound', 'Conversation not found.');
      const activityId = nextActivityId();
      const id = `${channel};messageid=${activityId}`;
      const c = ensureConversation(id, 'createConversation');
      c.channelId = channel;
      if (tenantId) c.tenantId = tenantId;
      record(id, activityId, activity, 'create');
      return [201, { id, activityId }];
    }
    if (body.isGroup !== true && members.length === 1) {
      // Teams: the 1:1 chat with a user; the same user always gets the same conversation id.
      const member = members[0] as Json;
      const memberId = str(member.id);
      if (!memberId) return fail(400, 'BadArgument', 'Member id is required.');
      const key = `${tenantId ?? ''}|${memberId}`;
      let id = personalIds.get(key);
      if (!id) personalIds.set(key, (id = `a:1${randomBytes(36).toString('base64url')}`));
      const c = ensureConversation(id, 'createConversation');
      c.isGroup = false;
      if (tenantId) c.tenantId = tenantId;
      if (!c.members.some((m) => m.id === memberId))
        c.members.push({ id: memberId, ...(str(member.name) ? { name: str(member.name) } : {}) });
      if (activity) {
        const a = record(id, nextActivityId(), activity, 'create');
        return [201, { id, activityId: a.id }];
      }
      return [201, { id }];
    }
    return fail(
      400,
      'BadArgument',
      'Incorrect conversation creation parameters: bots can create channel threads and 1:1 chats only.',
    );
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const rawPath = req.url ?? '/';
      const url = new URL(rawPath, 'http://fake');
      const segs = url.pathname
        .split('/')
        .filter(Boolean)
        .map((s) => {
          try {
            return decodeURIComponent(s);
          } catch {
            return s;
          }
        });
      const raw = await readBody(req);
      let body: unknown;
      let badJson = false;
      if (raw.length) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          badJson = true;
        }
      }
      const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
      const rec: RecordedRequest = {
        method,
        path: rawPath,
        decodedPath: '/' + segs.join('/'),
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        authorization,
        body: badJson ? raw.toString('utf8') : body,
        status: 0,
        at: Date.now(),
      };
      requests.push(rec);

      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        rec.status = status;
        const text = payload === undefined ? '' : JSON.stringify(payload);
        res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
        res.end(text);
      };

      if (options.requireAuth) {
        const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
        if (!m || (options.token !== undefined && m[1] !== options.token)) {
          return send(401, { message: 'Authorization has been denied for this request.' });
        }
      }

      const failure = failures.find(
        (f) =>
          f.left > 0 &&
          (!f.method || f.method.toUpperCase() === method) &&
          (f.path === undefined ||
            (typeof f.path === 'string'
              ? f.path === rec.decodedPath || f.path === url.pathname
              : f.path.test(rec.decodedPath))),
      );
      if (failure) {
        failure.left--;
        failures = failures.filter((f) => f.left > 0);
        const headers = { ...(failure.status === 429 ? { 'Retry-After': '1' } : {}), ...failure.headers };
        return send(failure.status, failure.body ?? errorBody(failure.status), headers);
      }

      const r = route(method, segs);
      if (!r) return send(404, errorBody(404, 'NotFound', `No route for ${method} ${rec.decodedPath}`));
      if (badJson) return send(400, errorBody(400, 'BadSyntax', 'Request body is not valid JSON.'));
      try {
        const [status, payload] = handle(method, r, raw, body);
        return send(status, payload);
      } catch (err) {
        if (err instanceof ConnectorError) return send(err.status, errorBody(err.status, err.code, err.message));
        return send(500, errorBody(500, 'ServiceError', err instanceof Error ? err.message : String(err)));
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(errorBody(500, 'ServiceError', String(err))));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    activities,
    requests,
    conversations: () => [...convs.values()],
    conversation: (id) => convs.get(id),
    messagesIn: (conversationId) =>
      (activities.get(conversationId) ?? []).filter((a) => a.type === 'message' && !a.deleted),
    activity: (activityId) => byId.get(activityId),
    addMember(conversationId, member) {
      const c = ensureConversation(conversationId, 'seed');
      c.members = [...c.members.filter((m) => m.id !== member.id), { ...member }];
    },
    addConversation(id, init = {}) {
      const c = ensureConversation(id, 'seed');
      if (init.isGroup !== undefined) c.isGroup = init.isGroup;
      if (init.tenantId) c.tenantId = init.tenantId;
      for (const m of init.members ?? []) c.members = [...c.members.filter((x) => x.id !== m.id), { ...m }];
    },
    failNext(spec) {
      failures.push({ ...spec, left: spec.times ?? 1 });
    },
    clearFailures() {
      failures = [];
    },
    reset() {
      requests.length = 0;
      activities.clear();
      byId.clear();
      convs.clear();
      personalIds.clear();
      failures = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** The recorded fields of an activity body. */
function fieldsOf(activity: Json) {
  const account = (v: unknown) => (isObject(v) ? { id: str(v.id), name: str(v.name) } : undefined);
  return {
    type: str(activity.type) ?? '',
    text: str(activity.text),
    textFormat: str(activity.textFormat),
    summary: str(activity.summary),
    attachments: (Array.isArray(activity.attachments) ? activity.attachments.filter(isObject) : []).map((a) => ({
      ...a,
      contentType: str(a.contentType) ?? '',
    })) as FakeActivity['attachments'],
    entities: Array.isArray(activity.entities) ? activity.entities.filter(isObject) : [],
    channelData: activity.channelData,
    value: activity.value,
    from: account(activity.from),
    recipient: account(activity.recipient),
  };
}

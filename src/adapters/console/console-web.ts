// The web console: a chat-like page on GET / driving the same router as Slack and Teams, as another
// adapter over the same database. Rooms and messages are the console ChatPort's (in the database); live
// updates arrive by server-sent events. The page is plain HTML, CSS and JavaScript in web/console/
// (no build step, no external references).
//
// Who acts (see README, "Console security"):
// - local mode (no Slack, Teams or sign-in credentials): whoever reaches it on loopback, under the
//   name typed into "You are", a trial name that matches only console: entries (platform `console`);
// - sign-in (FIRELANE_OIDC_*): the person an OpenID Connect sign-in proved (platform `oidc`, acting as
//   that person everywhere); anyone else, signed out or matching no person, reads only;
// - otherwise (chat credentials, no sign-in): read-only for everyone.
// Every route checks Host, and every POST that it comes from the console's own page (console-guard.ts).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Actor, Platform } from '../../commands/command.js';
import type { Router } from '../../commands/router.js';
import { cleanStrings } from '../../domain/clean-text.js';
import type { People } from '../../domain/identity.js';
import type { RouteHandler } from '../http/server.js';
import type { ConsoleChat } from './console-chat.js';
import { createConsoleAuth, type ConsoleAuth } from './console-auth.js';
import { createConsoleGuard, SESSION_SCOPE } from './console-guard.js';
import type { SessionStore } from './session-store.js';

const WEB = new URL('../../../web/console/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const MAX_BODY = 16 * 1024;
const SECURITY = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

export interface ConsoleWebOptions {
  router: Router;
  console: ConsoleChat;
  logger: Logger;
  /** People the user switcher offers in local mode (config approvers and responders, plus a few defaults). */
  users: string[];
  /** Shown in every page when deploys go to the built-in simulated cluster. */
  simulated?: { describe(): unknown; setHealthy(namespace: string, deployment: string, healthy: boolean): void };
  /** Local mode: anyone on loopback acts under a typed trial name. Otherwise acting needs sign-in. */
  local: boolean;
  /** Where people reach firelane (FIRELANE_PUBLIC_URL or its default): the console answers at its host too. */
  publicUrl: URL;
  /**
   * Console sign-in (FIRELANE_OIDC_*); outside local mode without it, the console is read-only.
   * Sessions are kept in `sessions` (the database, which every replica shares).
   */
  signIn?: { issuer: string; clientId: string; clientSecret: string; people: People; sessions: SessionStore };
  now?: () => number;
}

export interface ConsoleWeb {
  routes: Record<string, RouteHandler>;
  /** The console chat's change hook: tells every open page that a room changed (undefined: any room may have). */
  notify(roomId: string | undefined): void;
  close(): void;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY })
    .end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    // Every string without the control characters firelane never stores.
    const value = cleanStrings(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A console user name: what people type as @name, so the same rules apply. */
const USER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const PICK_USER = 'Pick who you are: a name of letters, digits, ".", "_" or "-"';
const NO_ROOM =
  'No room of that name: run commands in one of the rooms the console lists (its own, and the war rooms firelane opens). Nothing was run.';

/** Who is looking at the console, and whether they may act. */
interface Viewer {
  /** What the page's token is bound to: the local console, a session, or nobody in particular. */
  scope: string;
  /** The actor and platform a signed-in person acts as; local mode takes the typed name instead. */
  actor?: Actor;
  canAct: boolean;
  why?: string;
  /** What the page is told about it (GET /api/console/state `you`). */
  you: Record<string, unknown>;
}

const READ_ONLY =
  'This console is read-only: firelane has chat credentials, and acting here needs console sign-in, which is not set up (FIRELANE_OIDC_ISSUER).';
const SIGN_IN = 'Sign in to act in this console; until then you can read it.';

export function createConsoleWeb(options: ConsoleWebOptions): ConsoleWeb {
  const { router, logger } = options;
  const streams = new Set<ServerResponse>();
  const assets = Object.fromEntries(
    Object.entries(ASSETS).map(([path, a]) => [path, { ...a, body: readFileSync(new URL(a.file, WEB)) }]),
  );
  const guard = createConsoleGuard({ publicUrl: options.publicUrl });
  const mode = options.local ? 'local' : options.signIn ? 'sign-in' : 'read-only';
  const auth: ConsoleAuth | undefined =
    !options.local && options.signIn
      ? createConsoleAuth({
          ...options.signIn,
          publicUrl: options.publicUrl,
          guard,
          logger,
          ...(options.now && { now: options.now }),
        })
      : undefined;
  if (mode === 'read-only')
    logger.warn(`console: read-only (chat credentials are set and FIRELANE_OIDC_ISSUER is not: nobody can act in it)`);
  if (mode === 'sign-in') logger.info(`console: acting needs sign-in with ${new URL(options.signIn!.issuer).origin}`);

  const viewerOf = async (req: IncomingMessage): Promise<Viewer> => {
    if (mode === 'local') return { scope: 'local', canAct: true, you: { trial: true, canAct: true } };
    if (!auth) return { scope: 'anon', canAct: false, why: READ_ONLY, you: { canAct: false, why: READ_ONLY } };
    const session = await auth.sessionOf(req);
    if (!session)
      return {
        scope: 'anon',
        canAct: false,
        why: SIGN_IN,
        you: { signedIn: false, canAct: false, why: SIGN_IN, signIn: '/auth/login' },
      };
    const scope = `${SESSION_SCOPE}${session.id}`;
    const signedIn = { signedIn: true, name: session.name, signOut: '/auth/logout' };
    if (session.person === undefined || session.actorId === undefined)
      return { scope, canAct: false, why: session.why!, you: { ...signedIn, canAct: false, why: session.why } };
    return {
      scope,
      canAct: true,
      actor: { id: session.actorId, name: session.actorId, person: session.person },
      you: { ...signedIn, person: session.person, as: session.actorId, canAct: true },
    };
  };

  /** A 403 with a plain sentence; nothing was read or changed. */
  const refuse = (req: IncomingMessage, res: ServerResponse, problem: string) => {
    logger.warn({ method: req.method, path: (req.url ?? '').split('?')[0], problem }, 'console request refused');
    req.resume();
    res
      .writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...SECURITY })
      .end(`Refused: ${problem.replace(/\.$/, '')}.\n`);
  };

  /** Every console route answers only at the console's own address. */
  const atOwnHost =
    (handler: RouteHandler): RouteHandler =>
    (req, res) => {
      const problem = guard.hostProblem(req);
      if (problem) return refuse(req, res, problem);
      return handler(req, res);
    };

  /** A state-changing route: from the console's own page, by someone who may act. */
  const acting =
    (handler: (req: IncomingMessage, res: ServerResponse, viewer: Viewer) => void | Promise<void>): RouteHandler =>
    async (req, res) => {
      const viewer = await viewerOf(req);
      const problem = guard.writeProblem(req, viewer.scope) ?? (viewer.canAct ? undefined : viewer.why);
      if (problem) return refuse(req, res, problem);
      return handler(req, res, viewer);
    };

  const send = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  /** The rooms as pages show them. */
  const roomList = async () =>
    (await options.console.rooms()).map((r) => ({ id: r.id, name: r.name, topic: r.topic ?? null }));
  let notified: Promise<void> = Promise.resolve();
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': ping\n\n');
  }, 15_000);
  heartbeat.unref();

  const routes: Record<string, RouteHandler> = {};
  for (const [path, asset] of Object.entries(assets)) {
    routes[`GET ${path}`] = (_req, res) => {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY }).end(asset.body);
    };
  }

  // The page's bootstrap: rooms, who is looking, and the token its commands must carry (another
  // origin cannot read this response: no CORS, and the Host check stops DNS rebinding).
  routes['GET /api/console/state'] = async (req, res) => {
    const viewer = await viewerOf(req);
    const rooms = await roomList();
    json(res, 200, {
      mode,
      you: viewer.you,
      token: guard.issueToken(viewer.scope),
      users: mode === 'local' ? options.users : [],
      commands: router.names,
      rooms,
      simulated: options.simulated ? options.simulated.describe() : null,
    });
  };

  // Private answers come along for whoever is looking: in local mode the trial name the page asks as
  // (?user=, trusted there as it is for running commands), else the signed-in person only.
  routes['GET /api/console/messages'] = async (req, res) => {
    const query = new URL(req.url ?? '/', 'http://console').searchParams;
    const room = query.get('room') ?? '';
    const viewer = await viewerOf(req);
    const user = mode === 'local' ? (query.get('user') ?? undefined) : viewer.actor?.id;
    const known = (await options.console.rooms()).some((r) => r.id === room);
    if (!known) return json(res, 404, { error: `no room ${room}` });
    if (user !== undefined && !USER.test(user)) return json(res, 400, { error: PICK_USER });
    json(res, 200, { room, messages: await options.console.messages(room, user) });
  };

  routes['POST /api/console/command'] = acting(async (req, res, viewer) => {
    const body = await readJson(req);
    const text = typeof body?.text === 'string' ? body.text.trim() : '';
    const typed = typeof body?.user === 'string' ? body.user.trim() : '';
    const room = typeof body?.room === 'string' && body.room ? body.room : undefined;
    const key = typeof body?.key === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(body.key) ? body.key : randomUUID();
    if (!text) return json(res, 400, { error: 'Type a command, e.g. /incident sev1 Payment gateway down' });
    // Local mode: the typed name, a trial identity (platform console). Signed in: the person (platform oidc).
    const actor: Actor = viewer.actor ?? { id: typed, name: typed };
    const platform: Platform = viewer.actor ? 'oidc' : 'console';
    if (!USER.test(actor.id)) return json(res, 400, { error: PICK_USER });
    // Only the rooms the page lists: a command answered in any other would open it.
    if (room !== undefined && !(await options.console.isRoom(room))) return json(res, 400, { error: NO_ROOM });
    const user = actor.id;
    const result = await router.handle({
      text,
      actor,
      platform,
      ...(room && { roomId: room }),
      idempotencyKey: `console:${key}`,
    });
    // What Slack would show everyone in the channel is posted in the room, with the line typed;
    // anything else (a private answer, a refusal) is kept in the room for this user only.
    if (room && result.reply.visibility === 'channel' && result.outcome === 'ok') {
      await options.console.say(room, user, text);
      await options.console.chat.post(room, result.reply);
    } else if (room) {
      await options.console.tell(room, user, result.reply);
    }
    json(res, 200, { outcome: result.outcome, reply: result.reply });
  });

  routes['GET /api/console/events'] = (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      ...SECURITY,
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  };

  if (options.simulated) {
    const sim = options.simulated;
    routes['POST /api/console/simulated/health'] = acting(async (req, res) => {
      const body = await readJson(req);
      if (
        typeof body?.namespace !== 'string' ||
        typeof body.deployment !== 'string' ||
        typeof body.healthy !== 'boolean'
      ) {
        return json(res, 400, { error: 'send { namespace, deployment, healthy }' });
      }
      sim.setHealthy(body.namespace, body.deployment, body.healthy);
      logger.info(
        { deployment: `${body.namespace}/${body.deployment}`, healthy: body.healthy },
        'simulated cluster health flipped from the console',
      );
      send('cluster', sim.describe());
      json(res, 200, sim.describe());
    });
  }
  if (auth) Object.assign(routes, auth.routes);
  for (const [key, handler] of Object.entries(routes)) routes[key] = atOwnHost(handler);

  return {
    routes,
    notify(roomId) {
      // One after another, so that pages get the room lists in the order the changes were made.
      notified = notified
        .then(async () => {
          const rooms = await roomList();
          send('room', {
            room: roomId ?? null,
            rooms,
            ...(options.simulated && { cluster: options.simulated.describe() }),
          });
        })
        .catch((error: unknown) =>
          logger.error({ err: error, room: roomId }, 'console: could not tell pages of a change'),
        );
    },
    close() {
      clearInterval(heartbeat);
      for (const stream of streams) stream.end();
      streams.clear();
    },
  };
}

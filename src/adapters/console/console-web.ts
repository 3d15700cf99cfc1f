// The local web console: a chat-like page on GET / driving the same router as Slack and Teams, as
// another adapter over the same database. Rooms and messages are the console ChatPort's (SQLite);
// commands run as the user picked in the page; live updates arrive by server-sent events. The page
// is plain HTML, CSS and JavaScript in web/console/ (no build step, no external references).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Router } from '../../commands/router.js';
import type { RouteHandler } from '../http/server.js';
import type { ConsoleChat } from './console-chat.js';

const WEB = new URL('../../../web/console/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const MAX_BODY = 16 * 1024;
const SECURITY = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export interface ConsoleWebOptions {
  router: Router;
  console: ConsoleChat;
  logger: Logger;
  /** People the user switcher offers (config approvers and responders, plus a few defaults). */
  users: string[];
  /** Shown in every page when deploys go to the built-in simulated cluster. */
  simulated?: { describe(): unknown; setHealthy(namespace: string, deployment: string, healthy: boolean): void };
}

export interface ConsoleWeb {
  routes: Record<string, RouteHandler>;
  /** The console chat's change hook: tells every open page that a room changed. */
  notify(roomId: string): void;
  close(): void;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY }).end(JSON.stringify(body));
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
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A console user name: what people type as @name, so the same rules apply. */
const USER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const PICK_USER = 'Pick who you are: a name of letters, digits, ".", "_" or "-"';

export function createConsoleWeb(options: ConsoleWebOptions): ConsoleWeb {
  const { router, logger } = options;
  const streams = new Set<ServerResponse>();
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([path, a]) => [path, { ...a, body: readFileSync(new URL(a.file, WEB)) }]));

  const send = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
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

  routes['GET /api/console/state'] = (_req, res) => {
    json(res, 200, {
      users: options.users,
      commands: router.names,
      rooms: options.console.rooms().map((r) => ({ id: r.id, name: r.name, topic: r.topic ?? null })),
      simulated: options.simulated ? options.simulated.describe() : null,
    });
  };

  // With ?user=, that user's private answers come along, in place: the page asks as whoever it acts as
  // (the console has no sign-in; it trusts the name, as it does for running commands).
  routes['GET /api/console/messages'] = (req, res) => {
    const query = new URL(req.url ?? '/', 'http://console').searchParams;
    const room = query.get('room') ?? '';
    const user = query.get('user') ?? undefined;
    const known = options.console.rooms().some((r) => r.id === room);
    if (!known) return json(res, 404, { error: `no room ${room}` });
    if (user !== undefined && !USER.test(user)) return json(res, 400, { error: PICK_USER });
    json(res, 200, { room, messages: options.console.messages(room, user) });
  };

  routes['POST /api/console/command'] = async (req, res) => {
    const body = await readJson(req);
    const text = typeof body?.text === 'string' ? body.text.trim() : '';
    const user = typeof body?.user === 'string' ? body.user.trim() : '';
    const room = typeof body?.room === 'string' && body.room ? body.room : undefined;
    const key = typeof body?.key === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(body.key) ? body.key : randomUUID();
    if (!text) return json(res, 400, { error: 'Type a command, e.g. /incident sev1 Payment gateway down' });
    if (!USER.test(user)) return json(res, 400, { error: PICK_USER });
    const result = await router.handle({ text, actor: { id: user, name: user }, platform: 'console', ...(room && { roomId: room }), idempotencyKey: `console:${key}` });
    // What Slack would show everyone in the channel is posted in the room, with the line typed;
    // anything else (a private answer, a refusal) is kept in the room for this user only.
    if (room && result.reply.visibility === 'channel' && result.outcome === 'ok') {
      options.console.say(room, user, text);
      await options.console.chat.post(room, result.reply);
    } else if (room) {
      options.console.tell(room, user, result.reply);
    }
    json(res, 200, { outcome: result.outcome, reply: result.reply });
  };

  routes['GET /api/console/events'] = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  };

  if (options.simulated) {
    const sim = options.simulated;
    routes['POST /api/console/simulated/health'] = async (req, res) => {
      const body = await readJson(req);
      if (typeof body?.namespace !== 'string' || typeof body.deployment !== 'string' || typeof body.healthy !== 'boolean') {
        return json(res, 400, { error: 'send { namespace, deployment, healthy }' });
      }
      sim.setHealthy(body.namespace, body.deployment, body.healthy);
      logger.info({ deployment: `${body.namespace}/${body.deployment}`, healthy: body.healthy }, 'simulated cluster health flipped from the console');
      send('cluster', sim.describe());
      json(res, 200, sim.describe());
    };
  }

  return {
    routes,
    notify(roomId) {
      send('room', { room: roomId, rooms: options.console.rooms().map((r) => ({ id: r.id, name: r.name, topic: r.topic ?? null })), ...(options.simulated && { cluster: options.simulated.describe() }) });
    },
    close() {
      clearInterval(heartbeat);
      for (const stream of streams) stream.end();
      streams.clear();
    },
  };
}

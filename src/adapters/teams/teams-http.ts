// POST /api/messages, before any command runs: the emulator gate, the body, the Bot Framework token
// (when an app id is set), the tenant (when one is set) and the service URL, then the SDK's turn.
// Every refusal is a plain-text status with no internal detail; why is logged (without stacks).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudAdapter, TurnContext } from '@microsoft/agents-hosting';
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { cleanStrings } from '../../domain/clean-text.js';
import { TokenRefused, type BotTokenVerifier } from './bot-token.js';
import type { ServiceUrlPolicy } from './service-urls.js';
import { refusedWithoutAppId } from './teams-path.js';

const MAX_BODY = 512 * 1024;

export interface TeamsHandlerOptions {
  adapter: CloudAdapter;
  /** Set with an app id: every activity's token is checked. Without one, loopback only (emulator). */
  verify?: BotTokenVerifier;
  /** MICROSOFT_APP_TENANT_ID: activities from other tenants are refused. */
  tenantId?: string;
  policy: ServiceUrlPolicy;
  logger: Logger;
  onTurn: (context: TurnContext) => Promise<void>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The tenant an activity comes from: Teams puts it in channelData and in the conversation. */
function tenantOf(activity: Json): string[] {
  const channelData = isObject(activity.channelData) ? activity.channelData : {};
  const fromChannelData = isObject(channelData.tenant) ? channelData.tenant.id : undefined;
  const fromConversation = isObject(activity.conversation) ? activity.conversation.tenantId : undefined;
  return [fromChannelData, fromConversation]
    .filter((t): t is string => typeof t === 'string')
    .map((t) => t.toLowerCase());
}

/** The Bot Framework reads '' as absent; the SDK's schema refuses it (a conversation with `name: ''`). */
function withoutEmptyStrings(activity: Json): Json {
  const strip = (o: Json) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ''));
  const out = strip(activity);
  for (const key of ['from', 'recipient', 'conversation']) if (isObject(out[key])) out[key] = strip(out[key]);
  return out;
}

function plain(res: ServerResponse, status: number, text: string): void {
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  if (!res.writableEnded) res.end(`${text}\n`);
}

/** The SDK writes its answer (200, or an invoke's body) through this; nothing else reaches the socket. */
function webResponse(res: ServerResponse) {
  let status = 200;
  let payload: unknown;
  const headers: Record<string, string> = {};
  return {
    get headersSent() {
      return res.headersSent;
    },
    get writableEnded() {
      return res.writableEnded;
    },
    status(code: number) {
      status = code;
      return this;
    },
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
      return this;
    },
    send(body?: unknown) {
      payload = body;
      return this;
    },
    end() {
      if (res.writableEnded) return this;
      const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
      if (payload !== undefined && typeof payload !== 'string') headers['content-type'] ??= 'application/json';
      res.writeHead(status, headers).end(text);
      return this;
    },
  };
}

function readJson(req: IncomingMessage): Promise<{ body?: unknown; status?: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve({ status: 413 });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        // Every string without the control characters firelane never stores (the token signs no body).
        resolve({ body: cleanStrings(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) });
      } catch {
        resolve({ status: 400 });
      }
    });
    req.on('error', () => resolve({ status: 400 }));
  });
}

export function createTeamsHandler(
  options: TeamsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { adapter, verify, policy, logger } = options;
  const tenant = options.tenantId?.toLowerCase();

  return async (req, res) => {
    if (!verify && refusedWithoutAppId(req, res, logger)) return;
    const { body, status } = await readJson(req);
    if (status === 413) return plain(res, 413, 'request body too large');
    if (!isObject(body) || typeof body.type !== 'string' || !isObject(body.conversation))
      return plain(res, 400, 'the body is not a Bot Framework activity');
    let claims: JWTPayload = {};
    if (verify) {
      try {
        claims = await verify(req.headers.authorization, {
          channelId: typeof body.channelId === 'string' ? body.channelId : undefined,
          serviceUrl: typeof body.serviceUrl === 'string' ? body.serviceUrl : undefined,
        });
      } catch (error) {
        logger.warn(
          { reason: error instanceof TokenRefused ? error.reason : String(error), type: body.type },
          'refused Teams request: bad token',
        );
        return plain(res, 401, 'unauthorized');
      }
    }
    if (tenant) {
      const tenants = tenantOf(body);
      if (tenants.length === 0 || tenants.some((t) => t !== tenant)) {
        logger.warn(
          { tenants, type: body.type },
          'refused Teams request: activity from another tenant (MICROSOFT_APP_TENANT_ID)',
        );
        return plain(res, 403, 'this bot serves one tenant only');
      }
    }
    const serviceUrl = typeof body.serviceUrl === 'string' ? body.serviceUrl : undefined;
    if (!policy.isAllowed(serviceUrl)) {
      logger.warn(
        { serviceUrl: serviceUrl?.slice(0, 200) },
        'refused Teams request: its serviceUrl is not a Bot Framework address',
      );
      return plain(res, 403, 'serviceUrl is not a Bot Framework address');
    }
    const request = {
      body: withoutEmptyStrings(body),
      headers: req.headers as Record<string, string | string[] | undefined>,
      method: req.method ?? 'POST',
      user: claims,
    };
    try {
      await adapter.process(request, webResponse(res), options.onTurn);
    } catch (error) {
      // The SDK validates the activity itself (zod): a malformed one is the caller's fault, not ours.
      const invalid = (error as { name?: string })?.name === 'ZodError';
      logger[invalid ? 'warn' : 'error'](
        { err: invalid ? undefined : error, type: body.type },
        invalid ? 'refused Teams request: malformed activity' : 'Teams request failed',
      );
      return plain(res, invalid ? 400 : 500, invalid ? 'the body is not a Bot Framework activity' : 'internal error');
    }
  };
}

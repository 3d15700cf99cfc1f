// POST /alerts/alertmanager and POST /alerts/grafana: authenticate, validate and store the delivery
// (its job row, keyed by the delivery's idempotency key) and answer at once; jobs/alert-jobs.ts does
// the work.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { deliveryIdentity, type AlertDelivery } from '../../domain/alert.js';
import { ALERT_DELIVERY } from '../../ports/jobs.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { RouteHandler } from '../http/server.js';
import { parseAlertmanagerPayload } from './alertmanager-payload.js';
import { parseGrafanaPayload } from './grafana-payload.js';

export const ALERTMANAGER_PATH = '/alerts/alertmanager';
export const GRAFANA_PATH = '/alerts/grafana';
/** Grafana's default signature header (its contact point's HMAC "Header" setting left empty). */
export const GRAFANA_SIGNATURE_HEADER = 'x-grafana-alerting-signature';
/**
 * The timestamp header firelane reads. Grafana has no default for it: the contact point's HMAC
 * "Timestamp header" setting names it, and when set Grafana signs `<unix seconds>:<body>`.
 */
export const GRAFANA_TIMESTAMP_HEADER = 'x-grafana-alerting-timestamp';
/** How far a signed timestamp may be from now, either way. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;
/** Alertmanager's bodies are small; a few thousand alerts with long annotations stay under this. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface AlertWebhookOptions {
  store: Store;
  logger: Logger;
  /** FIRELANE_ALERTS_TOKEN and FIRELANE_ALERTS_HMAC_SECRET; with neither, no route is mounted (404). */
  auth: { token?: string; hmacSecret?: string } | undefined;
  /** For the signed timestamp's window. */
  clock: Clock;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The delivery's idempotency key (its job's key): a hash of what makes two deliveries the same. */
export const deliveryKey = (d: AlertDelivery): string =>
  `alert:${d.source}:${createHash('sha256').update(deliveryIdentity(d)).digest('hex')}`;

/** Constant time in the token's content: both sides are hashed to the same length first. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer +(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Why Grafana's HMAC-SHA256 signature of `body` does not hold, or undefined when it does: hex in the
 * signature header, over `<timestamp>:<body>` when the timestamp header is sent (then at most
 * SIGNATURE_WINDOW_MS from now), else over the body. Compared in constant time.
 */
function signatureProblem(req: IncomingMessage, body: Buffer, secret: string, now: number): string | undefined {
  const given = header(req, GRAFANA_SIGNATURE_HEADER)?.trim().toLowerCase() ?? '';
  const timestamp = header(req, GRAFANA_TIMESTAMP_HEADER)?.trim();
  const mac = createHmac('sha256', secret);
  if (timestamp !== undefined) {
    if (!/^\d{1,12}$/.test(timestamp)) return 'the timestamp is not Unix seconds';
    if (Math.abs(now - Number(timestamp) * 1000) > SIGNATURE_WINDOW_MS) return 'the timestamp is over 5 minutes off';
    mac.update(`${timestamp}:`);
  }
  const expected = mac.update(body).digest('hex');
  return timingSafeEqual(digest(given), digest(expected)) ? undefined : 'the signature does not match';
}

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`${body}\n`);
}

/** The body, or undefined when it is over the limit (the rest is drained so the answer arrives). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) over = true;
    if (!over) chunks.push(chunk);
  }
  return over ? undefined : Buffer.concat(chunks);
}

type Parsed = { delivery: AlertDelivery } | { problem: string };

export function createAlertRoutes(options: AlertWebhookOptions): Record<string, RouteHandler> {
  const { auth, store, logger, clock } = options;
  if (!auth || (auth.token === undefined && auth.hmacSecret === undefined)) return {};
  const log = logger.child({ component: 'alerts' });

  /** Parses and stores an authenticated body; `body` undefined: over the limit. */
  async function accept(res: ServerResponse, body: Buffer | undefined, parse: (json: unknown) => Parsed) {
    if (!body) return answer(res, 413, `bad request: the body is over ${MAX_BODY_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(res, 400, 'bad request: the body is not JSON');
    }
    const parsed = parse(json);
    if ('problem' in parsed) return answer(res, 400, `bad request: ${parsed.problem}`);
    const key = deliveryKey(parsed.delivery);
    // The job row is the stored delivery: its key is the idempotency key, so a duplicate adds nothing.
    // A store error is the only 5xx (the server answers 500), and then nothing was stored.
    const added = await store.transaction(() =>
      store.jobs.enqueue({ kind: ALERT_DELIVERY, key, payload: { delivery: parsed.delivery } }),
    );
    log.info(
      {
        source: parsed.delivery.source,
        receiver: parsed.delivery.receiver,
        status: parsed.delivery.status,
        alerts: parsed.delivery.alerts.length,
        duplicate: !added,
      },
      added ? 'alert delivery stored' : 'alert delivery already stored',
    );
    return added ? answer(res, 202, 'accepted') : answer(res, 200, 'already received');
  }

  const alertmanager: RouteHandler = async (req, res) => {
    // Alertmanager cannot sign: with only the HMAC secret (Grafana's) set, no Alertmanager request is authentic.
    if (auth.token === undefined || !bearerMatches(req.headers.authorization, auth.token)) {
      req.resume();
      return answer(res, 401, 'unauthorized: send Authorization: Bearer <FIRELANE_ALERTS_TOKEN>');
    }
    return accept(res, await readBody(req, MAX_BODY_BYTES), parseAlertmanagerPayload);
  };

  // Grafana: either the bearer token or a valid signature (when the HMAC secret is set) suffices.
  const grafana: RouteHandler = async (req, res) => {
    if (auth.token !== undefined && bearerMatches(req.headers.authorization, auth.token))
      return accept(res, await readBody(req, MAX_BODY_BYTES), parseGrafanaPayload);
    const refuse = (why: string) => {
      log.warn({ reason: why }, 'grafana alert delivery refused');
      return answer(res, 401, `unauthorized: ${why}`);
    };
    const ways = [
      auth.token !== undefined && 'Authorization: Bearer <FIRELANE_ALERTS_TOKEN>',
      auth.hmacSecret !== undefined && `${GRAFANA_SIGNATURE_HEADER} (HMAC-SHA256 with FIRELANE_ALERTS_HMAC_SECRET)`,
    ].filter(Boolean);
    if (auth.hmacSecret === undefined || header(req, GRAFANA_SIGNATURE_HEADER) === undefined) {
      req.resume();
      return refuse(`send ${ways.join(' or ')}`);
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (!body) return answer(res, 413, `bad request: the body is over ${MAX_BODY_BYTES} bytes`);
    const problem = signatureProblem(req, body, auth.hmacSecret, clock.now());
    if (problem) return refuse(problem);
    return accept(res, body, parseGrafanaPayload);
  };

  return { [`POST ${ALERTMANAGER_PATH}`]: alertmanager, [`POST ${GRAFANA_PATH}`]: grafana };
}

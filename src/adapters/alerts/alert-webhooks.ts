// POST /alerts/alertmanager: authenticates, validates and stores the delivery (its job row, keyed by
// the delivery's idempotency key) and answers at once; jobs/alert-jobs.ts does the work.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { deliveryIdentity, type AlertDelivery } from '../../domain/alert.js';
import { ALERT_DELIVERY } from '../../ports/jobs.js';
import type { Store } from '../../ports/store.js';
import type { RouteHandler } from '../http/server.js';
import { parseAlertmanagerPayload } from './alertmanager-payload.js';

export const ALERTMANAGER_PATH = '/alerts/alertmanager';
/** Alertmanager's bodies are small; a few thousand alerts with long annotations stay under this. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface AlertWebhookOptions {
  store: Store;
  logger: Logger;
  /** FIRELANE_ALERTS_TOKEN and FIRELANE_ALERTS_HMAC_SECRET; with neither, no route is mounted (404). */
  auth: { token?: string; hmacSecret?: string } | undefined;
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

export function createAlertRoutes(options: AlertWebhookOptions): Record<string, RouteHandler> {
  const { auth, store, logger } = options;
  if (!auth || (auth.token === undefined && auth.hmacSecret === undefined)) return {};
  const log = logger.child({ component: 'alerts' });

  const alertmanager: RouteHandler = async (req, res) => {
    // Alertmanager cannot sign: with only the HMAC secret (Grafana's) set, no Alertmanager request is authentic.
    if (auth.token === undefined || !bearerMatches(req.headers.authorization, auth.token)) {
      req.resume();
      return answer(res, 401, 'unauthorized: send Authorization: Bearer <FIRELANE_ALERTS_TOKEN>');
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (!body) return answer(res, 413, `bad request: the body is over ${MAX_BODY_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(res, 400, 'bad request: the body is not JSON');
    }
    const parsed = parseAlertmanagerPayload(json);
    if ('problem' in parsed) return answer(res, 400, `bad request: ${parsed.problem}`);
    const key = deliveryKey(parsed.delivery);
    // The job row is the stored delivery: its key is the idempotency key, so a duplicate adds nothing.
    // A store error is the only 5xx (the server answers 500), and then nothing was stored.
    const added = await store.transaction(() =>
      store.jobs.enqueue({ kind: ALERT_DELIVERY, key, payload: { delivery: parsed.delivery } }),
    );
    log.info(
      {
        receiver: parsed.delivery.receiver,
        status: parsed.delivery.status,
        alerts: parsed.delivery.alerts.length,
        duplicate: !added,
      },
      added ? 'alert delivery stored' : 'alert delivery already stored',
    );
    return added ? answer(res, 202, 'accepted') : answer(res, 200, 'already received');
  };
  return { [`POST ${ALERTMANAGER_PATH}`]: alertmanager };
}

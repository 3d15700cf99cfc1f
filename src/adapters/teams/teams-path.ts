// What the Teams endpoint needs before the SDK is loaded (app.ts loads it only when Teams is used):
// its path, and the gate that keeps the unauthenticated emulator path local.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** Where the Bot Connector posts activities. */
export const TEAMS_PATH = '/api/messages';

const isLoopback = (address: string | undefined) =>
  address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';

/** Headers a reverse proxy adds: a request carrying one came from elsewhere, whatever the socket says. */
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/**
 * Without an app id only the local Bot Framework Emulator is served: a request that is not from
 * loopback, or that a proxy on this machine forwarded, gets a 401. Returns whether it refused.
 */
export function refusedWithoutAppId(req: IncomingMessage, res: ServerResponse, logger: Logger): boolean {
  const proxied = FORWARDED.some((name) => req.headers[name] !== undefined);
  if (isLoopback(req.socket.remoteAddress) && !proxied) return false;
  logger.warn(
    { remote: req.socket.remoteAddress, proxied },
    'refused Teams request: no MICROSOFT_APP_ID is set, so only loopback (emulator) traffic is accepted',
  );
  req.resume();
  res
    .writeHead(401, { 'content-type': 'text/plain' })
    .end('MICROSOFT_APP_ID is not set: only local (loopback) requests are accepted');
  return true;
}

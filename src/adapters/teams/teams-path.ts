// What the Teams endpoint needs before botbuilder is loaded (app.ts loads it only when Teams is used):
// its path, and the gate that keeps it local when no app id is set.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** Where the Bot Connector posts activities. */
export const TEAMS_PATH = '/api/messages';

const isLoopback = (address: string | undefined) => address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';

/** Without an app id only loopback traffic (the Bot Framework Emulator) is served; anything else gets a 401. Returns whether it refused. */
export function refusedWithoutAppId(req: IncomingMessage, res: ServerResponse, logger: Logger): boolean {
  if (isLoopback(req.socket.remoteAddress)) return false;
  logger.warn({ remote: req.socket.remoteAddress }, 'refused Teams request: no MICROSOFT_APP_ID is set, so only loopback (emulator) traffic is accepted');
  req.resume();
  res.writeHead(401, { 'content-type': 'text/plain' }).end('MICROSOFT_APP_ID is not set: only local (loopback) requests are accepted');
  return true;
}

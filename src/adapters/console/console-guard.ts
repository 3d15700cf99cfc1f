// What the console checks before it answers a request, so that only its own page can use it:
// - Host: the console's own address only (127.0.0.1, localhost or [::1] on the port the request came
//   in on, or the public URL's host). A page on another site that makes its own name resolve to
//   127.0.0.1 (DNS rebinding) sends its own name as Host, and is refused.
// - A state-changing request (every POST) also needs: an Origin, when the browser sends one, that is
//   one of the console's own; no Sec-Fetch-Site other than same-origin; the JSON content type (a form
//   or a `text/plain` fetch cannot send it without a CORS preflight, which the console never answers);
//   and the token the page got with its state, in the X-Firelane-Console header (another origin
//   cannot read it). Tokens are an HMAC bound to a scope, so none needs to be stored: the local
//   console's (and a signed-out page's) under a key made at start-up; a signed-in session's under a
//   key derived from the session's secret id, which only its cookie and the request carry, so that
//   every replica that knows the session (they share the database) takes its page's token.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_HEADER = 'x-firelane-console';
/** The scope of a signed-in session: this, then the session's id. */
export const SESSION_SCOPE = 'session:';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export interface ConsoleGuard {
  /** Why the request's Host is not the console's own address, or undefined when it is. */
  hostProblem(req: IncomingMessage): string | undefined;
  /** Why a state-changing request does not come from the console's own page (token bound to `scope`). */
  writeProblem(req: IncomingMessage, scope: string): string | undefined;
  /** A fresh token for a page acting in `scope`. */
  issueToken(scope: string): string;
}

export interface ConsoleGuardOptions {
  /** Where people reach firelane (FIRELANE_PUBLIC_URL, or its default): its host and origin are the console's too. */
  publicUrl?: URL;
}

const b64 = (buffer: Buffer) => buffer.toString('base64url');

export function createConsoleGuard(options: ConsoleGuardOptions = {}): ConsoleGuard {
  const key = randomBytes(32);
  const keyOf = (scope: string) =>
    scope.startsWith(SESSION_SCOPE) ? createHash('sha256').update(`firelane console token\n${scope}`).digest() : key;
  const mac = (scope: string, nonce: string) =>
    createHmac('sha256', keyOf(scope)).update(`${scope}\n${nonce}`).digest();
  const publicHost = options.publicUrl?.host.toLowerCase();
  const publicOrigin = options.publicUrl?.origin.toLowerCase();

  /** The Host values the console answers to, for a request that came in on `port`. */
  const ownHosts = (port: number | undefined): string[] => [
    ...(port ? LOOPBACK_NAMES.flatMap((name) => (port === 80 ? [`${name}:80`, name] : [`${name}:${port}`])) : []),
    ...(publicHost ? [publicHost] : []),
  ];

  const hostProblem = (req: IncomingMessage): string | undefined => {
    const host = (req.headers.host ?? '').trim().toLowerCase();
    if (ownHosts(req.socket.localPort).includes(host)) return undefined;
    return `this console answers only at its own address (127.0.0.1, localhost or the FIRELANE_PUBLIC_URL host), not at "${host.slice(0, 100)}"`;
  };

  const tokenValid = (token: string, scope: string): boolean => {
    const [nonce, sent, extra] = token.split('.');
    if (!nonce || !sent || extra !== undefined || nonce.length > 64) return false;
    const expected = mac(scope, nonce);
    const given = Buffer.from(sent, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  return {
    hostProblem,
    writeProblem(req, scope) {
      const host = hostProblem(req);
      if (host) return host;
      const origin = req.headers.origin;
      if (origin !== undefined) {
        const own = [
          ...ownHosts(req.socket.localPort).map((h) => `http://${h}`),
          ...(publicOrigin ? [publicOrigin] : []),
        ];
        if (!own.includes(origin.toLowerCase()))
          return `a request from another origin (${origin.slice(0, 100)}) cannot act in this console`;
      }
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin')
        return `a ${String(site).slice(0, 20)} request cannot act in this console`;
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') return 'the console takes commands as application/json from its own page';
      const token = req.headers[TOKEN_HEADER];
      if (typeof token !== 'string' || !tokenValid(token, scope))
        return 'the console page’s token is missing or out of date: reload the page';
      return undefined;
    },
    issueToken(scope) {
      const nonce = b64(randomBytes(16));
      return `${nonce}.${b64(mac(scope, nonce))}`;
    },
  };
}

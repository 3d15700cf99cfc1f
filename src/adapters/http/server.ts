// firelane's one HTTP server: probes, metrics, and the platform endpoints mounted by main.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  /** `POST /slack/events` -> handler; keys are `METHOD path`. */
  routes: Record<string, RouteHandler>;
  isReady(): boolean | Promise<boolean>;
  registry: Registry;
  /** Refreshes gauges (queue depth, open incidents) right before a scrape. */
  beforeScrape?(): void | Promise<void>;
  onError?(error: unknown): void;
}

function text(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

export function createHttpServer(options: HttpServerOptions): Server {
  const routes: Record<string, RouteHandler> = {
    'GET /healthz': (_req, res) => text(res, 200, 'ok\n'),
    'GET /readyz': async (_req, res) =>
      (await options.isReady()) ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n'),
    'GET /metrics': async (_req, res) => {
      await options.beforeScrape?.();
      text(res, 200, await options.registry.metrics(), options.registry.contentType);
    },
    ...options.routes,
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes[`${req.method} ${path}`];
    if (!route) {
      const allowed = Object.keys(routes).some((key) => key.endsWith(` ${path}`));
      req.resume();
      return allowed ? text(res, 405, 'method not allowed\n') : text(res, 404, 'not found\n');
    }
    Promise.resolve(route(req, res)).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) text(res, 500, 'internal error\n');
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

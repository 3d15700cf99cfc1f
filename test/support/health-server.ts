// A loopback health endpoint for deploy tests: answers status(n) to its n-th request and counts them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthServer {
  url: string;
  hits(): number;
  close(): Promise<void>;
}

export async function startHealthServer(status: (n: number) => number): Promise<HealthServer> {
  let n = 0;
  const server: Server = createServer((_req, res) => {
    res.statusCode = status(++n);
    res.end(res.statusCode < 300 ? 'ok' : 'not ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`,
    hits: () => n,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

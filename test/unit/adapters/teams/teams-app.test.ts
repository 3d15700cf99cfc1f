// Without MICROSOFT_APP_ID, /api/messages is the local emulator's: anything not from loopback (or forwarded by a
// proxy on this machine) is refused.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/adapters/db/database.js';
import { createSqliteGate } from '../../../../src/adapters/db/sqlite-gate.js';
import { createSqliteTeamsDirectory } from '../../../../src/adapters/db/teams-directory.js';
import { createTeamsApp } from '../../../../src/adapters/teams/teams-app.js';
import type { Router } from '../../../../src/commands/router.js';
import { createManualClock } from '../../../../src/ports/clock.js';

/** A directory in a fresh SQLite database of its own. */
function directory() {
  const handle = openDatabase(':memory:');
  return createSqliteTeamsDirectory(handle, createSqliteGate(handle.sqlite), createManualClock(0));
}

function request(remoteAddress: string, headers: Record<string, string> = {}) {
  const req = Object.assign(new EventEmitter(), {
    socket: { remoteAddress },
    headers,
    method: 'POST',
    resume: () => undefined,
  }) as unknown as IncomingMessage;
  const res = {
    status: 0,
    body: '',
    headersSent: false,
    writableEnded: false,
    writeHead(status: number) {
      this.headersSent = true;
      this.status = status;
      return this;
    },
    end(body?: string) {
      this.body = body ?? '';
      this.writableEnded = true;
    },
  };
  return { req, res };
}

describe('Teams without an app id', () => {
  it('refuses requests that do not come from loopback, and never runs a command for them', async () => {
    let handled = 0;
    const router = {
      names: ['incident'],
      handle: async () => (handled++, { reply: { visibility: 'private', text: '' }, outcome: 'ok', command: 'x' }),
    } as unknown as Router;
    const app = createTeamsApp({
      router,
      directory: directory(),
      logger: pino({ level: 'silent' }),
    });
    const refused = [
      ...['10.0.0.5', '192.168.1.20', '::ffff:10.1.2.3', '2001:db8::1'].map((a) => request(a)),
      request('127.0.0.1', { 'x-forwarded-for': '10.0.0.5' }),
      request('::1', { forwarded: 'for=10.0.0.5' }),
    ];
    for (const { req, res } of refused) {
      await app.handle(req, res as unknown as ServerResponse);
      expect(res.status, JSON.stringify(req.headers)).toBe(401);
      expect(res.body).toMatch(/MICROSOFT_APP_ID is not set: only local \(loopback\) requests are accepted/);
    }
    expect(handled).toBe(0);
    // Loopback goes on to read the body (and would reach the adapter).
    const { req, res } = request('127.0.0.1');
    const handled400 = app.handle(req, res as unknown as ServerResponse);
    req.emit('data', Buffer.from('not json'));
    req.emit('end');
    await handled400;
    expect(res.status).toBe(400);
  });

  it('builds in a container (NODE_ENV=production), where the SDK wants a client id even for the emulator', () => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const router = { names: ['incident'], handle: async () => undefined } as unknown as Router;
      expect(() =>
        createTeamsApp({
          router,
          directory: directory(),
          logger: pino({ level: 'silent' }),
        }),
      ).not.toThrow();
    } finally {
      process.env.NODE_ENV = before;
    }
  });
});

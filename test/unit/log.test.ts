import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

const SECRET = 'xoxb-1234567890-SECRET-abcdef';

/** A logger writing into an array of lines, with its output parsed back. */
function capture(secrets: string[] = [SECRET]) {
  const lines: string[] = [];
  const logger = createLogger('info', secrets, { write: (chunk: string) => void lines.push(chunk) });
  return {
    logger,
    lines,
    output: () => lines.join(''),
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
  };
}

describe('createLogger', () => {
  it('masks a known secret in a message string', () => {
    const { logger, output, entries } = capture();
    logger.info(`calling Slack with token ${SECRET} now`);
    expect(output()).not.toContain(SECRET);
    expect(entries()[0]?.msg).toBe('calling Slack with token [REDACTED] now');
  });

  it('redacts an object field named token, even when the value is not a known secret', () => {
    const { logger, output, entries } = capture();
    logger.info({ token: SECRET, other: { token: 'unknown-token-value' } }, 'auth');
    expect(output()).not.toContain(SECRET);
    expect(output()).not.toContain('unknown-token-value');
    expect(entries()[0]).toMatchObject({ token: '[REDACTED]', other: { token: '[REDACTED]' } });
  });

  it('redacts nested headers.authorization', () => {
    const { logger, output, entries } = capture();
    logger.info(
      { headers: { authorization: `Bearer ${SECRET}` }, req: { headers: { authorization: 'Bearer unknown-value' } } },
      'request',
    );
    expect(output()).not.toContain(SECRET);
    expect(output()).not.toContain('unknown-value');
    expect(entries()[0]).toMatchObject({
      headers: { authorization: '[REDACTED]' },
      req: { headers: { authorization: '[REDACTED]' } },
    });
  });

  it('masks a secret inside an Error message and its stack', () => {
    const { logger, output, entries } = capture();
    logger.error({ err: new Error(`invalid_auth for ${SECRET}`) }, 'Slack call failed');
    logger.error(new Error(`second ${SECRET}`));
    expect(output()).not.toContain(SECRET);
    const [first, second] = entries();
    expect(first?.err?.message).toBe('invalid_auth for [REDACTED]');
    expect(first?.err?.stack).toContain('[REDACTED]');
    expect(second?.msg).toBe('second [REDACTED]');
  });

  it('masks a secret deep inside any field and in every one of several secrets', () => {
    const other = 'signing-secret-0123456789abcdef';
    const { logger, output } = capture([SECRET, other]);
    logger.warn({ a: { b: { c: [`x${SECRET}y`, { d: other }] } }, url: `https://x.y/?t=${SECRET}` }, `both ${other}`);
    expect(output()).not.toContain(SECRET);
    expect(output()).not.toContain(other);
    expect(output().match(/\[REDACTED\]/g)).toHaveLength(4);
  });

  it('ignores empty and very short "secrets" (an unset variable must not mask every empty string)', () => {
    const { logger, entries } = capture(['', 'abc']);
    logger.info('abc is fine');
    expect(entries()[0]?.msg).toBe('abc is fine');
  });

  it('writes JSON lines with the app name and honours the level', () => {
    const { logger, entries } = capture();
    logger.debug('hidden');
    logger.info({ n: 1 }, 'shown');
    expect(entries()).toEqual([expect.objectContaining({ app: 'firelane', level: 30, msg: 'shown', n: 1 })]);
  });

  // A secret that JSON escapes (a backslash or a double quote, e.g. an Azure app password) appears
  // escaped in the serialised line; it is masked in that form too.
  it('masks a secret that contains a character JSON escapes', () => {
    const secret = 'pa\\ss"word-123456';
    const { logger, output, entries } = capture([secret]);
    logger.info(`login with ${secret}`);
    expect(output()).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(entries()[0]?.msg).toBe('login with [REDACTED]');
  });
});

// pino, with every place a secret could sit redacted.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'signingSecret',
  '*.signingSecret',
  'appPassword',
  '*.appPassword',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  'headers.authorization',
  'req.headers.authorization',
  'config.headers.Authorization',
  '*.config.headers.Authorization',
];

/** Known secret values, masked wherever they appear inside a logged string. */
export function createLogger(
  level: LevelWithSilent,
  secrets: string[] = [],
  destination?: pino.DestinationStream,
): Logger {
  // Each secret as written raw and as it appears inside a JSON string (quotes and backslashes escaped).
  const masks = [...new Set(secrets.filter((s) => s.length >= 8).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))];
  const scrub = (text: string) => masks.reduce((out, secret) => out.split(secret).join('[REDACTED]'), text);
  return pino(
    {
      level,
      base: { app: 'firelane' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: masks.length
        ? {
            streamWrite: scrub,
          }
        : {},
    },
    destination,
  );
}

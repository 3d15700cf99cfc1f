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
export function createLogger(level: LevelWithSilent, secrets: string[] = [], destination?: pino.DestinationStream): Logger {
  const masks = secrets.filter((s) => s.length >= 8);
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

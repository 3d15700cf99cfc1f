// The zod building blocks of the file schema. Every leaf is a `value` check with its own reason,
// so the first issue reads well on its own; zod supplies the structure (strict objects, records, lists).
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';
import { isK8sLabel, show } from './values.js';

export function value<T>(accept: (input: unknown) => T | undefined, reason: (input: unknown) => string) {
  return z.unknown().transform((input, ctx): T => {
    const out = input === undefined ? undefined : accept(input);
    if (out === undefined) {
      ctx.addIssue({ code: 'custom', message: input === undefined ? 'required' : reason(input) });
      return z.NEVER;
    }
    return out;
  });
}

/** A mapping that may also be left empty (`key:` with nothing, or missing): then {}. */
export function section<S extends z.ZodType>(schema: S) {
  return z.preprocess((input) => (input === null || input === undefined ? {} : input), schema);
}

/** YAML reads 12345 or true as a number or boolean; text must then be quoted. */
const quoteHint = (v: unknown) =>
  typeof v === 'number' || typeof v === 'boolean' ? ` (write "${String(v)}" in quotes to use it as text)` : '';

export const text = (what: string) =>
  value(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined),
    (v) => (typeof v === 'string' ? `must not be empty (${what})` : `${show(v)} is not ${what}${quoteHint(v)}`),
  );

export const word = (what: string) =>
  value(
    (v) => (typeof v === 'string' && /^\S+$/.test(v) ? v : undefined),
    (v) => `${show(v)} is not ${what}${quoteHint(v)}`,
  );

export const duration = value(
  (v) => (typeof v === 'string' ? parseDuration(v) : undefined),
  (v) => `${show(v)} is not a duration (use 90s, 15m, 2h)`,
);

export const integer = (min: number, max: number, what: string) =>
  value(
    (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined),
    (v) => `${show(v)} is not ${what}`,
  );

export const boolean = value(
  (v) => (typeof v === 'boolean' ? v : undefined),
  (v) => `${show(v)} is not true or false`,
);

export const k8sName = (kind: string) =>
  value(
    (v) => (typeof v === 'string' && isK8sLabel(v) ? v : undefined),
    (v) =>
      `${show(v)} is not a valid Kubernetes ${kind} name (lowercase letters, digits and "-", at most 63 characters)`,
  );

export const userList = z.array(text('a user id'));

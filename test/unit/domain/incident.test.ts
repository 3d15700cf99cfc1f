import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_ROOM_NAME,
  incidentKey,
  looksLikeIncidentKey,
  parseIncidentKey,
  slugify,
  titleProblem,
  warRoomName,
} from '../../../src/domain/incident.js';

const ROOM_NAME = /^[a-z0-9_-]{1,80}$/;
/** Config-valid channel prefixes (config.ts CHANNEL_PREFIX). */
const prefixArb = fc.stringMatching(/^[a-z0-9][a-z0-9-_]{0,19}$/);
const idArb = fc.integer({ min: 1, max: 1_000_000_000 });
const attemptArb = fc.integer({ min: 0, max: 50 });
const titleArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
  fc.array(fc.constantFrom('a', 'Z', '9', ' ', '-', '_', 'é', 'ﬃ', '⑳', '🔥', '\u0301', '.', '-2'), { maxLength: 120 }).map((p) => p.join('')),
);

describe('warRoomName', () => {
  it('builds <prefix>-<n>-<slug> from the title', () => {
    expect(warRoomName('inc', 7, 'Payment gateway DOWN!')).toBe('inc-7-payment-gateway-down');
    expect(warRoomName('inc', 7, 'Café – “crème brûlée” 500s')).toBe('inc-7-cafe-creme-brulee-500s');
    expect(warRoomName('inc', 7, '🔥🔥🔥')).toBe('inc-7');
    expect(warRoomName('inc', 7, 'Payment gateway down', 1)).toBe('inc-7-payment-gateway-down-2');
    expect(warRoomName('inc', 7, '', 3)).toBe('inc-7-4');
  });

  it('cuts a long title so the name is at most 80 characters, without a trailing dash', () => {
    const name = warRoomName('inc', 123, 'word '.repeat(40), 12);
    expect(name.length).toBeLessThanOrEqual(MAX_ROOM_NAME);
    expect(name).toMatch(/^inc-123-word(-word)*-13$/);
  });

  it('property: any title, id and attempt give a valid Slack channel name starting with inc-<id>', () => {
    fc.assert(
      fc.property(titleArb, idArb, attemptArb, (title, id, attempt) => {
        const name = warRoomName('inc', id, title, attempt);
        expect(name).toMatch(ROOM_NAME);
        const head = `inc-${id}`;
        expect(name === head || name.startsWith(`${head}-`)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: the same holds for every config-valid prefix', () => {
    fc.assert(
      fc.property(prefixArb, titleArb, idArb, attemptArb, (prefix, title, id, attempt) => {
        const name = warRoomName(prefix, id, title, attempt);
        expect(name).toMatch(ROOM_NAME);
        expect(name.startsWith(`${slugify(prefix) || 'inc'}-${id}`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: attempts 0..50 give 51 different names when the title fits', () => {
    fc.assert(
      fc.property(titleArb, idArb, (title, id) => {
        // Long titles are cut differently per attempt; see the expected failure below.
        fc.pre(slugify(title).length + `inc-${id}`.length + 4 <= MAX_ROOM_NAME);
        const names = Array.from({ length: 51 }, (_, attempt) => warRoomName('inc', id, title, attempt));
        expect(new Set(names).size).toBe(51);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: retries (attempt >= 1) always differ from each other, whatever the title', () => {
    fc.assert(
      fc.property(titleArb, idArb, (title, id) => {
        const names = Array.from({ length: 50 }, (_, k) => warRoomName('inc', id, title, k + 1));
        expect(new Set(names).size).toBe(50);
      }),
      { numRuns: 1000 },
    );
  });

  // BUG (src/domain/incident.ts:67-68): the slug is cut to a length that depends on the attempt,
  // so a title whose slug ends in "-2" right at the cut gives the same name for attempt 0 and 1
  // (the name_taken retry then asks for the taken name again). Fix: cut the slug with the same
  // budget for every attempt (reserve room for the longest suffix), then append the suffix.
  it.fails('gives a different name for every attempt, even for a long title ending in a number', () => {
    const title = `${'a'.repeat(72)} 2`;
    expect(warRoomName('inc', 1, title, 1)).not.toBe(warRoomName('inc', 1, title, 0));
  });
});

describe('titleProblem', () => {
  it('accepts an ordinary title', () => {
    expect(titleProblem('Payment gateway down')).toBeUndefined();
  });

  it('reports a missing title', () => {
    expect(titleProblem('')).toBe('the title is missing');
    expect(titleProblem('  \t ')).toBe('the title is missing');
  });

  it('counts Unicode code points: 150 emoji are fine, 151 are not', () => {
    expect(titleProblem('🔥'.repeat(150))).toBeUndefined();
    expect(titleProblem('🔥'.repeat(151))).toBe('the title is 151 characters long; at most 150');
    expect(titleProblem('x'.repeat(150))).toBeUndefined();
  });

  it('refuses control characters', () => {
    for (const c of ['\u0000', '\u0007', '\u001b', '\u007f']) expect(titleProblem(`bad${c}title`)).toBe('the title contains control characters');
  });

  it('property: a title of 1..150 printable code points is fine, 151+ is too long', () => {
    const printable = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '' && !/[\u0000-\u001f\u007f]/.test(s));
    fc.assert(
      fc.property(printable, (s) => {
        const cps = Array.from(s);
        const fitted = cps.slice(0, 150).join('');
        if (fitted.trim() !== '') expect(titleProblem(fitted)).toBeUndefined();
        const long = Array.from({ length: Math.ceil(151 / cps.length) + 1 }, () => s).join('');
        expect(titleProblem(long)).toMatch(/at most 150$/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('incident keys', () => {
  it.each([
    ['INC-12', 12],
    ['inc-12', 12],
    ['Inc-3', 3],
    ['inc12', 12],
    ['12', 12],
    ['  INC-4 ', 4],
    ['INC-000000007', 7],
    ['INC-999999999', 999_999_999],
  ])('parses %j as %i', (text, id) => {
    expect(parseIncidentKey(text)).toBe(id);
  });

  it.each(['', 'INC-', 'INC', 'INC-1a', 'INC--1', 'INC 1', 'INC-1.5', '-1', 'PR-12', 'INC-1234567890'])('does not parse %j', (text) => {
    expect(parseIncidentKey(text)).toBeUndefined();
  });

  it('property: parseIncidentKey(incidentKey(n)) is n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), (n) => {
        expect(parseIncidentKey(incidentKey(n))).toBe(n);
        expect(looksLikeIncidentKey(incidentKey(n))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  // BUG (src/domain/incident.ts:35 vs :39): looksLikeIncidentKey takes any digit count, parseIncidentKey
  // at most 9; find-incident.ts relies on the first implying the second.
  it.fails('everything that looks like an incident key parses', () => {
    expect(looksLikeIncidentKey('INC-1234567890')).toBe(true);
    expect(parseIncidentKey('INC-1234567890')).toBeDefined();
  });
});

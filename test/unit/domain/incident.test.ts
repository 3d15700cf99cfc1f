import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_ROOM_NAME,
  incidentKey,
  looksLikeIncidentKey,
  parseIncidentKey,
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
  fc
    .array(fc.constantFrom('a', 'Z', '9', ' ', '-', '_', 'é', 'ﬃ', '⑳', '🔥', '\u0301', '.', '-2'), { maxLength: 120 })
    .map((p) => p.join('')),
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
    // inc-1 leaves 80 - 5 - 4 (suffix room) - 1 = 70 characters for the slug: the cut lands on a dash.
    const name = warRoomName('inc', 1, 'word '.repeat(40), 12);
    expect(name.length).toBeLessThanOrEqual(MAX_ROOM_NAME);
    expect(name).toMatch(/^inc-1-word(-word)*-13$/);
    expect(name).toBe(`inc-1-${'word-'.repeat(13)}word-13`);
    // The slug is cut the same with or without a suffix.
    expect(warRoomName('inc', 1, 'word '.repeat(40))).toBe(`inc-1-${'word-'.repeat(13)}word`);
    expect(warRoomName('inc', 123, 'word '.repeat(40), 12).length).toBeLessThanOrEqual(MAX_ROOM_NAME);
  });

  it('keeps a valid configured prefix as it is (underscores too), and slugifies anything else', () => {
    expect(warRoomName('ops_inc', 7, 'Payment down')).toBe('ops_inc-7-payment-down');
    expect(warRoomName('2024-inc', 7, 'Payment down')).toBe('2024-inc-7-payment-down');
    expect(warRoomName('Ops Inc!', 7, 'x')).toBe('ops-inc-7-x');
    expect(warRoomName('', 7, 'x')).toBe('inc-7-x');
    expect(warRoomName('🔥', 7, 'x')).toBe('inc-7-x');
    const long = warRoomName('A'.repeat(40), 7, 'x');
    expect(long).toBe(`${'a'.repeat(20)}-7-x`);
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
        const head = `${prefix}-${id}`;
        expect(name === head || name.startsWith(`${head}-`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: attempts 0..50 give 51 different names, whatever the title', () => {
    fc.assert(
      fc.property(titleArb, idArb, (title, id) => {
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

  // A title whose slug ends in "-2" right at the cut once gave the same name for attempts 0 and 1
  // (the name_taken retry asked for the taken name again): the slug is now cut the same on every attempt.
  it('gives a different name for every attempt, even for a long title ending in a number', () => {
    const title = `${'a'.repeat(72)} 2`;
    expect(warRoomName('inc', 1, title, 1)).not.toBe(warRoomName('inc', 1, title, 0));
    expect(warRoomName('inc', 1, title, 1)).toBe(`${warRoomName('inc', 1, title, 0)}-2`);
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

  it('refuses C0 and C1 control characters, tabs and line breaks', () => {
    for (const c of [
      '\u0000',
      '\u0007',
      '\t',
      '\n',
      '\r',
      '\u000b',
      '\u001b',
      '\u001f',
      '\u007f',
      '\u0080',
      '\u0085',
      '\u009b',
      '\u009f',
    ]) {
      expect(titleProblem(`bad${c}title`), JSON.stringify(c)).toBe(
        'the title contains control characters or line breaks',
      );
    }
  });

  it('refuses invisible text-direction overrides', () => {
    for (const c of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']) {
      expect(titleProblem(`bad${c}title`), JSON.stringify(c)).toBe(
        'the title contains invisible text-direction characters',
      );
    }
  });

  it('accepts printable neighbours of the refused ranges', () => {
    for (const c of ['\u00a0', '\u00a9', '\u200e', '\u2029', '\u2065', '\u206a', '\u202f'])
      expect(titleProblem(`ok${c}title`), JSON.stringify(c)).toBeUndefined();
  });

  it('property: a title of 1..150 printable code points is fine, 151+ is too long', () => {
    const printable = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((s) => s.trim() !== '' && !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(s));
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

  it.each(['', 'INC-', 'INC', 'INC-1a', 'INC--1', 'INC 1', 'INC-1.5', '-1', 'PR-12', 'INC-1234567890'])(
    'does not parse %j',
    (text) => {
      expect(parseIncidentKey(text)).toBeUndefined();
    },
  );

  it('property: parseIncidentKey(incidentKey(n)) is n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), (n) => {
        expect(parseIncidentKey(incidentKey(n))).toBe(n);
        expect(looksLikeIncidentKey(incidentKey(n))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  // Written as a key is not the same as a possible id: a number of 10+ digits looks like a key (so the
  // user is told it does not exist, see router.test.ts) but never parses.
  it('a key with too many digits looks like a key but does not parse', () => {
    for (const text of ['INC-1234567890', 'inc-12345678901', 'INC-99999999999999999999']) {
      expect(looksLikeIncidentKey(text)).toBe(true);
      expect(parseIncidentKey(text)).toBeUndefined();
    }
  });
});

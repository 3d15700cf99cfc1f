import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/domain/duration.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['90s', 90 * S],
    ['15m', 15 * M],
    ['2h', 2 * H],
    ['1d', D],
    ['1h30m', H + 30 * M],
    ['1d2h3m4s', D + 2 * H + 3 * M + 4 * S],
    [' 2H ', 2 * H],
    ['0h5m', 5 * M],
    // White space anywhere is ignored, so what formatDuration prints reads back.
    ['5 m', 5 * M],
    ['1h 30m', H + 30 * M],
    ['2d 3h', 2 * D + 3 * H],
    ['\t1 h\n30 m ', H + 30 * M],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    ' ',
    '0s',
    '0m0s',
    '5',
    'm',
    '1.5h',
    '-5m',
    '+5m',
    '5min',
    '1h 30',
    '5 m s',
    '1w',
    'soon',
    'h1',
    '99999999999999999999d',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('property: n of a unit is n times the unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom(['s', S] as const, ['m', M] as const, ['h', H] as const, ['d', D] as const),
        (n, [unit, ms]) => {
          expect(parseDuration(`${n}${unit}`)).toBe(n * ms);
        },
      ),
    );
  });

  it('property: never throws and answers undefined or a positive safe integer', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(\d{1,20}[smhdw])+$/)), (text) => {
        const ms = parseDuration(text);
        if (ms !== undefined) {
          expect(Number.isSafeInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5 * S, '0s'],
    [45 * S, '45s'],
    [59_499, '59s'],
    [59_500, '1m'],
    [M, '1m'],
    [15 * M, '15m'],
    [80 * M, '1h 20m'],
    [2 * H, '2h'],
    [2 * D + 3 * H, '2d 3h'],
    [3 * D + 59 * M, '3d'],
  ])('formats %i ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('property: what it prints reads back for values it prints exactly', () => {
    const exact = fc.oneof(
      fc.integer({ min: 1, max: 59 }).map((s) => s * S),
      fc.integer({ min: 1, max: 59 }).map((m) => m * M),
      fc.tuple(fc.integer({ min: 1, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => h * H + m * M),
      fc.tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 23 })).map(([d, h]) => d * D + h * H),
    );
    fc.assert(
      fc.property(exact, (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseDuration: spaces only between parts', () => {
  it('refuses a space inside a number', () => {
    expect(parseDuration('1 5m')).toBeUndefined();
    expect(parseDuration('1h 3 0m')).toBeUndefined();
    expect(parseDuration(' 1h  30m ')).toBe(90 * 60_000);
  });
});

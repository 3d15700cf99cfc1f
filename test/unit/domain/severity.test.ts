import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SEVERITIES, looksLikeSeverity, parseSeverity } from '../../../src/domain/severity.js';

describe('parseSeverity', () => {
  it.each([
    ['sev0', 'sev0'],
    ['sev1', 'sev1'],
    ['SEV1', 'sev1'],
    ['Sev1', 'sev1'],
    ['sev-1', 'sev1'],
    ['SEV_2', 'sev2'],
    ['sev 3', 'sev3'],
    [' sev3 ', 'sev3'],
  ])('reads %j as %s', (text, severity) => {
    expect(parseSeverity(text)).toBe(severity);
  });

  it.each(['', 'sev', 'sev4', 'sev9', 'sev01', 'sev--1', 'sev1!', 's1', 'p1', '1', 'severity1', 'sev１'])(
    'refuses %j',
    (text) => {
      expect(parseSeverity(text)).toBeUndefined();
    },
  );

  it('property: the answer is undefined or one of the four severities', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 12 }), (text) => {
        const severity = parseSeverity(text);
        expect(severity === undefined || (SEVERITIES as readonly string[]).includes(severity)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('looksLikeSeverity', () => {
  it('sees sev7 as a (wrong) attempt at a severity, and a word as not', () => {
    expect(looksLikeSeverity('sev7')).toBe(true);
    expect(looksLikeSeverity('SEV-12')).toBe(true);
    expect(looksLikeSeverity('several')).toBe(false);
    expect(looksLikeSeverity('Payment')).toBe(false);
  });

  it('every parsed severity also looks like one', () => {
    for (const text of ['sev0', 'SEV-1', 'sev_2', 'Sev 3']) expect(looksLikeSeverity(text)).toBe(true);
  });
});

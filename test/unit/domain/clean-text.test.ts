// What firelane keeps of text from outside: no NUL or other C0 control (tab and line feed stay, a
// carriage return is a line break), no half surrogate pair; everything else as it came.
import { describe, expect, it } from 'vitest';
import { cleanStrings, cleanText } from '../../../src/domain/clean-text.js';

describe('cleanText', () => {
  it('drops NUL, the other C0 controls and DEL; keeps tab and line feed', () => {
    expect(cleanText('Pay\u0000ments down')).toBe('Payments down');
    expect(cleanText('a\u0001b\u0007c\u0008d\u000be\u000cf\u001b[31mg\u001fh\u007fi')).toBe('abcdef[31mghi');
    expect(cleanText('one\ttwo\nthree')).toBe('one\ttwo\nthree');
  });

  it('turns a carriage return, alone or before a line feed, into one line feed', () => {
    expect(cleanText('a\r\nb\rc\n\rd')).toBe('a\nb\nc\n\nd');
  });

  it('replaces half a surrogate pair with U+FFFD and keeps whole pairs (emoji)', () => {
    expect(cleanText('x\ud800y')).toBe('x\ufffdy');
    expect(cleanText('x\udc00')).toBe('x\ufffd');
    expect(cleanText('\udc00\ud83d\udccc\ud83d')).toBe('\ufffd📌\ufffd');
    expect(cleanText('📌 pinned')).toBe('📌 pinned');
  });

  it('leaves everything else alone: C1 controls, other scripts, HTML-looking text', () => {
    const text = 'Zürich \u0085 \u009b <b>&amp;</b> 東京 ‮';
    expect(cleanText(text)).toBe(text);
  });
});

describe('cleanStrings', () => {
  it('cleans every string of a parsed JSON value in place, keys too, and returns it', () => {
    const body = JSON.parse(
      JSON.stringify({ text: 'a\u0000b', list: ['c\u0001', { 'k\u0000ey': 'v\r\n' }], n: 1, ok: true, none: null }),
    ) as Record<string, unknown>;
    const list = body.list;
    expect(cleanStrings(body)).toBe(body);
    expect(body).toEqual({ text: 'ab', list: ['c', { key: 'v\n' }], n: 1, ok: true, none: null });
    expect(body.list).toBe(list);
    expect(cleanStrings('x\u0000')).toBe('x');
  });

  it('leaves frozen values as they are and survives a cycle', () => {
    const frozen = Object.freeze({ text: 'a\u0000b' });
    expect(cleanStrings({ frozen }).frozen.text).toBe('a\u0000b');
    const loop: Record<string, unknown> = { text: 'a\u0000' };
    loop.self = loop;
    expect(cleanStrings(loop)).toMatchObject({ text: 'a' });
  });
});

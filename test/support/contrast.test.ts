// The contrast arithmetic the console's browser tests rely on, checked against known WCAG pairs.
import { describe, expect, it } from 'vitest';
import { contrastRatio, effectiveBackground, parseColor } from './contrast.js';

describe('contrast', () => {
  it('reads the colours Chromium computes and refuses others', () => {
    expect(parseColor('rgb(43, 138, 62)')).toEqual({ r: 43, g: 138, b: 62, a: 1 });
    expect(parseColor('rgba(0, 0, 0, 0)')).toEqual({ r: 0, g: 0, b: 0, a: 0 });
    expect(parseColor('rgb(10 20 30 / 0.5)')).toEqual({ r: 10, g: 20, b: 30, a: 0.5 });
    expect(() => parseColor('oklch(0.5 0.1 120)')).toThrow(/not an rgb/);
  });

  it('gives the WCAG ratios of known pairs', () => {
    const white = parseColor('rgb(255, 255, 255)');
    expect(contrastRatio(parseColor('rgb(0, 0, 0)'), white)).toBeCloseTo(21, 5);
    expect(contrastRatio(white, white)).toBe(1);
    // #767676 on white is the usual example of just passing AA (4.54:1).
    expect(contrastRatio(parseColor('rgb(118, 118, 118)'), white)).toBeCloseTo(4.54, 2);
  });

  it('sees through transparent backgrounds to the first opaque one', () => {
    expect(effectiveBackground(['rgba(0, 0, 0, 0)', 'rgb(21, 21, 24)', 'rgb(255, 255, 255)'])).toEqual({
      r: 21,
      g: 21,
      b: 24,
      a: 1,
    });
    expect(effectiveBackground(['rgba(0, 0, 0, 0.5)'])).toEqual({ r: 127.5, g: 127.5, b: 127.5, a: 1 });
  });
});

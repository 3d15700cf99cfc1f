// The one function every text firelane sends to GitHub goes through: mentions, HTML, issue
// references and closing keywords become inert; the text still reads as typed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inertForGitHub } from '../../../src/domain/github-text.js';

const Z = '\u200b';
const shown = (text: string) => text.replaceAll(Z, '');

/** What GitHub would act on in a text: a mention, the start of an HTML tag, an issue reference, a closing keyword. */
const ACTIVE = [
  /(?:^|[^\w\u200b])@[A-Za-z0-9]/, // @user, @org/team
  /<[A-Za-z!/?]/, // <img ...>, </b>, <!-- -->, <https://...>
  /#\d/, // #12, owner/repo#3
  /\bGH-\d/i,
  /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+(?:[\w.-]+\/[\w.-]+#\d|#\d|GH-\d|https?:\/\/)/i,
];

describe('inertForGitHub', () => {
  it('makes mentions, HTML, issue references and closing keywords inert', () => {
    expect(inertForGitHub('<img src=x onerror=alert(1)> @acme/admins Fixes #1')).toBe(
      `<${Z}img src=x onerror=alert(1)> @${Z}acme/admins F${Z}ixes #${Z}1`,
    );
    expect(inertForGitHub('closes owner/repo#3')).toBe(`c${Z}loses owner/repo#${Z}3`);
    expect(inertForGitHub('Resolves: GH-4')).toBe(`R${Z}esolves: GH-${Z}4`);
    expect(inertForGitHub('fixed https://github.com/acme/payments/issues/5')).toBe(
      `f${Z}ixed https://github.com/acme/payments/issues/5`,
    );
    expect(inertForGitHub('<!-- hidden --> </b> <https://evil.example>')).toBe(
      `<${Z}!-- hidden --> <${Z}/b> <${Z}https://evil.example>`,
    );
  });

  it('leaves ordinary text alone: a fix, a comparison, a hash sign, an e-mail domain', () => {
    for (const text of [
      'Fix: NULL amount in refunds!',
      'latency < 200ms',
      'the # key',
      'C# service',
      'fixes the login page',
    ])
      expect(inertForGitHub(text)).toBe(text);
  });

  it('property: whatever the text, nothing in it is active afterwards, it reads the same, and a second pass changes nothing', () => {
    const pieces = fc.constantFrom(
      '@',
      '<',
      '>',
      '#',
      '12',
      'GH-',
      'gh-',
      'Fixes ',
      'closes: ',
      'RESOLVED ',
      'fix ',
      'acme/payments',
      'img',
      '/',
      '!',
      '?',
      ' ',
      '\n',
      'a',
      'https://',
      Z,
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(pieces, fc.string({ maxLength: 4 })), { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        const inert = inertForGitHub(text);
        for (const active of ACTIVE) expect(inert).not.toMatch(active);
        expect(shown(inert)).toBe(shown(text));
        expect(inertForGitHub(inert)).toBe(inert);
      }),
      { numRuns: 2000 },
    );
  });
});

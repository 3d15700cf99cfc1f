// Turns command text into a name, positional tokens and --flags. Pure; never throws.
//
// Grammar (the same on every platform):
//   words separated by white space; "double" or 'single' quotes group words (a quote opens only
//   at the start of a word or right after `--flag=`, so "can't" stays one word); smart quotes
//   count too; `--flag=value` and `--flag`; an em dash (macOS autocorrect of `--`) is accepted;
//   Slack escapes: <@U123|name> and <@U123> are mentions, <#C123|name> is #name, <url|label> is url;
//   `@name` (console, CLI) is a plain mention.
// Text arriving from Slack with escaping on (`slackEntities`) has &, < and > typed by people as
// entities: they are decoded inside words only after tokenizing, so typed text never becomes markup.

import { mention, stripTokens } from '../ports/reply.js';

export type Token =
  { kind: 'word'; value: string; quoted: boolean } | { kind: 'mention'; id: string; name?: string; escaped: boolean };

export interface ParsedCommand {
  /** Lower-case command name without the slash: `incident`. Empty when the text is empty. */
  name: string;
  args: Token[];
  flags: Record<string, string>;
}

export type ParseResult = { ok: true; command: ParsedCommand } | { ok: false; error: string };

export const MAX_COMMAND_LENGTH = 4000;

const QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '”': '”', '‘': '’', '’': '’', '„': '“' };
const FLAG = /^(?:--|—)([a-z][a-z0-9-]{0,40})(?:=([\s\S]*))?$/i;

interface RawToken {
  text: string;
  /** Some part was quoted. */
  quoted: boolean;
  /** The token began with a quote: never a flag. */
  quotedFromStart: boolean;
  /** The token was written as one <...> Slack escape. */
  angle: boolean;
}

function tokenize(text: string): { tokens: RawToken[] } | { error: string } {
  const chars = Array.from(text);
  const tokens: RawToken[] = [];
  let i = 0;
  while (i < chars.length) {
    if (/\s/.test(chars[i]!)) {
      i++;
      continue;
    }
    // A Slack escape (<@U1|name>, <#C1|x>, <https://..|label>) is one token even with spaces in the label.
    if (chars[i] === '<') {
      const close = chars.indexOf('>', i);
      if (close !== -1 && (close + 1 === chars.length || /\s/.test(chars[close + 1]!))) {
        tokens.push({ text: chars.slice(i, close + 1).join(''), quoted: false, quotedFromStart: false, angle: true });
        i = close + 1;
        continue;
      }
    }
    let value = '';
    let quoted = false;
    const quotedFromStart = chars[i]! in QUOTES;
    while (i < chars.length && !/\s/.test(chars[i]!)) {
      const ch = chars[i]!;
      const opensQuote = ch in QUOTES && (value === '' || (FLAG.test(value) && value.endsWith('=')));
      if (opensQuote) {
        const closing = QUOTES[ch]!;
        const end = chars.findIndex((c, k) => k > i && (c === closing || (closing === '”' && c === '"')));
        if (end === -1) return { error: `unbalanced quote: ${ch} is never closed` };
        value += chars.slice(i + 1, end).join('');
        quoted = true;
        i = end + 1;
        continue;
      }
      value += ch;
      i++;
    }
    tokens.push({ text: value, quoted, quotedFromStart, angle: false });
  }
  return { tokens };
}

const decodeEntities = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function toToken(raw: RawToken, slackEntities: boolean): Token {
  if (raw.angle) {
    // Slack encodes & inside links and labels too.
    const inner = slackEntities ? decodeEntities(raw.text.slice(1, -1)) : raw.text.slice(1, -1);
    const [target = '', label] = splitOnce(inner, '|');
    if (/^@[A-Z0-9]{2,32}$/i.test(target)) {
      return { kind: 'mention', id: target.slice(1), ...(label ? { name: label } : {}), escaped: true };
    }
    if (target.startsWith('#')) return { kind: 'word', value: label ? `#${label}` : target, quoted: false };
    if (target.startsWith('!'))
      return { kind: 'word', value: label ?? `@${target.slice(1).split('^')[0]}`, quoted: false };
    return { kind: 'word', value: target, quoted: false };
  }
  if (!raw.quoted && /^@[\w.-]{1,64}$/u.test(raw.text)) {
    return { kind: 'mention', id: raw.text.slice(1), escaped: false };
  }
  return { kind: 'word', value: slackEntities ? decodeEntities(raw.text) : raw.text, quoted: raw.quoted };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export interface ParseOptions {
  /** The text comes from Slack with escaping on: &amp; &lt; &gt; in words are what people typed. */
  slackEntities?: boolean;
}

export function parseCommand(text: string, options: ParseOptions = {}): ParseResult {
  if (typeof text !== 'string') return { ok: false, error: 'no command text' };
  if (text.length > MAX_COMMAND_LENGTH) {
    return { ok: false, error: `the command is too long (${text.length} characters; at most ${MAX_COMMAND_LENGTH})` };
  }
  const result = tokenize(stripTokens(text).normalize('NFC'));
  if ('error' in result) return { ok: false, error: result.error };

  const [first, ...rest] = result.tokens;
  const name = first && !first.quoted ? first.text.replace(/^\//, '').toLowerCase() : '';
  const args: Token[] = [];
  const flags: Record<string, string> = {};
  for (const raw of first && name === '' ? result.tokens : rest) {
    const flag = raw.quotedFromStart || raw.angle ? null : FLAG.exec(raw.text);
    if (flag) {
      const flagName = flag[1]!.toLowerCase();
      if (Object.hasOwn(flags, flagName)) return { ok: false, error: `--${flagName} is given twice` };
      const value = flag[2] ?? 'true';
      flags[flagName] = options.slackEntities ? decodeEntities(value) : value;
      continue;
    }
    args.push(toToken(raw, options.slackEntities === true));
  }
  return { ok: true, command: { name, args, flags } };
}

/** The text of a token as the user meant it (mentions as @name or @id). */
export function tokenText(token: Token): string {
  return token.kind === 'word' ? token.value : `@${token.name ?? token.id}`;
}

/** Positional tokens from `from` on, joined back into neutral free text (titles, notes). */
export function restText(args: Token[], from = 0): string {
  return args
    .slice(from)
    .map((t) => (t.kind === 'mention' ? (t.escaped ? mention(t.id) : `@${t.id}`) : t.value))
    .join(' ')
    .trim();
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toMrkdwn } from '../../../src/adapters/slack/render.js';
import { MAX_COMMAND_LENGTH, parseCommand, restText, tokenText, type ParsedCommand, type Token } from '../../../src/commands/parse-command.js';
import { MENTION_TOKEN, ROOM_TOKEN, TIME_TOKEN } from '../../../src/commands/reply.js';

/** The parsed command, failing the test with the parser's message when it refused. */
function parsed(text: string): ParsedCommand {
  const result = parseCommand(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${result.error}`);
  return result.command;
}

function parseError(text: string): string {
  const result = parseCommand(text);
  if (result.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused, got ${JSON.stringify(result.command)}`);
  return result.error;
}

const word = (value: string, quoted = false): Token => ({ kind: 'word', value, quoted });
const words = (command: ParsedCommand) => command.args.map(tokenText);
const matches = (pattern: RegExp, text: string) => [...text.matchAll(new RegExp(pattern.source, 'g'))].length;

describe('parseCommand: words and names', () => {
  it('splits a declaration into the command name and positional words', () => {
    expect(parsed('/incident sev1 Payment gateway down')).toEqual({
      name: 'incident',
      args: [word('sev1'), word('Payment'), word('gateway'), word('down')],
      flags: {},
    });
  });

  it('lower-cases the name and accepts it with or without the slash, whatever the spacing', () => {
    expect(parsed('/INCIDENT list').name).toBe('incident');
    expect(parsed('incident list').name).toBe('incident');
    expect(parsed('  \t/incident   list \n').args).toEqual([word('list')]);
  });

  it('gives an empty name (and nothing else) for empty or blank text', () => {
    expect(parsed('')).toEqual({ name: '', args: [], flags: {} });
    expect(parsed('   \n\t ')).toEqual({ name: '', args: [], flags: {} });
  });

  it('keeps apostrophes inside words: they are not quotes', () => {
    expect(words(parsed("/incident sev2 Users can't log in"))).toEqual(['sev2', 'Users', "can't", 'log', 'in']);
    expect(words(parsed("/incident note it's the O'Brien cluster's DNS"))).toEqual(['note', "it's", 'the', "O'Brien", "cluster's", 'DNS']);
  });
});

describe('parseCommand: quotes', () => {
  it.each([
    ['double', '/incident sev1 "Payment gateway" down'],
    ['single', "/incident sev1 'Payment gateway' down"],
    ['smart double', '/incident sev1 “Payment gateway” down'],
    ['smart single', '/incident sev1 ‘Payment gateway’ down'],
    ['German low-high', '/incident sev1 „Payment gateway“ down'],
    ['smart open closed by a straight quote', '/incident sev1 “Payment gateway" down'],
  ])('%s quotes group words into one quoted value', (_, text) => {
    expect(parsed(text).args).toEqual([word('sev1'), word('Payment gateway', true), word('down')]);
  });

  it('keeps other quote characters, angle brackets and runs of spaces inside a quoted value', () => {
    expect(parsed(`/incident note "it's <b>  'fine'"`).args).toEqual([word('note'), word(`it's <b>  'fine'`, true)]);
  });

  it('keeps an empty quoted value as an (empty) word', () => {
    expect(parsed('/incident note ""').args).toEqual([word('note'), word('', true)]);
  });

  it.each([
    ['"', '/incident sev1 "Payment gateway down'],
    ["'", "/incident sev1 'Payment gateway down"],
    ['“', '/incident sev1 “Payment gateway down'],
    ['"', '/incident update --eta="5m investigating'],
  ])('refuses an unbalanced %s and names the quote', (quote, text) => {
    const error = parseError(text);
    expect(error).toContain('unbalanced quote');
    expect(error).toContain(quote);
  });
});

describe('parseCommand: flags', () => {
  it('reads --flag=value, --flag="a b", a bare --flag and an em-dash flag', () => {
    const command = parsed('/incident update investigating DB is back --eta=30m --note="a b c" --verbose —owner=jane');
    expect(command.flags).toEqual({ eta: '30m', note: 'a b c', verbose: 'true', owner: 'jane' });
    expect(words(command)).toEqual(['update', 'investigating', 'DB', 'is', 'back']);
  });

  it('reads an em-dash flag as macOS autocorrect produces it', () => {
    expect(parsed('/incident update monitoring ok —eta=5m').flags).toEqual({ eta: '5m' });
  });

  it('lower-cases flag names and keeps the value exactly (spaces, = and quotes of the other kind)', () => {
    expect(parsed(`/incident resolve --Root-Cause="a=b, it's 'x'"`).flags).toEqual({ 'root-cause': `a=b, it's 'x'` });
    expect(parsed('/incident resolve --action-items=“a; b; c”').flags).toEqual({ 'action-items': 'a; b; c' });
  });

  it('keeps an empty value as the empty string', () => {
    expect(parsed('/incident x --eta=').flags).toEqual({ eta: '' });
    expect(parsed('/incident x --eta=""').flags).toEqual({ eta: '' });
  });

  it('refuses a flag given twice, naming it (also when only the case differs)', () => {
    expect(parseError('/incident update x --eta=5m --eta=10m')).toMatch(/--eta is given twice/);
    expect(parseError('/incident update x --ETA=5m —eta=10m')).toMatch(/--eta is given twice/);
  });

  // BUG (src/commands/parse-command.ts:115): `flagName in flags` also sees Object.prototype, so a
  // first --constructor is reported as given twice. Fix: Object.hasOwn(flags, flagName).
  it.fails('reads --constructor like any other flag', () => {
    expect(parsed('/incident resolve --constructor=x').flags).toEqual({ constructor: 'x' });
  });

  it('treats a single dash, a lone -- and a quoted bare flag as words', () => {
    const command = parsed('/incident note -x -- "--verbose" --1=2');
    expect(command.flags).toEqual({});
    expect(words(command)).toEqual(['note', '-x', '--', '--verbose', '--1=2']);
  });
});

describe('parseCommand: Slack escapes and mentions', () => {
  it('turns <@U123|jane> and <@U123> into escaped mentions', () => {
    expect(parsed('/incident lead <@U123|jane>').args[1]).toEqual({ kind: 'mention', id: 'U123', name: 'jane', escaped: true });
    expect(parsed('/incident lead <@U123>').args[1]).toEqual({ kind: 'mention', id: 'U123', escaped: true });
  });

  it('keeps a mention whose label has spaces as one token', () => {
    expect(parsed('/incident lead <@U0LEAD1|Jane Doe> now').args).toEqual([
      word('lead'),
      { kind: 'mention', id: 'U0LEAD1', name: 'Jane Doe', escaped: true },
      word('now'),
    ]);
  });

  it('turns a channel link into #name and a link into its URL', () => {
    expect(words(parsed('/incident note see <#C1|general> and <https://x.y/z?a=1|the dashboard>'))).toEqual([
      'note',
      'see',
      '#general',
      'and',
      'https://x.y/z?a=1',
    ]);
    expect(words(parsed('/incident note <#C0ABC> <https://x.y>'))).toEqual(['note', '#C0ABC', 'https://x.y']);
  });

  it('turns <!channel>, <!here> and user groups into harmless words that render without a broadcast', () => {
    const command = parsed('/incident note <!channel> <!here|here> <!subteam^S1|@oncall>');
    for (const token of command.args) expect(token.kind).toBe('word');
    const rendered = toMrkdwn(restText(command.args, 1));
    expect(rendered).not.toContain('<!');
    expect(rendered).toContain('channel');
  });

  it('does not read <--flag=x> as a flag', () => {
    expect(parsed('/incident note <--eta=5m>').flags).toEqual({});
  });

  it('reads @name (console, CLI) as an unescaped mention, but not inside a quote or an e-mail address', () => {
    expect(parsed('/incident lead @jane').args[1]).toEqual({ kind: 'mention', id: 'jane', escaped: false });
    expect(parsed('/incident lead @me').args[1]).toEqual({ kind: 'mention', id: 'me', escaped: false });
    expect(parsed('/incident note "@jane"').args[1]).toEqual(word('@jane', true));
    expect(parsed('/incident note jane@example.com').args[1]).toEqual(word('jane@example.com'));
  });
});

describe('parseCommand: limits', () => {
  it(`accepts ${MAX_COMMAND_LENGTH} characters and refuses more, saying how many`, () => {
    const head = '/incident note ';
    expect(parseCommand(head + 'x'.repeat(MAX_COMMAND_LENGTH - head.length)).ok).toBe(true);
    expect(parseError(head + 'x'.repeat(MAX_COMMAND_LENGTH - head.length + 1))).toMatch(/too long \(4001 characters; at most 4000\)/);
  });

  it('refuses input that is not a string instead of throwing', () => {
    expect(parseCommand(undefined as unknown as string)).toEqual({ ok: false, error: 'no command text' });
  });
});

describe('restText: user text is made inert', () => {
  it('joins words back and turns only real Slack mentions into mention tokens', () => {
    const command = parsed('/incident note ask <@U123|jane> and @bob about "the DB"');
    expect(restText(command.args, 1)).toBe('ask @{U123} and @bob about the DB');
  });

  it('breaks up @{...}, #{...|...} and {{time:...}} typed by a user', () => {
    const text = restText(parsed('/incident note @{U1} #{C1|general} {{time:1}} x@{U2}y').args, 1);
    expect(matches(MENTION_TOKEN, text)).toBe(0);
    expect(matches(ROOM_TOKEN, text)).toBe(0);
    expect(matches(TIME_TOKEN, text)).toBe(0);
    // The reader still sees what was typed (the breaks are zero-width).
    expect(text.replace(/\u200b/g, '')).toBe('@{U1} #{C1|general} {{time:1}} x@{U2}y');
  });

  // BUG (src/commands/reply.ts:67): `/\{\{/g` does not overlap, so "{{{time:1}}" becomes
  // "{\u200b{{time:1}}", which still holds a live time token.
  it.fails('breaks up a time token preceded by an extra brace ({{{time:1}})', () => {
    const text = restText([word('{{{time:1}}')]);
    expect(matches(TIME_TOKEN, text)).toBe(0);
  });

  it('property: no word a user types becomes a mention or room token', () => {
    const piece = fc.constantFrom('@', '#', '{', '}', '{{', '}}', 'U1', 'C1', '|', 'general', 'time:', '1', ':', '.', '\u200b', 'x');
    const userWord = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.array(userWord, { minLength: 1, maxLength: 6 }), (values) => {
        const text = restText(values.map((v) => word(v)));
        expect(matches(MENTION_TOKEN, text)).toBe(0);
        expect(matches(ROOM_TOKEN, text)).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseCommand: properties', () => {
  /** What is wrong with the parser's answer for `text`, or undefined (plain checks: this runs thousands of times). */
  function problemWith(text: string): string | undefined {
    const result = parseCommand(text);
    if (!result.ok) return typeof result.error === 'string' && result.error.length > 0 ? undefined : 'empty error';
    const { name, args, flags } = result.command;
    if (typeof name !== 'string' || name !== name.toLowerCase()) return `bad name ${name}`;
    for (const token of args) {
      if (token.kind === 'word' && typeof token.value !== 'string') return 'word without a value';
      if (token.kind === 'mention' && !/^[\w.-]+$/u.test(token.id)) return `bad mention id ${token.id}`;
      if (token.kind !== 'word' && token.kind !== 'mention') return 'unknown token kind';
    }
    for (const [key, value] of Object.entries(flags)) {
      if (!/^[a-z][a-z0-9-]*$/.test(key) || typeof value !== 'string') return `bad flag ${key}`;
    }
    return undefined;
  }
  const assertWellFormed = (text: string) => expect(problemWith(text)).toBeUndefined();

  it('never throws on arbitrary Unicode and always answers ok or a message', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 })), (text) => {
        assertWellFormed(text);
      }),
      { numRuns: 2000 },
    );
  });

  const pieces = fc.constantFrom(
    ' ', '  ', '\t', '\n', '"', "'", '“', '”', '‘', '’', '„', '--x=', '--eta=', '—eta=', '--x', '--', '<@U1|a>', '<@U1>', '<#C1|general>',
    '<!channel>', '<https://x.y|l>', '<', '>', '|', '@', '@jane', '@me', '=', 'sev1', 'INC-1', 'update', '🔥', '👩‍👩‍👧', '\u0000', '\u0007',
    '\u007f', '\u200b', '\u202e', 'e\u0301', '{{time:1}}', '@{U1}', '#{C1|x}', '\\', 'a', 'word',
  );
  const grammar = fc.array(fc.oneof({ weight: 4, arbitrary: pieces }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) }), { maxLength: 40 }).map((parts) => parts.join(''));

  it('never throws on text assembled from grammar pieces', () => {
    fc.assert(
      fc.property(grammar, (text) => {
        assertWellFormed(text);
        assertWellFormed(`/incident ${text}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads plain words back exactly', () => {
    const plain = fc.stringMatching(/^[A-Za-z0-9.,:;!?()\u00e0-\u00ff-]{1,12}$/).filter((w) => !w.startsWith('--'));
    fc.assert(
      fc.property(fc.array(plain, { maxLength: 10 }), fc.constantFrom(' ', '  ', '\t', ' \n '), (values, gap) => {
        const command = parsed(['/incident', ...values].join(gap));
        expect(command.args).toEqual(values.map((v) => word(v)));
        expect(command.flags).toEqual({});
      }),
      { numRuns: 1000 },
    );
  });

  it('reads any double-quoted value back as one quoted word (NFC-normalised)', () => {
    const content = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('"') && !/^(--|—)/.test(s));
    fc.assert(
      fc.property(content, (value) => {
        expect(parsed(`/incident note "${value}"`).args).toEqual([word('note'), word(value.normalize('NFC'), true)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads any --flag="value" back exactly', () => {
    const flagName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    const value = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('"'));
    fc.assert(
      fc.property(flagName, value, (name, v) => {
        expect(parsed(`/incident resolve --${name}="${v}"`).flags).toEqual({ [name]: v.normalize('NFC') });
      }),
      { numRuns: 2000 },
    );
  });
});

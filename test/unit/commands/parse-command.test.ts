import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toMrkdwn } from '../../../src/adapters/slack/render.js';
import {
  MAX_COMMAND_LENGTH,
  parseCommand,
  restText,
  tokenText,
  type ParsedCommand,
  type Token,
} from '../../../src/commands/parse-command.js';
import { MENTION_TOKEN, ROOM_TOKEN, TIME_TOKEN, mention, roomLink, timeToken } from '../../../src/ports/reply.js';

/** The parsed command, failing the test with the parser's message when it refused. */
function parsed(text: string, options?: { slackEntities?: boolean }): ParsedCommand {
  const result = parseCommand(text, options);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${result.error}`);
  return result.command;
}

function parseError(text: string): string {
  const result = parseCommand(text);
  if (result.ok)
    throw new Error(`expected ${JSON.stringify(text)} to be refused, got ${JSON.stringify(result.command)}`);
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
    expect(words(parsed("/incident note it's the O'Brien cluster's DNS"))).toEqual([
      'note',
      "it's",
      'the',
      "O'Brien",
      "cluster's",
      'DNS',
    ]);
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

  // Was a bug: `flagName in flags` also saw Object.prototype, so a first --constructor was "given twice".
  it('reads --constructor like any other flag', () => {
    expect(parsed('/incident resolve --constructor=x').flags).toEqual({ constructor: 'x' });
    expect(parsed('/incident resolve --tostring --__proto__').flags).toEqual({ tostring: 'true' });
    expect(parseError('/incident resolve --constructor=x --constructor=y')).toMatch(/--constructor is given twice/);
  });

  it('treats a single dash, a lone -- and a quoted bare flag as words', () => {
    const command = parsed('/incident note -x -- "--verbose" --1=2');
    expect(command.flags).toEqual({});
    expect(words(command)).toEqual(['note', '-x', '--', '--verbose', '--1=2']);
  });

  it('never reads a token that starts with a quote as a flag, even with a value', () => {
    for (const text of [
      '/incident note "--eta=5m"',
      "/incident note '--eta=5m'",
      '/incident note “--eta=5m”',
      '/incident note "--eta=5m investigating"',
    ]) {
      const command = parsed(text);
      expect(command.flags, text).toEqual({});
      expect(command.args[1], text).toMatchObject({ kind: 'word', quoted: true });
      expect(tokenText(command.args[1]!), text).toMatch(/^--eta=5m/);
    }
    // A quote after `--flag=` still quotes the value of a real flag.
    expect(parsed('/incident update x --eta="5m"').flags).toEqual({ eta: '5m' });
  });
});

describe('parseCommand: Slack escapes and mentions', () => {
  it('turns <@U123|jane> and <@U123> into escaped mentions', () => {
    expect(parsed('/incident lead <@U123|jane>').args[1]).toEqual({
      kind: 'mention',
      id: 'U123',
      name: 'jane',
      escaped: true,
    });
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

describe('parseCommand: Slack entities (slackEntities)', () => {
  it('decodes &amp; &lt; &gt; inside words, after tokenizing', () => {
    const command = parsed('/incident note R&amp;D says a &lt;b&gt; tag &amp;lt; broke', { slackEntities: true });
    expect(words(command)).toEqual(['note', 'R&D', 'says', 'a', '<b>', 'tag', '&lt;', 'broke']);
    expect(restText(command.args, 1)).toBe('R&D says a <b> tag &lt; broke');
  });

  it('keeps what people typed as &lt;@U1&gt; a plain word, never a mention or markup', () => {
    const command = parsed('/incident note &lt;@U1&gt; &lt;!channel&gt;', { slackEntities: true });
    expect(command.args.slice(1)).toEqual([word('<@U1>'), word('<!channel>')]);
    const rendered = toMrkdwn(restText(command.args, 1));
    expect(rendered).toBe('&lt;@U1&gt; &lt;!channel&gt;');
  });

  it('decodes entities in flag values and in quoted words, and still reads real <...> escapes', () => {
    const command = parsed('/incident sev1 "A &amp; B" --description="x &gt; y" <@U1|jane>', { slackEntities: true });
    expect(command.args).toEqual([
      word('sev1'),
      word('A & B', true),
      { kind: 'mention', id: 'U1', name: 'jane', escaped: true },
    ]);
    expect(command.flags).toEqual({ description: 'x > y' });
  });

  it('leaves entities alone without slackEntities (console, CLI)', () => {
    expect(words(parsed('/incident note R&amp;D &lt;b&gt;'))).toEqual(['note', 'R&amp;D', '&lt;b&gt;']);
  });
});

describe('parseCommand: limits', () => {
  it(`accepts ${MAX_COMMAND_LENGTH} characters and refuses more, saying how many`, () => {
    const head = '/incident note ';
    expect(parseCommand(head + 'x'.repeat(MAX_COMMAND_LENGTH - head.length)).ok).toBe(true);
    expect(parseError(head + 'x'.repeat(MAX_COMMAND_LENGTH - head.length + 1))).toMatch(
      /too long \(4001 characters; at most 4000\)/,
    );
  });

  it('refuses input that is not a string instead of throwing', () => {
    expect(parseCommand(undefined as unknown as string)).toEqual({ ok: false, error: 'no command text' });
  });
});

describe('restText: user text is made inert', () => {
  it('joins words back and turns only real Slack mentions into mention tokens', () => {
    const command = parsed('/incident note ask <@U123|jane> and @bob about "the DB"');
    expect(restText(command.args, 1)).toBe(`ask ${mention('U123')} and @bob about the DB`);
  });

  it('removes the token delimiters U+E000 and U+E001 from everything typed, so no token can be forged', () => {
    const typed = `${mention('U1')} ${roomLink('C1', 'general')} ${timeToken(1)} x${mention('U2')}y`;
    const command = parsed(`/incident note ${typed} --description="${mention('U3')}"`);
    const text = restText(command.args, 1);
    expect(matches(MENTION_TOKEN, text)).toBe(0);
    expect(matches(ROOM_TOKEN, text)).toBe(0);
    expect(matches(TIME_TOKEN, text)).toBe(0);
    // The reader sees what was typed, minus the invisible delimiters; nothing invisible is added.
    expect(text).toBe('@U1 #C1|general t1 x@U2y');
    expect(command.flags).toEqual({ description: '@U3' });
    expect(JSON.stringify(command)).not.toMatch(/[\uE000\uE001\u200b]/);
  });

  it('keeps the old token syntax (@{U1}, #{C1|x}, {{time:1}}) as plain text, exactly as typed', () => {
    const text = restText(parsed('/incident note @{U1} #{C1|general} {{time:1}} {{{time:1}} x@{U2}y').args, 1);
    expect(text).toBe('@{U1} #{C1|general} {{time:1}} {{{time:1}} x@{U2}y');
    expect(matches(MENTION_TOKEN, text) + matches(ROOM_TOKEN, text) + matches(TIME_TOKEN, text)).toBe(0);
  });

  // Was a bug with brace tokens: "{{{time:1}}" kept a live time token.
  it('makes no time token of an extra brace or an extra delimiter ({{{time:1}}, U+E000 U+E000 t1 ...)', () => {
    const text = restText(
      parsed('/incident note {{{time:1}} \uE000\uE000t1\uE001\uE001 \uE000\uE000@U1\uE001').args,
      1,
    );
    expect(matches(TIME_TOKEN, text)).toBe(0);
    expect(matches(MENTION_TOKEN, text)).toBe(0);
    expect(text).toBe('{{{time:1}} t1 @U1');
  });

  it('property: no text a user types becomes a mention, room or time token', () => {
    const piece = fc.constantFrom(
      '\uE000',
      '\uE001',
      '@',
      '#',
      't',
      '{',
      '}',
      '{{',
      '}}',
      'U1',
      'C1',
      '|',
      'general',
      'time:',
      '1',
      ':',
      '.',
      '\u200b',
      'x',
      ' ',
      '"',
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 40 }), fc.boolean(), (parts, slackEntities) => {
        const result = parseCommand(`/incident note ${parts.join('')}`, { slackEntities });
        fc.pre(result.ok); // an unbalanced quote is refused
        if (!result.ok) return;
        const text = restText(result.command.args, 1);
        expect(matches(MENTION_TOKEN, text)).toBe(0);
        expect(matches(ROOM_TOKEN, text)).toBe(0);
        expect(matches(TIME_TOKEN, text)).toBe(0);
        expect(text).not.toMatch(/[\uE000\uE001]/);
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
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 })),
        (text) => {
          assertWellFormed(text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  const pieces = fc.constantFrom(
    ' ',
    '  ',
    '\t',
    '\n',
    '"',
    "'",
    '“',
    '”',
    '‘',
    '’',
    '„',
    '--x=',
    '--eta=',
    '—eta=',
    '--x',
    '--',
    '<@U1|a>',
    '<@U1>',
    '<#C1|general>',
    '<!channel>',
    '<https://x.y|l>',
    '<',
    '>',
    '|',
    '@',
    '@jane',
    '@me',
    '=',
    'sev1',
    'INC-1',
    'update',
    '🔥',
    '👩‍👩‍👧',
    '\u0000',
    '\u0007',
    '\u007f',
    '\u200b',
    '\u202e',
    'e\u0301',
    '{{time:1}}',
    '@{U1}',
    '#{C1|x}',
    '\uE000',
    '\uE001',
    mention('U1'),
    timeToken(1),
    '&amp;',
    '&lt;',
    '\\',
    'a',
    'word',
  );
  const grammar = fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: pieces },
        { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''));

  it('never throws on text assembled from grammar pieces', () => {
    fc.assert(
      fc.property(grammar, (text) => {
        assertWellFormed(text);
        assertWellFormed(`/incident ${text}`);
        const result = parseCommand(`/incident ${text}`, { slackEntities: true });
        if (result.ok) expect(JSON.stringify(result.command)).not.toMatch(/[\uE000\uE001]/);
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
    const content = fc
      .string({ unit: 'grapheme', maxLength: 40 })
      .filter((s) => !s.includes('"') && !/^(--|—)/.test(s));
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

describe('parseCommand: Slack entities inside escapes', () => {
  it('decodes & inside a link and a mention label', () => {
    const parsed = parseCommand('/incident note <https://x.y/?a=1&amp;b=2|dash> <@U1|Tom &amp; Jerry>', {
      slackEntities: true,
    });
    expect(parsed.ok && parsed.command.args).toEqual([
      { kind: 'word', value: 'note', quoted: false },
      { kind: 'word', value: 'https://x.y/?a=1&b=2', quoted: false },
      { kind: 'mention', id: 'U1', name: 'Tom & Jerry', escaped: true },
    ]);
  });
});

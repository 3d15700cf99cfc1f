import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUTTON_ACTION_PREFIX, escapeMrkdwn, renderSlack, renderSlackResponse, toMrkdwn } from '../../../../src/adapters/slack/render.js';
import { parseCommand, restText } from '../../../../src/commands/parse-command.js';
import { channelReply, mention, privateReply, quoteUserText, roomLink, timeToken, type Card, type Reply } from '../../../../src/commands/reply.js';

interface Section {
  type: 'section';
  text?: { type: string; text: string };
  fields?: Array<{ type: string; text: string }>;
}
interface Actions {
  type: 'actions';
  elements: Array<{ type: string; action_id: string; text: { text: string }; value: string; style?: string }>;
}
interface Context {
  type: 'context';
  elements: Array<{ type: string; text: string }>;
}
type Block = Section | Actions | Context;

const blocksOf = (reply: Reply) => renderSlack(reply).blocks as Block[];
/** Every mrkdwn string in the rendered blocks, in order. */
function mrkdwnTexts(reply: Reply): string[] {
  return blocksOf(reply).flatMap((block) => {
    if (block.type === 'section') return [...(block.text ? [block.text.text] : []), ...(block.fields ?? []).map((f) => f.text)];
    if (block.type === 'context') return block.elements.map((e) => e.text);
    return [];
  });
}

/** User text as a handler would store it: through the parser and restText. */
const userText = (typed: string) => {
  const result = parseCommand(`/incident note ${typed}`);
  if (!result.ok) throw new Error(result.error);
  return restText(result.command.args, 1);
};

const card = (over: Partial<Card> = {}): Card => ({ title: 'INC-1: Payment down', fields: [], ...over });

describe('escaping', () => {
  it('escapes &, < and > in reply text and in the notification fallback', () => {
    const rendered = renderSlack(channelReply('a & b <c> d <!channel>'));
    expect(rendered.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'a &amp; b &lt;c&gt; d &lt;!channel&gt;' } }]);
    expect(rendered.text).toBe('a &amp; b &lt;c&gt; d &lt;!channel&gt;');
  });

  it('escapes an already escaped entity again, so it shows as typed', () => {
    expect(escapeMrkdwn('&lt;b&gt; &amp;')).toBe('&amp;lt;b&amp;gt; &amp;amp;');
  });

  it('escapes every user-controlled part of a card: title, text, field labels and values, footer', () => {
    const texts = mrkdwnTexts(
      privateReply(
        '',
        card({
          title: 'INC-1: <!here> & <b>',
          text: 'desc <@U1> & co',
          fields: [{ label: 'L<1>&', value: 'V <#C1> &' }],
          footer: 'foot <!everyone> &',
        }),
      ),
    );
    const joined = texts.join('\n');
    expect(joined).not.toMatch(/<(?!\/)/);
    expect(texts).toEqual([
      '*INC-1: &lt;!here&gt; &amp; &lt;b&gt;*',
      'desc &lt;@U1&gt; &amp; co',
      '*L&lt;1&gt;&amp;*\nV &lt;#C1&gt; &amp;',
      'foot &lt;!everyone&gt; &amp;',
    ]);
  });

  it('property: text without our tokens renders with no Slack markup at all', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const safe = quoteUserText(text);
        fc.pre(!/\{\{\{/.test(text)); // see the time-token bug below
        expect(toMrkdwn(safe)).not.toMatch(/[<>]/);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('tokens', () => {
  it('renders mentions, room links and times as Slack markup', () => {
    const ms = Date.parse('2026-01-01T09:30:00Z');
    expect(toMrkdwn(`${mention('U1')} in ${roomLink('C1', 'inc-1-x')} at ${timeToken(ms)}`)).toBe(
      `<@U1> in <#C1> at <!date^${ms / 1000}^{date_short_pretty} {time}|2026-01-01 09:30 UTC>`,
    );
  });

  it('renders tokens in card fields too', () => {
    const [, fields] = blocksOf(channelReply('', card({ fields: [{ label: 'Commander', value: mention('U0LEAD') }] }))) as Section[];
    expect(fields?.fields?.[0]?.text).toBe('*Commander*\n<@U0LEAD>');
  });

  it('shows tokens in the plain notification fallback as plain words', () => {
    expect(renderSlack(channelReply(`${mention('U1')} & ${timeToken(0)}`)).text).toBe('@U1 &amp; 1970-01-01 00:00 UTC');
  });

  it('does not turn tokens a user typed (through restText) into markup', () => {
    const rendered = toMrkdwn(userText('@{U1} #{C1|general} {{time:1}} <!channel> x@{U2}'));
    expect(rendered).not.toContain('<');
    expect(rendered.replace(/\u200b/g, '')).toBe('@{U1} #{C1|general} {{time:1}} @channel x@{U2}');
  });

  it('does turn a real Slack mention the user typed into a mention', () => {
    expect(toMrkdwn(userText('ask <@U123|jane>'))).toBe('ask <@U123>');
  });

  it('property: user-typed text never renders a mention or channel link', () => {
    const piece = fc.constantFrom('@', '#', '{', '}', '{{', 'U1', 'C1', '|', 'x', 'time:', '1', ' ', '<', '>', '!channel', '&');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
        const rendered = toMrkdwn(quoteUserText(parts.join('')));
        expect(rendered).not.toMatch(/<[@#]/);
        if (!parts.join('').includes('{{{')) expect(rendered).not.toContain('<');
      }),
      { numRuns: 3000, examples: [[['{{', '{', 'time:', '1', '}', '}']]] },
    );
  });

  // BUG (src/commands/reply.ts:67): "{{{time:1}}" typed by a user keeps a live {{time:1}}, which
  // the renderer turns into <!date^...>. Fix: break every "{{" including overlapping ones, e.g.
  // text.replace(/\{(?=\{)/g, '{\u200b').
  it.fails('does not render a time token forged with an extra brace', () => {
    expect(toMrkdwn(userText('{{{time:1}}'))).not.toContain('<!date');
  });
});

describe('layout limits', () => {
  it('splits long text into sections and never sends more than 50 blocks', () => {
    const text = Array.from({ length: 80 }, (_, i) => `${i} ${'x'.repeat(2000)}`).join('\n');
    const blocks = blocksOf(channelReply(text, card({ fields: Array.from({ length: 30 }, (_, i) => ({ label: `f${i}`, value: 'v' })) })));
    expect(blocks).toHaveLength(50);
    expect(blocks.every((b) => b.type === 'section')).toBe(true);
  });

  it('caps a section at 3000 characters, also after escaping', () => {
    for (const text of ['y'.repeat(5000), '&'.repeat(2700), `${'<'.repeat(700)}\n${'a'.repeat(2000)}`]) {
      for (const t of mrkdwnTexts(channelReply(text, card({ title: text, text, footer: text })))) expect(t.length).toBeLessThanOrEqual(3000);
    }
    const [first] = mrkdwnTexts(channelReply('y'.repeat(5000)));
    expect(first).toHaveLength(3000);
    expect(first?.endsWith('…')).toBe(true);
  });

  it('puts at most 10 fields in a section and caps each at 2000 characters', () => {
    const fields = Array.from({ length: 23 }, (_, i) => ({ label: `f${i}`, value: 'v'.repeat(i === 0 ? 5000 : 1) }));
    const sections = (blocksOf(channelReply('', card({ fields }))) as Section[]).filter((b) => b.fields);
    expect(sections.map((s) => s.fields!.length)).toEqual([10, 10, 3]);
    expect(sections[0]!.fields![0]!.text.length).toBe(2000);
  });

  it('property: any reply renders within Slack limits', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 6000 });
    const cardArb = fc.record({
      title: fc.string({ maxLength: 4000 }),
      text: fc.option(text, { nil: undefined }),
      fields: fc.array(fc.record({ label: fc.string({ maxLength: 50 }), value: fc.string({ maxLength: 3000 }) }), { maxLength: 40 }),
      footer: fc.option(fc.string({ maxLength: 4000 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(text, fc.option(cardArb, { nil: undefined }), (t, c) => {
        const reply: Reply = { visibility: 'channel', text: t, ...(c && { card: { ...c, ...(c.text === undefined && { text: undefined }) } as Card }) };
        const rendered = renderSlack(reply);
        expect(rendered.blocks.length).toBeLessThanOrEqual(50);
        expect(rendered.text.length).toBeLessThanOrEqual(3000);
        for (const block of rendered.blocks as Block[]) {
          if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
          if (block.type === 'section' && block.fields) {
            expect(block.fields.length).toBeLessThanOrEqual(10);
            for (const field of block.fields) expect(field.text.length).toBeLessThanOrEqual(2000);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('buttons and visibility', () => {
  it('gives each button action_id firelane:cmd:<i> and the command as its value', () => {
    const blocks = blocksOf(
      channelReply(
        '',
        card({
          buttons: [
            { label: 'Take command', command: 'incident lead INC-1 @me', style: 'primary' },
            { label: 'Show timeline', command: 'incident show INC-1' },
          ],
        }),
      ),
    );
    const actions = blocks.find((b): b is Actions => b.type === 'actions');
    expect(actions?.elements).toEqual([
      { type: 'button', action_id: `${BUTTON_ACTION_PREFIX}0`, text: { type: 'plain_text', text: 'Take command' }, value: 'incident lead INC-1 @me', style: 'primary' },
      { type: 'button', action_id: `${BUTTON_ACTION_PREFIX}1`, text: { type: 'plain_text', text: 'Show timeline' }, value: 'incident show INC-1' },
    ]);
    expect(BUTTON_ACTION_PREFIX).toBe('firelane:cmd:');
  });

  it('sends a private reply as ephemeral and a channel reply in the channel', () => {
    expect(renderSlackResponse(privateReply('only you'))).toMatchObject({ response_type: 'ephemeral', text: 'only you' });
    expect(renderSlackResponse(channelReply('everyone'))).toMatchObject({ response_type: 'in_channel', text: 'everyone' });
  });

  it('uses the card title as the fallback when there is no text', () => {
    expect(renderSlack(channelReply('', card({ title: `INC-1: ${mention('U1')} <x>` }))).text).toBe('INC-1: @U1 &lt;x&gt;');
  });
});

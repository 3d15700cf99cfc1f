// Neutral replies -> Slack Block Kit. Everything from users is escaped; only our tokens become markup.
import {
  MENTION_TOKEN,
  ROOM_TOKEN,
  TIME_TOKEN,
  formatUtc,
  toPlainText,
  type Card,
  type Reply,
} from '../../ports/reply.js';

export const BUTTON_ACTION_PREFIX = 'firelane:cmd:';

const ACCENT_EMOJI: Record<NonNullable<Card['accent']>, string> = {
  danger: ':red_circle:',
  warning: ':large_orange_circle:',
  good: ':large_green_circle:',
  neutral: ':white_circle:',
};

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Neutral text -> mrkdwn: escape, then turn our tokens into Slack mentions, channel links and date tokens. */
export function toMrkdwn(text: string): string {
  return escapeMrkdwn(text)
    .replace(MENTION_TOKEN, (_, id: string) => `<@${id}>`)
    .replace(ROOM_TOKEN, (_, id: string) => `<#${id}>`)
    .replace(TIME_TOKEN, (_, ms: string) => {
      const seconds = Math.floor(Number(ms) / 1000);
      return `<!date^${seconds}^{date_short_pretty} {time}|${formatUtc(Number(ms))}>`;
    });
}

/** Inside a `<...>` markup or an `&...;` entity at position `at`, or between a surrogate pair. */
function splitsSomething(text: string, at: number): boolean {
  if (text.lastIndexOf('<', at - 1) > text.lastIndexOf('>', at - 1)) return true;
  const amp = text.lastIndexOf('&', at - 1);
  if (amp !== -1 && at - amp <= 6 && !text.slice(amp, at).includes(';') && /^&[a-z]*$/.test(text.slice(amp, at)))
    return true;
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff;
}

/** The best place at or before `max` to cut rendered mrkdwn: a line break, else a space, else anywhere safe. */
function cutPoint(text: string, max: number): number {
  for (const separator of ['\n', ' ']) {
    for (let at = text.lastIndexOf(separator, max); at > max / 2; at = text.lastIndexOf(separator, at - 1)) {
      if (!splitsSomething(text, at)) return at;
    }
  }
  let at = max;
  while (at > 1 && splitsSomething(text, at)) at--;
  return at > 1 ? at : max;
}

/** Rendered mrkdwn in pieces of at most `max` characters, each cut where it breaks no markup. */
export function splitMrkdwn(text: string, max = 3000): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const at = cutPoint(rest, max);
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^[\n ]/, '');
  }
  if (rest) pieces.push(rest);
  return pieces;
}

/** Shortens rendered mrkdwn to `max` characters with an ellipsis, without breaking markup. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, cutPoint(text, max - 1))}…` : text;
}

/** Neutral text -> section blocks of at most 3000 characters each. */
function textSections(text: string): object[] {
  return splitMrkdwn(toMrkdwn(text)).map((piece) => ({ type: 'section', text: { type: 'mrkdwn', text: piece } }));
}

function cardBlocks(card: Card): object[] {
  const blocks: object[] = textSections(`${card.accent ? `${ACCENT_EMOJI[card.accent]} ` : ''}*${card.title}*`);
  if (card.text) blocks.push(...textSections(card.text));
  for (let i = 0; i < card.fields.length; i += 10) {
    blocks.push({
      type: 'section',
      fields: card.fields
        .slice(i, i + 10)
        .map((f) => ({ type: 'mrkdwn', text: cut(`*${toMrkdwn(f.label)}*\n${toMrkdwn(f.value)}`, 2000) })),
    });
  }
  // Slack takes at most 25 elements per actions block: a longer row (a checklist) continues in the next block.
  const buttons = card.buttons ?? [];
  for (let start = 0; start < buttons.length; start += 25) {
    blocks.push({
      type: 'actions',
      elements: buttons.slice(start, start + 25).map((b, i) => ({
        type: 'button',
        action_id: `${BUTTON_ACTION_PREFIX}${start + i}`,
        text: { type: 'plain_text', text: b.label.slice(0, 75) },
        value: b.command.slice(0, 2000),
        ...(b.style && { style: b.style }),
      })),
    });
  }
  if (card.footer)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(toMrkdwn(card.footer), 3000) }] });
  return blocks;
}

/** `text` is the notification fallback (plain, no markup); `blocks` what people see. */
export function renderSlack(reply: Reply): { text: string; blocks: object[] } {
  const blocks = [...(reply.text ? textSections(reply.text) : []), ...(reply.card ? cardBlocks(reply.card) : [])].slice(
    0,
    50,
  );
  // The fallback is what notifications show: the first line is enough (and rendering all of a long
  // list's times again is measurable on the acknowledgement path).
  const fallback = (reply.text || reply.card?.title || '').split('\n', 1)[0]!;
  return { text: cut(escapeMrkdwn(toPlainText(fallback)), 3000), blocks };
}

type SlackResponse = {
  readonly response_type: 'ephemeral' | 'in_channel';
  readonly text: string;
  readonly blocks: object[];
};
// A frozen reply cannot change, so its rendering is kept with it (the open list, asked for again and again).
const rendered = new WeakMap<Reply, SlackResponse>();

/** The body of a slash-command acknowledgement or a response_url post. */
export function renderSlackResponse(reply: Reply): SlackResponse {
  const kept = rendered.get(reply);
  if (kept) return kept;
  const response = {
    response_type: reply.visibility === 'private' ? 'ephemeral' : 'in_channel',
    ...renderSlack(reply),
  } as const;
  if (Object.isFrozen(reply)) rendered.set(reply, response);
  return response;
}

/** Channel topics are plain text up to 250 characters: mentions stay mentions, times are UTC. */
export function toTopic(text: string): string {
  const rendered = escapeMrkdwn(text)
    .replace(MENTION_TOKEN, (_, id: string) => `<@${id}>`)
    .replace(ROOM_TOKEN, (_, id: string) => `<#${id}>`)
    .replace(TIME_TOKEN, (_, ms: string) => `${new Date(Number(ms)).toISOString().slice(11, 16)} UTC`);
  return rendered.length > 250 ? cut(rendered, 250) : rendered;
}

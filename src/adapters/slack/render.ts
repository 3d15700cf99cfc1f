// Neutral replies -> Slack Block Kit. Everything from users is escaped; only our tokens become markup.
import { MENTION_TOKEN, ROOM_TOKEN, TIME_TOKEN, formatUtc, toPlainText, type Card, type Reply } from '../../commands/reply.js';

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

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function section(text: string) {
  return { type: 'section', text: { type: 'mrkdwn', text: cut(toMrkdwn(text), 3000) } };
}

/** Long text is split on line breaks into sections of at most 3000 characters each. */
function textSections(text: string): object[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (current && current.length + line.length + 1 > 2800) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) chunks.push(current);
  return chunks.map(section);
}

function cardBlocks(card: Card): object[] {
  const blocks: object[] = [section(`${card.accent ? `${ACCENT_EMOJI[card.accent]} ` : ''}*${card.title}*`)];
  if (card.text) blocks.push(...textSections(card.text));
  for (let i = 0; i < card.fields.length; i += 10) {
    blocks.push({
      type: 'section',
      fields: card.fields.slice(i, i + 10).map((f) => ({ type: 'mrkdwn', text: cut(`*${toMrkdwn(f.label)}*\n${toMrkdwn(f.value)}`, 2000) })),
    });
  }
  if (card.buttons?.length) {
    blocks.push({
      type: 'actions',
      elements: card.buttons.slice(0, 25).map((b, i) => ({
        type: 'button',
        action_id: `${BUTTON_ACTION_PREFIX}${i}`,
        text: { type: 'plain_text', text: cut(b.label, 75) },
        value: cut(b.command, 2000),
        ...(b.style && { style: b.style }),
      })),
    });
  }
  if (card.footer) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(toMrkdwn(card.footer), 3000) }] });
  return blocks;
}

/** `text` is the notification fallback (plain, no markup); `blocks` what people see. */
export function renderSlack(reply: Reply): { text: string; blocks: object[] } {
  const blocks = [...(reply.text ? textSections(reply.text) : []), ...(reply.card ? cardBlocks(reply.card) : [])].slice(0, 50);
  const fallback = reply.text || reply.card?.title || '';
  return { text: cut(escapeMrkdwn(toPlainText(fallback)), 3000), blocks };
}

/** The body of a slash-command acknowledgement or a response_url post. */
export function renderSlackResponse(reply: Reply) {
  return { response_type: reply.visibility === 'private' ? 'ephemeral' : 'in_channel', ...renderSlack(reply) } as const;
}

// Neutral replies -> Microsoft Teams: an Adaptive Card (title, text, facts, Action.Submit buttons that
// carry the command) or a markdown message. Text people typed is escaped so it cannot become a link
// or formatting; only our tokens become mentions (for users firelane has seen) and local times.
import { MENTION_TOKEN, ROOM_TOKEN, TIME_TOKEN, type Card, type Reply } from '../../ports/reply.js';

/** What a Submit button sends back: the command to run as the user who clicked. */
export const SUBMIT_KEY = 'firelane';

export interface Mention {
  type: 'mention';
  text: string;
  mentioned: { id: string; name: string };
}

export interface TeamsMessage {
  type: 'message';
  text?: string;
  textFormat?: 'markdown';
  attachments?: Array<{ contentType: 'application/vnd.microsoft.card.adaptive'; content: Record<string, unknown> }>;
  entities?: Mention[];
}

/** The display name of a user id, when firelane has seen the user in Teams. */
export type NameOf = (id: string) => string | undefined;

const COLOR: Record<NonNullable<Card['accent']>, string> = {
  danger: 'Attention',
  warning: 'Warning',
  good: 'Good',
  neutral: 'Default',
};

/** Markdown that Teams would render (links, images, emphasis, headings, lists) made literal. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]()#+!<>|{}]/g, (c) => `\\${c}`).replace(/^(\s*)-(?=\s)/gm, '$1\\-');
}

/** Neutral text -> Teams markdown, collecting the mention entities it needs. */
export function toTeamsText(text: string, nameOf: NameOf, mentions: Map<string, Mention>): string {
  const pieces: string[] = [];
  const token = new RegExp(`${MENTION_TOKEN.source}|${ROOM_TOKEN.source}|${TIME_TOKEN.source}`, 'g');
  let last = 0;
  for (const match of text.matchAll(token)) {
    pieces.push(literal(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [, userId, , roomName, ms] = match;
    if (userId !== undefined) {
      const name = nameOf(userId);
      if (name) {
        const at = `<at>${name.replace(/[<>]/g, '')}</at>`;
        mentions.set(userId, { type: 'mention', text: at, mentioned: { id: userId, name } });
        pieces.push(at);
      } else pieces.push(escapeMarkdown(`@${userId}`));
    } else if (roomName !== undefined) pieces.push(escapeMarkdown(`#${roomName}`));
    else if (ms !== undefined) pieces.push(localTime(Number(ms)));
  }
  pieces.push(literal(text.slice(last)));
  return pieces.join('');
}

/** Slack-style *bold* (as handlers write it, and as Slack shows what people type) stays bold; everything else is literal. */
function literal(text: string): string {
  return escapeMarkdown(text).replace(/\\\*([^*\\\n]{1,200}?)\\\*/g, '**$1**');
}

/** Adaptive Card date/time functions show the reader's local time; the UTC text is the fallback elsewhere. */
function localTime(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `{{DATE(${iso}, SHORT)}} {{TIME(${iso})}}`;
}

export function adaptiveCard(
  card: Card,
  nameOf: NameOf,
  text?: string,
): { content: Record<string, unknown>; mentions: Mention[] } {
  const mentions = new Map<string, Mention>();
  const render = (t: string) => toTeamsText(t, nameOf, mentions);
  const body: Array<Record<string, unknown>> = [];
  if (text) body.push({ type: 'TextBlock', text: render(text), wrap: true });
  body.push({
    type: 'TextBlock',
    text: render(card.title),
    weight: 'Bolder',
    size: 'Medium',
    wrap: true,
    color: COLOR[card.accent ?? 'neutral'],
  });
  if (card.text) body.push({ type: 'TextBlock', text: render(card.text), wrap: true });
  if (card.fields.length)
    body.push({ type: 'FactSet', facts: card.fields.map((f) => ({ title: render(f.label), value: render(f.value) })) });
  if (card.footer)
    body.push({ type: 'TextBlock', text: render(card.footer), isSubtle: true, size: 'Small', wrap: true });
  const actions = (card.buttons ?? []).map((b) => ({
    type: 'Action.Submit',
    title: b.label,
    ...(b.style && { style: b.style === 'danger' ? 'destructive' : 'positive' }),
    data: { [SUBMIT_KEY]: b.command },
  }));
  const content: Record<string, unknown> = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.4',
    body,
    ...(actions.length && { actions }),
    msteams: { width: 'Full', ...(mentions.size && { entities: [...mentions.values()] }) },
  };
  return { content, mentions: [...mentions.values()] };
}

/** A reply as a Teams message activity. */
export function renderTeams(reply: Reply, nameOf: NameOf = () => undefined): TeamsMessage {
  if (reply.card) {
    const { content } = adaptiveCard(reply.card, nameOf, reply.text || undefined);
    return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content }] };
  }
  const mentions = new Map<string, Mention>();
  const text = toTeamsText(reply.text, nameOf, mentions);
  return { type: 'message', text, textFormat: 'markdown', ...(mentions.size && { entities: [...mentions.values()] }) };
}

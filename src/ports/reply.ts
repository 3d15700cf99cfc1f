// The neutral reply model: handlers return this; each platform adapter renders it.
//
// Text is plain words plus inline tokens that renderers translate:
//   mention(id)        a mention of a platform user id
//   timeToken(ms)      a point in time, shown in the reader's local time where the platform can
//   roomLink(id, name) a link to a conversation
//   *bold*, _italic_, `code` (Slack mrkdwn style; other renderers map or strip them)
// Tokens are delimited by two private-use code points (U+E000, U+E001) that the parser removes from
// everything people type, so user text can never forge a token; everything else is literal and
// escaped by each renderer, so chat text cannot smuggle in platform markup such as Slack's <!channel>.

const OPEN = '\uE000';
const CLOSE = '\uE001';

export type Visibility = 'private' | 'channel';

export interface Field {
  label: string;
  value: string;
}

/** A button runs `command` as the user who clicked it, through the same router. */
export interface Button {
  label: string;
  command: string;
  style?: 'primary' | 'danger';
}

export interface Card {
  title: string;
  text?: string;
  fields: Field[];
  buttons?: Button[];
  footer?: string;
  accent?: 'danger' | 'warning' | 'good' | 'neutral';
}

export interface Reply {
  visibility: Visibility;
  text: string;
  card?: Card;
  /** `text` is a Markdown document (the postmortem draft), not chat text: plain-text output keeps its markers. */
  markdown?: true;
}

export const mention = (userId: string) => `${OPEN}@${userId}${CLOSE}`;
/** A link to a conversation: Slack renders it as a channel link, others as #name. */
export const roomLink = (roomId: string, name: string) => `${OPEN}#${roomId}|${name}${CLOSE}`;
export const timeToken = (ms: number) => `${OPEN}t${Math.round(ms)}${CLOSE}`;

export const MENTION_TOKEN = /\uE000@([^\uE000\uE001|]{1,200})\uE001/g;
export const TIME_TOKEN = /\uE000t(\d{1,15})\uE001/g;
export const ROOM_TOKEN = /\uE000#([^\uE000\uE001|]{1,200})\|([^\uE000\uE001]{1,80})\uE001/g;

/** Text from people made inert: the token delimiters are removed, nothing else changes. */
export function stripTokens(text: string): string {
  return text.replace(/[\uE000\uE001]/g, '');
}

export const privateReply = (text: string, card?: Card): Reply => ({
  visibility: 'private',
  text,
  ...(card && { card }),
});
export const channelReply = (text: string, card?: Card): Reply => ({
  visibility: 'channel',
  text,
  ...(card && { card }),
});

/** Plain-text form of neutral text (CLI, logs, fallbacks): mentions as @id, times in UTC. */
export function toPlainText(text: string, names: (id: string) => string = (id) => id): string {
  return text
    .replace(MENTION_TOKEN, (_, id: string) => `@${names(id)}`)
    .replace(ROOM_TOKEN, (_, _id: string, name: string) => `#${name}`)
    .replace(TIME_TOKEN, (_, ms: string) => formatUtc(Number(ms)));
}

export function formatUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

// The neutral reply model: handlers return this; each platform adapter renders it.
//
// Text is plain words plus three inline tokens that renderers translate:
//   @{U123}        a mention of a platform user id (see `mention`)
//   {{time:<ms>}}  a point in time, shown in the reader's local time where the platform can
//   #{C123|name}   a link to a conversation (see `roomLink`)
//   *bold*, _italic_, `code` (Slack mrkdwn style; other renderers map or strip them)
// Everything else is literal and is escaped by the renderer, so chat text can never smuggle in
// a platform control sequence such as Slack's <!channel>. Text from users goes through
// `quoteUserText` so it cannot forge a token either.

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
}

export const mention = (userId: string) => `@{${userId}}`;
/** A link to a conversation: Slack renders it as a channel link, others as #name. */
export const roomLink = (roomId: string, name: string) => `#{${roomId}|${name}}`;
export const timeToken = (ms: number) => `{{time:${ms}}}`;

export const MENTION_TOKEN = /@\{([A-Za-z0-9_.:-]{1,128})\}/g;
export const TIME_TOKEN = /\{\{time:(\d{1,15})\}\}/g;
export const ROOM_TOKEN = /#\{([A-Za-z0-9_.:@-]{1,200})\|([a-z0-9_-]{1,80})\}/g;

export const privateReply = (text: string, card?: Card): Reply => ({ visibility: 'private', text, ...(card && { card }) });
export const channelReply = (text: string, card?: Card): Reply => ({ visibility: 'channel', text, ...(card && { card }) });

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

/** User-typed text made inert: braces that would read as a token are broken up. */
export function quoteUserText(text: string): string {
  return text.replace(/([@#])\{/g, '$1\u200b{').replace(/\{\{/g, '{\u200b{');
}

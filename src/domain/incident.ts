// Incident types and the pure rules about them: ids, titles, war-room names, statuses.
import type { Severity } from './severity.js';

export const STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof STATUSES)[number];
export const UPDATE_STATUSES = ['investigating', 'identified', 'monitoring'] as const;
/** Every status but resolved. */
export const OPEN_STATUSES = UPDATE_STATUSES;
export type UpdateStatus = (typeof UPDATE_STATUSES)[number];

export const MAX_TITLE_CODE_POINTS = 150;
/** Slack's limit on channel names; Teams thread titles are cut to the same. */
export const MAX_ROOM_NAME = 80;

export interface Incident {
  id: number;
  title: string;
  description: string | null;
  severity: Severity;
  status: IncidentStatus;
  platform: string;
  declaredBy: string;
  commander: string | null;
  commsLead: string | null;
  declaredAt: number;
  lastUpdateAt: number;
  resolvedAt: number | null;
  roomId: string | null;
  roomName: string | null;
  cardRef: string | null;
  /** The war room's checklist card (message id), once posted. */
  playbookRef: string | null;
  rootCause: string | null;
  nextReminderAt: number | null;
  missedReminders: number;
  snoozedUntil: number | null;
}

export const incidentKey = (id: number) => `INC-${id}`;

/** `INC-12`, `inc-12` or `12` -> 12; undefined for anything else, including numbers too big to be an id. */
export function parseIncidentKey(text: string): number | undefined {
  const match = /^(?:inc-?)?(\d{1,9})$/i.exec(text.trim());
  return match ? Number(match[1]) : undefined;
}

/** Written as an incident id (`INC-<digits>`), whether or not the number is a possible id. */
export const looksLikeIncidentKey = (text: string) => /^inc-\d+$/i.test(text.trim());

/** Problem with a title in plain words, or undefined when it is fine. */
export function titleProblem(title: string): string | undefined {
  const length = Array.from(title).length;
  if (title.trim() === '') return 'the title is missing';
  if (length > MAX_TITLE_CODE_POINTS) return `the title is ${length} characters long; at most ${MAX_TITLE_CODE_POINTS}`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(title)) return 'the title contains control characters or line breaks';
  if (/[\u202a-\u202e\u2066-\u2069]/.test(title)) return 'the title contains invisible text-direction characters';
  return undefined;
}

/** Lower-case ASCII words joined by dashes, from any text (accents folded, everything else dropped). */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Room left for `-<n>` suffixes of name_taken retries, so the slug is cut the same on every attempt. */
const SUFFIX_ROOM = 4;

/**
 * War-room name `<prefix>-<n>-<slug>`, valid for Slack whatever the title holds: lower case,
 * a-z 0-9 - _ only, at most 80 characters including an optional `-<suffix>` for name_taken retries.
 * The prefix is used as configured when it is valid (config checks it), else slugified.
 */
export function warRoomName(prefix: string, id: number, title: string, attempt = 0): string {
  const safePrefix = /^[a-z0-9][a-z0-9_-]{0,19}$/.test(prefix)
    ? prefix
    : slugify(prefix).slice(0, 20).replace(/-+$/, '') || 'inc';
  const head = `${safePrefix}-${id}`;
  const suffix = attempt > 0 ? `-${attempt + 1}` : '';
  const room = MAX_ROOM_NAME - head.length - SUFFIX_ROOM - 1;
  const slug = slugify(title).slice(0, Math.max(0, room)).replace(/-+$/, '');
  return `${head}${slug ? `-${slug}` : ''}${suffix}`;
}

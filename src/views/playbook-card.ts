// How an incident's checklist looks in chat: the war-room card, its lines, and the copy taken at declaration.
import { incidentKey, type Incident } from '../domain/incident.js';
import type { Severity } from '../domain/severity.js';
import type { FileConfig } from '../config.js';
import type { PlaybookItem } from '../ports/store.js';
import { mention, stripTokens, timeToken, type Button, type Card } from '../ports/reply.js';
import { severityLabel } from './incident-card.js';

/** Slack's limit on a button label (in UTF-16 units, the stricter reading). */
const MAX_LABEL = 75;

/** The severity's playbook as the incident's checklist: one line each, config text made inert. */
export function playbookTexts(config: FileConfig, severity: Severity): string[] {
  return config.incidents.playbooks[severity]
    .map((text) => stripTokens(text).replace(/\s+/g, ' ').trim())
    .filter((text) => text !== '');
}

export const checkCommand = (incident: Incident, position: number) =>
  `incident check ${incidentKey(incident.id)} ${position}`;

/** `✅ text — @who, <time>` when done, `☐ text` when not; numbered as `/incident check` takes them. */
export function checklistLine(item: PlaybookItem): string {
  return item.doneAt !== null && item.doneBy !== null
    ? `${item.position}. ✅ ${item.text} — ${mention(item.doneBy)}, ${timeToken(item.doneAt)}`
    : `${item.position}. ☐ ${item.text}`;
}

export const progressText = (items: PlaybookItem[]) =>
  `${items.filter((i) => i.doneAt !== null).length} of ${items.length} done`;

/** A label of at most 75 UTF-16 units, cut on a code point with an ellipsis. */
export function buttonLabel(text: string): string {
  if (text.length <= MAX_LABEL) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > MAX_LABEL - 1) break;
    out += ch;
  }
  return `${out}…`;
}

export function checklistCard(incident: Incident, items: PlaybookItem[]): Card {
  const open = items.filter((item) => item.doneAt === null);
  const buttons: Button[] = open.map((item) => ({
    label: buttonLabel(item.text),
    command: checkCommand(incident, item.position),
  }));
  return {
    title: `Checklist (${severityLabel(incident.severity)})`,
    text: items.map(checklistLine).join('\n'),
    fields: [],
    ...(buttons.length > 0 && { buttons }),
    ...(open.length === 0 && { accent: 'good' as const }),
    footer: `${incidentKey(incident.id)} · ${progressText(items)} · tick an item: /incident check <number>`,
  };
}

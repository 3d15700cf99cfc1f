// The postmortem draft as Markdown: a pure function of the incident, its timeline and follow-ups.
//
// User text is copied as written (Markdown in it stays Markdown), with one exception: it must not
// change the document's structure. In one-line places (title, timeline, lists) line breaks become
// spaces. In blocks (description, root cause) a line that would start a heading (`# x`, `- # x`,
// `> # x`, a setext `===`/`---` underline) or an HTML block gets a backslash before that character,
// which Markdown shows literally, and a code fence left open is closed so it cannot swallow the
// sections after it.
import { formatDuration } from '../domain/duration.js';
import { incidentKey, type Incident } from '../domain/incident.js';
import type { PlaybookItem, Store, TimelineEvent } from '../ports/store.js';
import { formatUtc, toPlainText } from '../ports/reply.js';
import { severityLabel, statusLabel } from './incident-card.js';

export interface PostmortemInput {
  incident: Incident;
  /** The whole timeline; ordered here by time, then id. */
  timeline: TimelineEvent[];
  actionItems: Array<{ text: string }>;
  playbook: PlaybookItem[];
  /** When the draft is generated: the open incident's running duration counts to here. */
  now: number;
}

/** The actor that firelane itself records for automatic events. */
const SYSTEM_ACTOR = 'firelane';

/** Neutral text (tokens included) on one line: mentions as @id, times in UTC, line breaks as spaces. */
const oneLine = (text: string) =>
  toPlainText(text)
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .trim();

/** A line of user text that Markdown would read as a heading (ATX, possibly inside list items or quotes, or a setext underline) or an HTML block. */
const HEADING_START = /^([ \t]*(?:(?:>|[*+-](?=[ \t])|\d{1,9}[.)](?=[ \t]))[ \t]*)*)(#{1,6}(?:[ \t]|$)|<)/;
const SETEXT_UNDERLINE = /^( {0,3})([=-])(?=[=\- \t]*$)/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** Multi-line user text as Markdown that cannot open a heading or leave a code block open. */
export function inertBlock(text: string): string {
  let fence: string | undefined;
  const lines = toPlainText(text)
    .replace(/\r\n?/g, '\n')
    .trim()
    .split('\n')
    .map((line) => {
      const marker = FENCE.exec(line)?.[1];
      if (fence !== undefined) {
        if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
          fence = undefined;
        return line;
      }
      if (marker && !(marker[0] === '`' && line.slice(line.indexOf(marker) + marker.length).includes('`'))) {
        fence = marker;
        return line;
      }
      return line.replace(HEADING_START, '$1\\$2').replace(SETEXT_UNDERLINE, '$1\\$2');
    });
  return [...lines, ...(fence === undefined ? [] : [fence])].join('\n');
}

const who = (id: string) => (id === SYSTEM_ACTOR ? SYSTEM_ACTOR : `@${id}`);
const person = (id: string | null) => (id ? `@${id}` : 'unassigned');

/** When the incident was mitigated: the first `monitoring` update, else its resolution. */
export function mitigatedAt(
  incident: Incident,
  timeline: TimelineEvent[],
): { at: number; by: 'monitoring' | 'resolution' } | undefined {
  const monitoring = timeline.find((e) => e.kind === 'status_update' && e.data?.status === 'monitoring');
  if (monitoring) return { at: monitoring.at, by: 'monitoring' };
  const resolvedAt = resolvedTime(incident);
  return resolvedAt === undefined ? undefined : { at: resolvedAt, by: 'resolution' };
}

/** A reopened incident is open again, whatever its old resolution time says. */
const resolvedTime = (incident: Incident) =>
  incident.status === 'resolved' && incident.resolvedAt !== null ? incident.resolvedAt : undefined;

export function postmortemMarkdown({ incident, timeline, actionItems, playbook, now }: PostmortemInput): string {
  const events = [...timeline].sort((a, b) => a.at - b.at || a.id - b.id);
  const key = incidentKey(incident.id);
  const resolvedAt = resolvedTime(incident);
  const mitigated = mitigatedAt(incident, events);
  const since = (at: number) => formatDuration(at - incident.declaredAt);

  const timeToMitigate = mitigated
    ? `${since(mitigated.at)} (declared to ${mitigated.by === 'monitoring' ? 'the first monitoring update' : 'resolution; no monitoring update'})`
    : 'not yet';
  const timeToResolve = resolvedAt === undefined ? 'not yet' : since(resolvedAt);
  const firstSeverity = events.find((e) => e.kind === 'severity_changed' && typeof e.data?.from === 'string')?.data
    ?.from;
  const severity =
    typeof firstSeverity === 'string' && firstSeverity !== incident.severity
      ? `${severityLabel(incident.severity)} (declared as ${firstSeverity.toUpperCase()})`
      : severityLabel(incident.severity);

  const summary = [
    `- **Severity:** ${severity}`,
    `- **Status:** ${statusLabel(incident.status)}`,
    `- **Declared:** ${formatUtc(incident.declaredAt)} by ${who(incident.declaredBy)}`,
    `- **Resolved:** ${resolvedAt === undefined ? 'still open' : formatUtc(resolvedAt)}`,
    `- **Commander:** ${person(incident.commander)}`,
    `- **Comms lead:** ${person(incident.commsLead)}`,
    ...(incident.roomName ? [`- **War room:** #${oneLine(incident.roomName)}`] : []),
    `- **Time to mitigate:** ${timeToMitigate}`,
    `- **Time to resolve:** ${timeToResolve}`,
  ];

  const impact = [
    ...(incident.description ? [inertBlock(incident.description), ''] : []),
    `- **Severity:** ${severity}`,
    `- **Duration:** ${resolvedAt === undefined ? `${since(now)} so far (still open)` : `${since(resolvedAt)} (declared to resolved)`}`,
    '',
    '_Describe who was affected and how._',
  ];

  const timelineLines = events.length
    ? events.map((e) => `- ${formatUtc(e.at)} — ${who(e.actor)} — ${oneLine(e.text)}`)
    : ['_No events recorded._'];

  const actions = actionItems.length ? actionItems.map((item) => `- [ ] ${oneLine(item.text)}`) : ['_None recorded._'];

  // Items not done by the end were skipped; while the incident is open they may still be done.
  const notDone = resolvedAt === undefined ? '(not done yet)' : '(skipped)';
  const checklist = [...playbook]
    .sort((a, b) => a.position - b.position)
    .map((item) =>
      item.doneAt !== null
        ? `- [x] ${oneLine(item.text)} — ${item.doneBy ? who(item.doneBy) : 'someone'}, ${formatUtc(item.doneAt)}`
        : `- [ ] ${oneLine(item.text)} ${notDone}`,
    );

  const followUps = [
    // The paragraph keeps the checklist and the facts below it two separate lists.
    ...(checklist.length ? ['Playbook checklist:', '', ...checklist] : ['_No playbook checklist._']),
    '',
    `- **Time to mitigate:** ${timeToMitigate}`,
    `- **Time to resolve:** ${timeToResolve}`,
  ];

  const section = (title: string, lines: string[]) => [`## ${title}`, '', ...lines, ''];
  return [
    `# Postmortem: ${key} — ${oneLine(incident.title)}`,
    '',
    `_Draft generated ${formatUtc(now)} from the firelane timeline of ${key}; edit it before you share it._`,
    '',
    ...section('Summary', summary),
    ...section('Impact', impact),
    ...section('Timeline', timelineLines),
    ...section('Root cause', [incident.rootCause?.trim() ? inertBlock(incident.rootCause) : '_To be written._']),
    ...section('Action items', actions),
    ...section('Follow-ups', followUps),
  ].join('\n');
}

export const postmortemFilename = (incident: Incident) => `${incidentKey(incident.id)}-postmortem.md`;

/**
 * The draft from what the store holds now, and how many timeline events it covers. `events` limits
 * the timeline to its first n events, so the upload job renders the document the command showed
 * even when events were added in between.
 */
export async function postmortemFor(
  store: Store,
  incident: Incident,
  options: { now: number; events?: number },
): Promise<{ markdown: string; events: number }> {
  const all = await store.incidents.timeline(incident.id);
  const timeline = options.events === undefined ? all : all.slice(0, options.events);
  const markdown = postmortemMarkdown({
    incident,
    timeline,
    actionItems: await store.incidents.actionItems(incident.id),
    playbook: await store.playbooks.items(incident.id),
    now: options.now,
  });
  return { markdown, events: timeline.length };
}

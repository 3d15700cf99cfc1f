// How an incident looks in chat: the pinned card, one-line summaries, severity labels.
import { alertActorName } from '../domain/alert.js';
import type { Hotfix } from '../domain/hotfix.js';
import { incidentKey, type Incident } from '../domain/incident.js';
import type { Severity } from '../domain/severity.js';
import { formatDuration } from '../domain/duration.js';
import { mention, roomLink, timeToken, type Card } from '../ports/reply.js';

export const severityLabel = (severity: Severity) => severity.toUpperCase();

const ACCENT: Record<Severity, Card['accent']> = { sev0: 'danger', sev1: 'danger', sev2: 'warning', sev3: 'neutral' };

export const statusLabel = (status: string) => status.charAt(0).toUpperCase() + status.slice(1);

export function roomText(incident: Incident): string {
  return incident.roomId && incident.roomName
    ? roomLink(incident.roomId, incident.roomName)
    : '(war room being opened)';
}

/** What the card shows of a hotfix linked to the incident. */
export type HotfixLine = Pick<Hotfix, 'branch' | 'status' | 'prNumber' | 'prUrl' | 'tag'>;

function hotfixText(h: HotfixLine): string {
  const pull = h.prNumber !== null ? ` · PR #${h.prNumber}${h.prUrl ? ` ${h.prUrl}` : ''}` : '';
  const stage =
    h.status === 'finished'
      ? ` · released ${h.tag ?? ''}`.trimEnd()
      : h.status === 'merged'
        ? ' · merged'
        : h.status === 'creating'
          ? ' · being created'
          : '';
  return `\`${h.branch}\`${pull}${stage}`;
}

/** Who declared: a mention, or the monitoring system that did. */
export const declarerText = (id: string): string => alertActorName(id) ?? mention(id);

export function incidentCard(incident: Incident, hotfixes: readonly HotfixLine[] = []): Card {
  const key = incidentKey(incident.id);
  return {
    title: `${key}: ${incident.title}`,
    ...(incident.description ? { text: incident.description } : {}),
    accent: incident.status === 'resolved' ? 'good' : ACCENT[incident.severity],
    fields: [
      { label: 'Severity', value: severityLabel(incident.severity) },
      { label: 'Status', value: statusLabel(incident.status) },
      { label: 'Commander', value: incident.commander ? mention(incident.commander) : 'unassigned' },
      { label: 'Comms lead', value: incident.commsLead ? mention(incident.commsLead) : 'unassigned' },
      { label: 'Declared', value: `${timeToken(incident.declaredAt)} by ${declarerText(incident.declaredBy)}` },
      { label: 'Last update', value: timeToken(incident.lastUpdateAt) },
      ...(hotfixes.length
        ? [{ label: hotfixes.length === 1 ? 'Hotfix' : 'Hotfixes', value: hotfixes.map(hotfixText).join('\n') }]
        : []),
    ],
    buttons:
      incident.status === 'resolved'
        ? [{ label: 'Show timeline', command: `incident show ${key}` }]
        : [
            ...(incident.commander
              ? []
              : [{ label: 'Take command', command: `incident lead ${key} @me --take`, style: 'primary' as const }]),
            { label: 'Show timeline', command: `incident show ${key}` },
          ],
    footer: `Update: /incident update <investigating|identified|monitoring> <text>`,
  };
}

export function summaryLine(incident: Incident): string {
  const commander = incident.commander ? mention(incident.commander) : 'no commander';
  return `*${incidentKey(incident.id)}* ${severityLabel(incident.severity)} · ${statusLabel(incident.status)} · ${incident.title} · ${roomText(incident)} · ${commander} · since ${timeToken(incident.declaredAt)}`;
}

/** The war room's topic: what a responder needs at a glance. */
export function topicText(incident: Incident, now: number): string {
  const key = incidentKey(incident.id);
  if (incident.status === 'resolved') {
    return `${key} ${severityLabel(incident.severity)} · Resolved after ${formatDuration((incident.resolvedAt ?? now) - incident.declaredAt)} · ${incident.title}`;
  }
  const commander = incident.commander ? `IC ${mention(incident.commander)}` : 'no IC: /incident lead @me';
  const snoozed = incident.snoozedUntil !== null && incident.snoozedUntil > now;
  const next =
    incident.nextReminderAt === null
      ? ''
      : ` · ${snoozed ? 'reminders snoozed until' : 'next update due'} ${timeToken(incident.nextReminderAt)}`;
  return `${key} ${severityLabel(incident.severity)} · ${statusLabel(incident.status)} · ${commander}${next} · ${incident.title}`;
}

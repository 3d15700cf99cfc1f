// The triage card of an alert group no rule declares, and the timeline line of a delivery.
import { alertLinks, sourceName, type AlertDelivery } from '../domain/alert.js';
import type { Severity } from '../domain/severity.js';
import { channelReply, stripTokens, type Reply } from '../ports/reply.js';

const MAX_LABELS = 20;

/** `name=value` pairs; the renderers escape them like any literal text. */
function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  const shown = entries.slice(0, MAX_LABELS).map(([k, v]) => `${k}=${v}`);
  return stripTokens(shown.join(', ') + (entries.length > MAX_LABELS ? ` (+${entries.length - MAX_LABELS} more)` : ''));
}

/**
 * The command text of `/incident <sev> "<title>"`, quoted so the parser reads the title as one argument;
 * `--alert-group=<id>` ties the incident to the group (it links, and grants nothing).
 */
export function declareCommand(severity: Severity, title: string, groupId?: number): string {
  const quote = !title.includes('"') ? '"' : !title.includes("'") ? "'" : '"';
  const inner = quote === '"' && title.includes('"') ? title.replace(/"/g, '”') : title;
  return `incident ${severity} ${quote}${inner}${quote}${groupId === undefined ? '' : ` --alert-group=${groupId}`}`;
}

/** Status, title and how many alerts fire or resolved. */
function statusText(d: AlertDelivery, title: string): string {
  const firing = d.alerts.filter((a) => a.status === 'firing').length;
  const resolved = d.alerts.length - firing;
  const counts = [firing && `${firing} firing`, resolved && `${resolved} resolved`].filter(Boolean).join(', ');
  const truncated = d.truncatedAlerts > 0 ? ` (+${d.truncatedAlerts} not sent)` : '';
  return stripTokens(`${d.status} · ${title} (${counts}${truncated})`);
}

/**
 * What a delivery says (its timeline line): the source, status and how many alerts fire or resolved;
 * then, on a second line, the first alert's http(s) links, labelled.
 */
export function deliverySummary(d: AlertDelivery, title: string): string {
  const links = alertLinks(d.alerts[0]).map((l) => `${l.label}: ${l.url}`);
  const line = `${sourceName(d.source)}: ${statusText(d, title)}`;
  return stripTokens(links.length ? `${line}\nLinks: ${links.join(' · ')}` : line);
}

export function triageCard(d: AlertDelivery, title: string, severity: Severity, groupId?: number): Reply {
  const first = d.alerts[0];
  const description = d.commonAnnotations.description ?? first?.annotations.description;
  const labels = Object.keys(d.commonLabels).length ? d.commonLabels : (first?.labels ?? {});
  return channelReply(stripTokens(`🔔 Alert: ${title}`), {
    title: stripTokens(title),
    ...(description && { text: stripTokens(description) }),
    accent: d.status === 'firing' ? 'warning' : 'good',
    fields: [
      { label: 'Status', value: statusText(d, title) },
      { label: 'Labels', value: labelText(labels) || 'none' },
      // The first alert's links, only http(s) ones: Source (generatorURL), Grafana's Dashboard, Panel, Silence.
      ...alertLinks(first).map((l) => ({ label: l.label, value: stripTokens(l.url) })),
    ],
    buttons: [{ label: 'Declare', command: declareCommand(severity, title, groupId), style: 'danger' }],
    footer: `From ${sourceName(d.source)} (receiver ${stripTokens(d.receiver)}). Declare opens an incident at ${severity}.`,
  });
}

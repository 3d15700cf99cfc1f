// The read-only status page: `GET /status` (a self-contained HTML page) and `GET /status.json`
// (the same facts for machines). Open incidents (most severe first, then oldest) and those resolved
// in the last 7 days, straight from the store; nothing here writes.
//
// Private incidents: firelane has none today, so every incident is shown. When private incidents
// exist they must be filtered out HERE (in `statusSnapshot`, before either rendering sees them),
// because this page is meant to be shared widely and needs no sign-in. For the same reason titles
// (the one text people typed that the page shows) are left out here when `showTitles` is false
// (config `statusPage.showTitles`): both renderings then have only ids, severities, statuses, times.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatDuration } from '../../domain/duration.js';
import { incidentKey, type Incident, type IncidentStatus } from '../../domain/incident.js';
import { SEVERITIES, type Severity } from '../../domain/severity.js';
import { severityLabel, statusLabel } from '../../views/incident-card.js';
import { formatUtc } from '../../ports/reply.js';
import type { Clock } from '../../ports/clock.js';
import type { IncidentStore } from '../../ports/store.js';
import type { RouteHandler } from './server.js';

export const STATUS_PATH = '/status';
export const STATUS_JSON_PATH = '/status.json';

/** How far back resolved incidents are shown. */
export const RESOLVED_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
// Caps that only a runaway process would reach; they keep one request's work bounded.
const MAX_OPEN = 1000;
const MAX_RESOLVED = 500;
/** `?refresh=<seconds>` bounds (see the page's refresh link). */
const MIN_REFRESH_S = 10;
const MAX_REFRESH_S = 3600;
const DEFAULT_REFRESH_S = 30;

export interface StatusPageDeps {
  store: { incidents: Pick<IncidentStore, 'listOpen' | 'recentlyResolved'> };
  clock: Clock;
  /** Shown in the heading and the window title; default `firelane`. */
  title?: string;
  /** Incident titles on the page and in the JSON (config `statusPage.showTitles`); default true. */
  showTitles?: boolean;
}

export interface OpenIncidentView {
  id: string;
  /** null when titles are hidden. */
  title: string | null;
  severity: Severity;
  status: IncidentStatus;
  declaredAt: string;
  lastUpdateAt: string;
  /** From declaration to now. */
  durationSeconds: number;
}

export interface ResolvedIncidentView {
  id: string;
  /** null when titles are hidden. */
  title: string | null;
  severity: Severity;
  declaredAt: string;
  resolvedAt: string;
  /** From declaration to resolution. */
  durationSeconds: number;
}

/** The body of `/status.json`. */
export interface StatusSnapshot {
  generatedAt: string;
  open: OpenIncidentView[];
  resolved: ResolvedIncidentView[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));
const severityRank = (severity: Severity) => SEVERITIES.indexOf(severity);

/** What both renderings show, at `now`. */
export async function statusSnapshot(
  deps: Pick<StatusPageDeps, 'store' | 'showTitles'>,
  now: number,
): Promise<StatusSnapshot> {
  const titleOf = deps.showTitles === false ? () => null : (i: Incident) => i.title;
  const open = [...(await deps.store.incidents.listOpen(MAX_OPEN))].sort(
    (a, b) => severityRank(a.severity) - severityRank(b.severity) || a.declaredAt - b.declaredAt || a.id - b.id,
  );
  const resolved = await deps.store.incidents.recentlyResolved(now - RESOLVED_WINDOW_MS, MAX_RESOLVED);
  return {
    generatedAt: iso(now),
    open: open.map((i) => ({
      id: incidentKey(i.id),
      title: titleOf(i),
      severity: i.severity,
      status: i.status,
      declaredAt: iso(i.declaredAt),
      lastUpdateAt: iso(i.lastUpdateAt),
      durationSeconds: seconds(now - i.declaredAt),
    })),
    resolved: resolved.map((i: Incident) => {
      const resolvedAt = i.resolvedAt ?? now;
      return {
        id: incidentKey(i.id),
        title: titleOf(i),
        severity: i.severity,
        declaredAt: iso(i.declaredAt),
        resolvedAt: iso(resolvedAt),
        durationSeconds: seconds(resolvedAt - i.declaredAt),
      };
    }),
  };
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const timeHtml = (isoTime: string) =>
  `<time datetime="${escapeHtml(isoTime)}">${escapeHtml(formatUtc(Date.parse(isoTime)))}</time>`;
const durationHtml = (s: number) => `<time datetime="PT${s}S">${escapeHtml(formatDuration(s * 1000))}</time>`;
const badgeHtml = (severity: Severity) =>
  `<span class="badge ${severity}">${escapeHtml(severityLabel(severity))}</span>`;
const incidentHtml = (i: { id: string; title: string | null }) =>
  `<span class="key">${escapeHtml(i.id)}</span>${i.title === null ? '' : ` <bdi>${escapeHtml(i.title)}</bdi>`}`;

function headline(open: OpenIncidentView[]): { text: string; ok: boolean } {
  if (open.length === 0) return { text: 'All systems operational', ok: true };
  const worst = open.reduce((w, i) => (severityRank(i.severity) < severityRank(w) ? i.severity : w), open[0]!.severity);
  return {
    text: `${open.length} open incident${open.length === 1 ? '' : 's'} (worst: ${severityLabel(worst)})`,
    ok: false,
  };
}

const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--muted:#4a525c;--card:#fff;--line:#d5d9de;--ok-bg:#e7f5ec;--ok-fg:#14532d;--bad-bg:#fdecec;--bad-fg:#7f1d1d;--focus:#1d4ed8;--link:#1d4ed8}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e8eaed;--muted:#b3bac3;--card:#1a1e24;--line:#343a42;--ok-bg:#12301f;--ok-fg:#a7f3c0;--bad-bg:#3b1414;--bad-fg:#fecaca;--focus:#93c5fd;--link:#93c5fd}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.75rem;margin:0 0 1rem}
h2{font-size:1.25rem;margin:2rem 0 .75rem}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.state{margin:0;padding:1rem 1.25rem;border-radius:.5rem;font-size:1.25rem;font-weight:600;border:2px solid currentColor}
.state.ok{background:var(--ok-bg);color:var(--ok-fg)}
.state.bad{background:var(--bad-bg);color:var(--bad-fg)}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:.5rem;background:var(--card)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.6rem .75rem;border-bottom:1px solid var(--line)}
thead th{font-size:.875rem;color:var(--muted);font-weight:600;white-space:nowrap}
tbody tr:last-child>*{border-bottom:0}
tbody th{font-weight:400}
.key{font-weight:600;white-space:nowrap}
td time{white-space:nowrap}
.badge{display:inline-block;min-width:3.5em;text-align:center;padding:.1rem .45rem;border-radius:.3rem;font-size:.8rem;font-weight:700;letter-spacing:.03em}
.badge.sev0{background:#991b1b;color:#fff}
.badge.sev1{background:#b45309;color:#fff}
.badge.sev2{background:#fde047;color:#1b1f24}
.badge.sev3{background:#475569;color:#fff}
.empty{margin:0;padding:1rem 1.25rem;border:1px solid var(--line);border-radius:.5rem;background:var(--card);color:var(--muted)}
footer{margin-top:2rem;font-size:.875rem;color:var(--muted)}
footer p{margin:.25rem 0}
`;

export interface RenderOptions {
  title: string;
  /** Seconds between automatic reloads; none when undefined. */
  refreshSeconds?: number;
  /** false: the page says that titles are not shown (the snapshot has none). */
  showTitles?: boolean;
}

/** The whole page: no scripts, no external resources (fonts, images, styles) of any kind. */
export function renderStatusHtml(snapshot: StatusSnapshot, options: RenderOptions): string {
  const title = escapeHtml(options.title);
  const state = headline(snapshot.open);
  const openRows = snapshot.open
    .map(
      (i) =>
        `<tr><td>${badgeHtml(i.severity)}</td><th scope="row">${incidentHtml(i)}</th><td>${escapeHtml(statusLabel(i.status))}</td><td>${timeHtml(i.lastUpdateAt)}</td><td>${durationHtml(i.durationSeconds)}</td></tr>`,
    )
    .join('\n');
  const resolvedRows = snapshot.resolved
    .map(
      (i) =>
        `<tr><td>${badgeHtml(i.severity)}</td><th scope="row">${incidentHtml(i)}</th><td>${timeHtml(i.declaredAt)}</td><td>${timeHtml(i.resolvedAt)}</td><td>${durationHtml(i.durationSeconds)}</td></tr>`,
    )
    .join('\n');
  const table = (id: string, heads: string[], rows: string) =>
    `<div class="scroll" role="region" aria-labelledby="${id}" tabindex="0"><table aria-labelledby="${id}">
<thead><tr>${heads.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></div>`;
  const refresh = options.refreshSeconds;
  // Auto-refresh is opt-in (`?refresh=30`, for wall screens): reloading on its own would move a
  // screen reader's or keyboard user's place on the page (WCAG 2.2.1).
  const refreshLink =
    refresh === undefined
      ? `<a href="?refresh=${DEFAULT_REFRESH_S}">Refresh automatically every ${DEFAULT_REFRESH_S} seconds</a>`
      : `This page refreshes every ${refresh} seconds. <a href="status">Stop refreshing</a>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
${refresh === undefined ? '' : `<meta http-equiv="refresh" content="${refresh}">\n`}<title>${escapeHtml(state.text)} · ${title} status</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${title} status</h1>
<p class="state ${state.ok ? 'ok' : 'bad'}">${escapeHtml(state.text)}</p>

<h2 id="open-heading">Open incidents</h2>
${snapshot.open.length ? table('open-heading', ['Severity', 'Incident', 'Status', 'Last update', 'Duration so far'], openRows) : '<p class="empty">No open incidents.</p>'}

<h2 id="resolved-heading">Resolved in the last 7 days</h2>
${snapshot.resolved.length ? table('resolved-heading', ['Severity', 'Incident', 'Declared', 'Resolved', 'Duration'], resolvedRows) : '<p class="empty">No incidents resolved in the last 7 days.</p>'}

<footer>
<p>Generated ${timeHtml(snapshot.generatedAt)}. Times are UTC. ${refreshLink}</p>
${options.showTitles === false ? '<p>Incident titles are not shown on this page.</p>\n' : ''}
<p>Machine-readable: <a href="status.json">status.json</a></p>
</footer>
</main>
</body>
</html>
`;
}

/** `?refresh=<seconds>`, within bounds; undefined when absent or not a number. */
function refreshOf(req: IncomingMessage): number | undefined {
  const query = (req.url ?? '').split('?')[1];
  const value = query === undefined ? null : new URLSearchParams(query).get('refresh');
  if (value === null || !/^\d{1,6}$/.test(value)) return undefined;
  return Math.min(MAX_REFRESH_S, Math.max(MIN_REFRESH_S, Number(value)));
}

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function createStatusRoutes(deps: StatusPageDeps): Record<string, RouteHandler> {
  const title = deps.title ?? 'firelane';
  return {
    [`GET ${STATUS_JSON_PATH}`]: async (_req: IncomingMessage, res: ServerResponse) => {
      const body = JSON.stringify(await statusSnapshot(deps, deps.clock.now()));
      res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' }).end(body);
    },
    [`GET ${STATUS_PATH}`]: async (req: IncomingMessage, res: ServerResponse) => {
      const refreshSeconds = refreshOf(req);
      const html = renderStatusHtml(await statusSnapshot(deps, deps.clock.now()), {
        title,
        showTitles: deps.showTitles !== false,
        ...(refreshSeconds !== undefined && { refreshSeconds }),
      });
      res
        .writeHead(200, {
          ...COMMON_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        })
        .end(html);
    },
  };
}

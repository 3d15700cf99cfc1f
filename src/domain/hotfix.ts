// Hotfixes: the branch name a description becomes, git ref names typed in chat, the next patch
// version, and the texts firelane writes on GitHub (pull requests, release notes, the merge and the
// back-merge), with chat text made inert. Pure; the GitHub calls are jobs.
import { inertForGitHub as plain } from './github-text.js';
import { incidentKey, type Incident } from './incident.js';

export const HOTFIX_STATUSES = ['creating', 'open', 'failed', 'merged', 'finished'] as const;
export type HotfixStatus = (typeof HOTFIX_STATUSES)[number];

export interface Hotfix {
  id: number;
  service: string;
  /** `owner/name` */
  repo: string;
  branch: string;
  /** What the branch was cut from as asked (`production`, `v2.1.0`), and the commit once created. */
  baseRef: string;
  baseSha: string | null;
  incidentId: number | null;
  requester: string;
  platform: string;
  roomId: string;
  description: string;
  status: HotfixStatus;
  /** Why it failed, in plain words. */
  reason: string | null;
  prNumber: number | null;
  prUrl: string | null;
  mergeSha: string | null;
  tag: string | null;
  releaseUrl: string | null;
  backMergeUrl: string | null;
  createdAt: number;
  updatedAt: number;
}

export const hotfixKey = (id: number) => `HF-${id}`;

const MAX_SLUG = 40;

/** `Fix: NULL amount in refunds!` -> `fix-null-amount-in-refunds` (ASCII letters and digits, at most 40, cut at a word). */
export function slugify(text: string): string {
  const words = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > MAX_SLUG) {
      if (!slug) slug = word.slice(0, MAX_SLUG);
      break;
    }
    slug = next;
  }
  return slug || 'fix';
}

/** `hotfix/INC-12-<slug>` (or `hotfix/<slug>` without an incident): always a valid git ref name. */
export const hotfixBranch = (description: string, incidentId?: number) =>
  `hotfix/${incidentId !== undefined ? `${incidentKey(incidentId)}-` : ''}${slugify(description)}`;

/**
 * Why `name` is not a ref name git would accept (git check-ref-format, plus a length bound), or
 * undefined when it is. `refs/heads/` and `refs/tags/` prefixes are allowed.
 */
export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 200) return 'it is longer than 200 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'it has a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'it has ".."';
  if (name.includes('@{')) return 'it has "@{"';
  if (name === '@') return 'it is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it has an empty path component';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'a component starts with "."';
    if (part.endsWith('.lock')) return 'a component ends with ".lock"';
  }
  return undefined;
}

/** `v2.10.0` / `2.10.0` (build metadata allowed) -> [2, 10, 0]; pre-releases (`-rc.1`) and anything else -> undefined. */
export function parseSemver(name: string): [number, number, number] | undefined {
  const m = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\+[0-9A-Za-z.-]+)?$/.exec(name);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export const compareSemver = (a: [number, number, number], b: [number, number, number]) =>
  a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The next patch version after the newest tag, keeping its `v` prefix (v2.1.0 -> v2.1.1); v0.0.1 when there is none. */
export function nextPatch(newest: string | undefined): string {
  const version = newest === undefined ? undefined : parseSemver(newest);
  if (!newest || !version) return 'v0.0.1';
  return `${newest.startsWith('v') ? 'v' : ''}${version[0]}.${version[1]}.${version[2] + 1}`;
}

export interface PullBodyFacts {
  hotfix: Pick<Hotfix, 'service' | 'branch' | 'baseRef' | 'description' | 'id'>;
  incident?: Incident | undefined;
  productionBranch: string;
  /** Where the war room is, in words (e.g. `Slack #inc-12-payments-down`). */
  warRoom?: string;
}

/** The body of the hotfix pull request: summary, severity, impact, links, rollback plan, checklist. */
export function hotfixPullBody({ hotfix, incident, productionBranch, warRoom }: PullBodyFacts): string {
  const lines = [`## Hotfix: ${plain(hotfix.description)}`, ''];
  if (incident) {
    lines.push(
      `**Incident:** ${incidentKey(incident.id)}: ${plain(incident.title)}`,
      `**Severity:** ${incident.severity.toUpperCase()}`,
      `**Status:** ${incident.status}`,
      `**Impact:** ${incident.description ? plain(incident.description) : 'not described yet'}`,
    );
    if (warRoom) lines.push(`**War room:** ${plain(warRoom)}`);
  } else {
    lines.push('**Incident:** none linked');
  }
  lines.push(
    '',
    '## Rollback plan',
    '',
    `If this makes things worse after the deploy: \`/rollback ${hotfix.service}\` returns to the version running before (it needs an approval like any deploy).`,
    '',
    '## Checklist',
    '',
    '- [ ] The fix is the smallest change that stops the impact',
    '- [ ] Tests cover the failure that caused the incident',
    '- [ ] Required checks pass',
    '- [ ] Reviewed by someone other than the author',
    `- [ ] After merge: deploy with \`/deploy ${hotfix.service} <version>\`, then watch the health check`,
    '',
    `_Opened by firelane from \`${hotfix.branch}\` into \`${productionBranch}\` (${hotfixKey(hotfix.id)})._`,
  );
  return lines.join('\n');
}

/** The hotfix pull request's title: `Hotfix INC-7: <description>`. */
export function hotfixPullTitle(hotfix: Pick<Hotfix, 'description'>, incident?: Pick<Incident, 'id'>): string {
  return `Hotfix${incident ? ` ${incidentKey(incident.id)}` : ''}: ${plain(hotfix.description)}`;
}

/** The merge commit's title; the pull request's own number is the one reference in it. */
export const hotfixMergeTitle = (hotfix: Pick<Hotfix, 'branch'>, pullNumber: number) =>
  `Merge hotfix ${plain(hotfix.branch)} (#${pullNumber})`;

/** The release notes of the version a hotfix is tagged as. */
export function hotfixReleaseNotes(
  hotfix: Pick<Hotfix, 'description' | 'branch' | 'prUrl' | 'prNumber'>,
  incident?: Pick<Incident, 'id' | 'title' | 'severity'>,
): string {
  return [
    `Hotfix: ${plain(hotfix.description)}`,
    '',
    incident
      ? `Incident: ${incidentKey(incident.id)}: ${plain(incident.title)} (${incident.severity.toUpperCase()})`
      : 'Incident: none linked',
    // The pull request by its address: a bare #n would be an issue reference like any other.
    `Pull request: ${hotfix.prUrl ?? `number ${hotfix.prNumber}`}`,
    `Branch: ${plain(hotfix.branch)}`,
  ].join('\n');
}

/** The pull request that brings a released hotfix back into the develop branch. */
export function backMergePull(
  tag: string,
  hotfix: Pick<Hotfix, 'branch'>,
  developBranch: string,
): { title: string; body: string } {
  const [version, branch, into] = [plain(tag), plain(hotfix.branch), plain(developBranch)];
  return {
    title: `Back-merge hotfix ${version} into ${into}`,
    body: `Brings hotfix ${version} (${branch}) back into ${into}.`,
  };
}

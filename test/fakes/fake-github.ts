/**
 * Stateful loopback fake of the GitHub REST API (the part a hotfix flow uses), good enough for the real
 * `@octokit/rest` 22 with `@octokit/plugin-retry` and `@octokit/plugin-throttling`.
 *
 * It keeps a commit graph per repository (40-hex shas, parent links), branches and tags as refs (lightweight and
 * annotated), and computes from that graph what GitHub computes: compare (ahead/behind/status/commits), "No commits
 * between" on pull request creation, merges (a merge, squash or rebase commit that moves the base), combined commit
 * status, `mergeable` (null on the first read after the head or base moved, then computed: clean, dirty on a declared
 * conflict, blocked by branch protection, unstable on a failing check), required status checks and approvals on merge
 * (405), a head that moved since it was read (409), deployments with auto-merge and required contexts (202/409).
 *
 * Errors have GitHub's shape (`{ message, documentation_url, errors?, status }`), every response carries the primary
 * rate-limit headers, lists paginate with `Link` headers, path parameters are percent-decoded (`hotfix%2FINC-1-x`).
 * Tests can inject failures (`failNext`) and rate limits (`rateLimitNext`: secondary 403/429 with retry-after, or the
 * primary limit with x-ratelimit-remaining 0).
 *
 * Not modelled: file contents and trees (a conflict is declared with setMergeConflict), GraphQL, webhooks, check
 * suites, required "up to date" (strict) protection, rulesets, repository merge-method settings, code owners.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export interface FakeGitHubOptions {
  /** The token the server accepts (`Authorization: token X` or `Bearer X`); default a random `ghs_...`. */
  token?: string;
  /** A second token that may read but not write (writes get 403 "Resource not accessible by integration"). */
  readOnlyToken?: string;
  /** Login of the token's user (author of pull requests, merges, releases, deployments); default `firelane-bot`. */
  login?: string;
  /** Serve under this path, as GitHub Enterprise Server does (`/api/v3`); default none. */
  pathPrefix?: string;
  /** Primary rate limit per hour (x-ratelimit-limit); default 5000. Past it: 403 "API rate limit exceeded". */
  rateLimit?: number;
  /** Base of html_url links; default https://github.com. */
  htmlUrl?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path as sent (percent-encoded), without the path prefix and the query string. */
  path: string;
  /** Path segments percent-decoded, joined with '/' (`/repos/acme/payments/git/ref/heads/hotfix/x`). */
  decodedPath: string;
  query: Record<string, string>;
  body?: unknown;
  headers: http.IncomingHttpHeaders;
  /** Status the fake answered with. */
  status?: number;
}

export type { FailureSpec } from './failure-spec.js';
import type { FailureSpec } from './failure-spec.js';

export interface RateLimitSpec {
  /** secondary: 403 (or 429) with retry-after and "You have exceeded a secondary rate limit"; primary: 403 with x-ratelimit-remaining 0. */
  kind?: 'secondary' | 'primary';
  /** HTTP status; default 403. GitHub also answers 429. */
  status?: 403 | 429;
  /** Seconds in retry-after (secondary) or until x-ratelimit-reset (primary); default 1. */
  retryAfter?: number;
  times?: number;
  method?: string;
  path?: string | RegExp;
}

/** A commit message, or a message with the author's login. */
export type SeedCommit = string | { message: string; author?: string };

export interface RepoSeed {
  /** Default `main`; it is created (with one commit) when `branches` does not list it. */
  defaultBranch?: string;
  /**
   * Branches with their commits, oldest first. `{ from, commits }` forks from an existing branch (listed earlier or
   * the default branch) and adds commits on top.
   */
  branches?: Record<string, SeedCommit[] | { from: string; commits?: SeedCommit[] }>;
  /** Tags at a branch, tag or sha: lightweight (`'production'`), or `{ target, annotated: true, message }`. */
  tags?: Record<string, string | { target: string; annotated?: boolean; message?: string }>;
}

export type CheckRunStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
export type CheckRunConclusion =
  'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | 'stale';
export type StatusState = 'success' | 'failure' | 'error' | 'pending';
export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

export interface FakeRepo {
  readonly owner: string;
  readonly name: string;
  readonly defaultBranch: string;
  /** The commit sha of a branch, tag (peeled), `refs/...` name or (short) sha; undefined when it resolves to nothing. */
  sha(ref: string): string | undefined;
  /** Pushes a commit onto a branch (moving its ref; open pull requests see the new head). Returns its sha. */
  commit(branch: string, message: string, options?: { author?: string }): string;
  /** Creates a branch at a branch, tag or sha. */
  createBranch(name: string, from: string): string;
  /** Creates a tag at a branch, tag or sha; annotated tags get a tag object. Returns the sha the ref points to. */
  tag(name: string, target: string, options?: { annotated?: boolean; message?: string }): string;
  /** Creates or replaces (by name, on that commit) a check run, as GitHub Actions writes them. */
  setCheckRun(
    ref: string,
    name: string,
    run: { status?: CheckRunStatus; conclusion?: CheckRunConclusion | null; detailsUrl?: string },
  ): void;
  /** Adds a commit status (the newest per context wins). */
  setStatus(
    ref: string,
    context: string,
    state: StatusState,
    options?: { targetUrl?: string; description?: string },
  ): void;
  /** Protects a branch, requiring these status-check contexts (and optionally approving reviews) to merge into it. */
  protect(branch: string, contexts: string[], options?: { requiredApprovals?: number }): void;
  unprotect(branch: string): void;
  /** A submitted review of a pull request by another user. */
  addReview(pull: number, user: string, state: ReviewState, body?: string): void;
  /** Declares that merging head into base conflicts (both directions); `false` removes it. */
  setMergeConflict(head: string, base: string, conflict?: boolean): void;
  /** Snapshot of a pull request as the API returns it (without touching the mergeable computation). */
  pull(number: number): any;
  pulls(): any[];
  releases(): any[];
  deployments(): any[];
  deploymentStatuses(id: number): any[];
  /** Full ref names -> sha (`refs/heads/main`). */
  refs(): Record<string, string>;
  /** Commit messages from a branch back to the root, newest first (first parents). */
  log(ref: string): string[];
}

export interface FakeGitHub {
  /** API base URL (with the path prefix): pass as Octokit baseUrl. */
  url: string;
  token: string;
  readOnlyToken: string;
  login: string;
  addRepo(owner: string, name: string, seed?: RepoSeed): FakeRepo;
  repo(owner: string, name: string): FakeRepo;
  commit(owner: string, repo: string, branch: string, message: string): string;
  setCheckRun(
    owner: string,
    repo: string,
    ref: string,
    name: string,
    run: { status?: CheckRunStatus; conclusion?: CheckRunConclusion | null; detailsUrl?: string },
  ): void;
  setStatus(
    owner: string,
    repo: string,
    ref: string,
    context: string,
    state: StatusState,
    options?: { targetUrl?: string; description?: string },
  ): void;
  protect(
    owner: string,
    repo: string,
    branch: string,
    contexts: string[],
    options?: { requiredApprovals?: number },
  ): void;
  addReview(owner: string, repo: string, pull: number, user: string, state: ReviewState, body?: string): void;
  setMergeConflict(owner: string, repo: string, head: string, base: string, conflict?: boolean): void;
  requests: RecordedRequest[];
  /** The next matching request(s) get this error instead of being served (after authentication). */
  failNext(failure: FailureSpec): void;
  /** The next matching request(s) are rate limited. */
  rateLimitNext(spec?: RateLimitSpec): void;
  /** Primary rate limit counters (x-ratelimit-*). */
  rateLimit(): { limit: number; remaining: number; used: number; reset: number };
  close(): Promise<void>;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* State                                                                                                          */
/* ------------------------------------------------------------------------------------------------------------ */

interface Person {
  login: string | null;
  name: string;
  email: string;
}
interface CommitRec {
  sha: string;
  message: string;
  author: Person;
  committer: Person;
  parents: string[];
  tree: string;
  date: string;
  seq: number;
}
interface TagObject {
  sha: string;
  tag: string;
  message: string;
  object: string;
  tagger: Person;
  date: string;
}
interface LabelRec {
  id: number;
  name: string;
  color: string;
  description: string | null;
}
interface PullRec {
  id: number;
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt: string | null;
  closedAt: string | null;
  mergeCommitSha: string | null;
  /** Head sha when the pull request stopped following its branch (closed), or the last one seen. */
  headSha: string;
  labels: LabelRec[];
  user: string;
  createdAt: string;
  updatedAt: string;
  /** `${head}:${base}` shas mergeability was computed for; a read with other shas answers null (computing). */
  mergeableFor?: string;
}
interface CheckRunRec {
  id: number;
  headSha: string;
  name: string;
  status: CheckRunStatus;
  conclusion: CheckRunConclusion | null;
  detailsUrl: string | null;
  startedAt: string;
  completedAt: string | null;
}
interface StatusRec {
  id: number;
  sha: string;
  context: string;
  state: StatusState;
  targetUrl: string | null;
  description: string | null;
  createdAt: string;
  creator: string;
}
interface ReviewRec {
  id: number;
  pull: number;
  user: string;
  state: ReviewState;
  body: string;
  commitId: string;
  submittedAt: string;
}
interface ReleaseRec {
  id: number;
  tagName: string;
  targetCommitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  createdAt: string;
  publishedAt: string | null;
  author: string;
}
interface DeploymentStatusRec {
  id: number;
  state: string;
  description: string;
  environment: string;
  logUrl: string;
  environmentUrl: string;
  createdAt: string;
  creator: string;
}
interface DeploymentRec {
  id: number;
  sha: string;
  ref: string;
  task: string;
  payload: unknown;
  environment: string;
  description: string | null;
  transient: boolean;
  production: boolean;
  createdAt: string;
  creator: string;
  statuses: DeploymentStatusRec[];
}
interface RepoState {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  commits: Map<string, CommitRec>;
  tagObjects: Map<string, TagObject>;
  /** `refs/heads/x`, `refs/tags/v1` -> sha of a commit or a tag object. */
  refs: Map<string, string>;
  nextNumber: number;
  pulls: Map<number, PullRec>;
  labels: Map<string, LabelRec>;
  checkRuns: CheckRunRec[];
  statuses: StatusRec[];
  reviews: ReviewRec[];
  protections: Map<string, { contexts: string[]; requiredApprovals: number }>;
  conflicts: Set<string>;
  releases: ReleaseRec[];
  deployments: DeploymentRec[];
}

/** An error answer in GitHub's shape. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { errors?: unknown[]; documentationUrl?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}

const DOCS = 'https://docs.github.com/rest';
const notFound = () => new ApiError(404, 'Not Found', { documentationUrl: DOCS });
const validationFailed = (...errors: unknown[]) => new ApiError(422, 'Validation Failed', { errors });

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const SHA_RE = /^[0-9a-f]{40}$/;
const SHORT_SHA_RE = /^[0-9a-f]{7,39}$/;
const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const firstLine = (s: string) => s.split('\n', 1)[0] ?? '';
const LABEL_COLORS = ['ededed', 'd73a4a', '0075ca', 'a2eeef', '7057ff', '008672', 'e4e669', 'd876e3'];

/* ------------------------------------------------------------------------------------------------------------ */
/* Server                                                                                                         */
/* ------------------------------------------------------------------------------------------------------------ */

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const token = options.token ?? `ghs_${randomBytes(18).toString('hex')}`;
  const readOnlyToken = options.readOnlyToken ?? `ghs_${randomBytes(18).toString('hex')}`;
  const login = options.login ?? 'firelane-bot';
  const prefix = (options.pathPrefix ?? '').replace(/\/$/, '');
  const htmlBase = (options.htmlUrl ?? 'https://github.com').replace(/\/$/, '');
  const limit = options.rateLimit ?? 5000;

  const repos = new Map<string, RepoState>();
  const requests: RecordedRequest[] = [];
  const failures: Array<FailureSpec & { left: number }> = [];
  let nextId = 1_000_000;
  let seq = 0;
  let used = 0;
  let resetAt = Math.floor(Date.now() / 1000) + 3600;
  let apiBase = '';

  const newId = () => (nextId += 1 + Math.floor(Math.random() * 3));
  const newSha = (...parts: string[]) =>
    createHash('sha1')
      .update(`${++seq}\0${parts.join('\0')}\0${Math.random()}`)
      .digest('hex');
  const person = (loginName: string | null): Person => ({
    login: loginName,
    name: loginName ?? 'Unknown',
    email: loginName ? `${loginName}@users.noreply.github.com` : 'unknown@example.com',
  });
  const userJson = (name: string) => ({
    login: name,
    id: Math.abs([...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7)),
    type: name.endsWith('[bot]') || name.endsWith('-bot') ? 'Bot' : 'User',
    url: `${apiBase}/users/${name}`,
    html_url: `${htmlBase}/${name}`,
  });

  /* ---------------------------------------------- git objects -------------------------------------------- */

  function repoKey(owner: string, name: string) {
    return `${owner.toLowerCase()}/${name.toLowerCase()}`;
  }
  function getRepo(owner: string, name: string): RepoState {
    const r = repos.get(repoKey(owner, name));
    if (!r) throw new Error(`fake-github: no repository ${owner}/${name} (addRepo it first)`);
    return r;
  }
  function addCommit(r: RepoState, message: string, parents: string[], author: string | null): CommitRec {
    const date = nowIso();
    const c: CommitRec = {
      sha: newSha(r.owner, r.name, message, ...parents),
      message,
      author: person(author),
      committer: person(author === login ? login : 'web-flow'),
      parents,
      tree: newSha('tree', message),
      date,
      seq,
    };
    r.commits.set(c.sha, c);
    return c;
  }
  /** A commit sha for a commit or tag-object sha (tags peeled). */
  function peel(r: RepoState, sha: string): string | undefined {
    let s: string | undefined = sha;
    for (let i = 0; i < 10 && s; i++) {
      if (r.commits.has(s)) return s;
      s = r.tagObjects.get(s)?.object;
    }
    return undefined;
  }
  const branchSha = (r: RepoState, b: string) => r.refs.get(`refs/heads/${b}`);
  /** git's rev-parse order for a name: a full or short sha, refs/..., tags/..., heads/..., then tag, then branch. */
  function resolve(r: RepoState, spec: string): string | undefined {
    if (SHA_RE.test(spec)) return peel(r, spec);
    for (const candidate of [spec, `refs/${spec}`, `refs/tags/${spec}`, `refs/heads/${spec}`]) {
      const target = r.refs.get(candidate);
      if (target) return peel(r, target);
    }
    if (SHORT_SHA_RE.test(spec)) {
      const matches = [...r.commits.keys()].filter((s) => s.startsWith(spec));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }
  function ancestors(r: RepoState, sha: string): Set<string> {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length) {
      const s = stack.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      stack.push(...(r.commits.get(s)?.parents ?? []));
    }
    return seen;
  }
  /** Commits reachable from head and not from base, oldest first. */
  function onlyIn(r: RepoState, head: string, base: string): CommitRec[] {
    const fromBase = ancestors(r, base);
    return [...ancestors(r, head)]
      .filter((s) => !fromBase.has(s))
      .map((s) => r.commits.get(s)!)
      .sort((a, b) => a.seq - b.seq);
  }
  function mergeBase(r: RepoState, a: string, b: string): string | undefined {
    const fromB = ancestors(r, b);
    const common = [...ancestors(r, a)].filter((s) => fromB.has(s)).map((s) => r.commits.get(s)!);
    return common.sort((x, y) => y.seq - x.seq)[0]?.sha;
  }
  function setRef(r: RepoState, ref: string, sha: string) {
    r.refs.set(ref, sha);
  }
  function makeTag(
    r: RepoState,
    name: string,
    commitSha: string,
    annotated: boolean,
    message?: string,
    tagger = login,
  ): string {
    if (!annotated) {
      setRef(r, `refs/tags/${name}`, commitSha);
      return commitSha;
    }
    const obj: TagObject = {
      sha: newSha('tag', name),
      tag: name,
      message: message ?? `Release ${name}\n`,
      object: commitSha,
      tagger: person(tagger),
      date: nowIso(),
    };
    r.tagObjects.set(obj.sha, obj);
    setRef(r, `refs/tags/${name}`, obj.sha);
    return obj.sha;
  }
  const isConflict = (r: RepoState, head: string, base: string) => r.conflicts.has(`${head}\0${base}`);

  /* ---------------------------------------------- checks ------------------------------------------------- */

  function latestCheckRuns(r: RepoState, sha: string): CheckRunRec[] {
    const byName = new Map<string, CheckRunRec>();
    for (const run of r.checkRuns) if (run.headSha === sha) byName.set(run.name, run);
    return [...byName.values()];
  }
  function latestStatuses(r: RepoState, sha: string): StatusRec[] {
    const byContext = new Map<string, StatusRec>();
    for (const s of r.statuses) if (s.sha === sha) byContext.set(s.context, s);
    return [...byContext.values()].reverse();
  }
  /** success | failure | pending | missing for a context, from check runs and statuses of a commit. */
  function contextState(r: RepoState, sha: string, context: string): string {
    const run = latestCheckRuns(r, sha).find((c) => c.name === context);
    const status = latestStatuses(r, sha).find((s) => s.context === context);
    const states: string[] = [];
    if (run)
      states.push(
        run.status !== 'completed'
          ? 'pending'
          : ['success', 'neutral', 'skipped'].includes(run.conclusion ?? '')
            ? 'success'
            : 'failure',
      );
    if (status) states.push(status.state === 'error' ? 'failure' : status.state);
    if (!states.length) return 'missing';
    if (states.includes('failure')) return 'failure';
    if (states.includes('pending')) return 'pending';
    return 'success';
  }
  function combinedState(statuses: StatusRec[]): string {
    if (statuses.some((s) => s.state === 'failure' || s.state === 'error')) return 'failure';
    if (!statuses.length || statuses.some((s) => s.state === 'pending')) return 'pending';
    return 'success';
  }
  /** Why branch protection refuses a merge into base at head sha, or undefined. */
  function protectionRefusal(r: RepoState, pull: PullRec, headSha: string): string | undefined {
    const protection = r.protections.get(pull.base);
    if (!protection) return undefined;
    const bad = protection.contexts
      .map((c) => ({ c, state: contextState(r, headSha, c) }))
      .filter((x) => x.state !== 'success');
    if (bad.length === 1) {
      const { c, state } = bad[0]!;
      const word = state === 'missing' ? 'expected' : state === 'pending' ? 'in progress' : 'failing';
      return `Required status check "${c}" is ${word}.`;
    }
    if (bad.length > 1) {
      const count = (s: string) => bad.filter((x) => x.state === s).length;
      const parts = [
        count('missing') && `${count('missing')} expected`,
        count('pending') && `${count('pending')} in progress`,
        count('failure') && `${count('failure')} failing`,
      ].filter(Boolean);
      return `${bad.length} of ${protection.contexts.length} required status checks have not succeeded: ${parts.join(' and ')}.`;
    }
    const approvals = latestReviews(r, pull.number).filter((v) => v.state === 'APPROVED').length;
    if (approvals < protection.requiredApprovals) {
      const n = protection.requiredApprovals;
      return `At least ${n} approving review${n === 1 ? ' is' : 's are'} required by reviewers with write access.`;
    }
    return undefined;
  }
  function latestReviews(r: RepoState, pull: number): ReviewRec[] {
    const byUser = new Map<string, ReviewRec>();
    for (const v of r.reviews)
      if (v.pull === pull && v.state !== 'COMMENTED' && v.state !== 'PENDING') byUser.set(v.user, v);
    return [...byUser.values()];
  }

  /* ---------------------------------------------- pull requests ------------------------------------------ */

  function currentHead(r: RepoState, p: PullRec): string {
    if (p.state === 'open') {
      const sha = branchSha(r, p.head);
      if (sha) p.headSha = sha;
    }
    return p.headSha;
  }
  function computeMergeable(r: RepoState, p: PullRec, headSha: string): { mergeable: boolean; state: string } {
    if (isConflict(r, p.head, p.base)) return { mergeable: false, state: 'dirty' };
    if (p.draft) return { mergeable: true, state: 'draft' };
    if (protectionRefusal(r, p, headSha)) return { mergeable: true, state: 'blocked' };
    const failing =
      latestCheckRuns(r, headSha).some(
        (c) => c.status === 'completed' && !['success', 'neutral', 'skipped'].includes(c.conclusion ?? ''),
      ) || latestStatuses(r, headSha).some((s) => s.state === 'failure' || s.state === 'error');
    return { mergeable: true, state: failing ? 'unstable' : 'clean' };
  }
  function pullUrls(r: RepoState, n: number) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return { api, url: `${api}/pulls/${n}`, html: `${htmlBase}/${r.owner}/${r.name}/pull/${n}` };
  }
  function repoJson(r: RepoState) {
    return {
      id: r.id,
      node_id: Buffer.from(`010:Repository${r.id}`).toString('base64'),
      name: r.name,
      full_name: `${r.owner}/${r.name}`,
      owner: userJson(r.owner),
      private: true,
      html_url: `${htmlBase}/${r.owner}/${r.name}`,
      url: `${apiBase}/repos/${r.owner}/${r.name}`,
      default_branch: r.defaultBranch,
      visibility: 'private',
    };
  }
  function labelJson(r: RepoState, l: LabelRec) {
    return {
      id: l.id,
      node_id: Buffer.from(`010:Label${l.id}`).toString('base64'),
      url: `${apiBase}/repos/${r.owner}/${r.name}/labels/${encodeURIComponent(l.name)}`,
      name: l.name,
      color: l.color,
      default: false,
      description: l.description,
    };
  }
  /** The pull request as GET pulls/<n> shows it; `mergeable` is what the caller computed (or null). */
  function pullJson(r: RepoState, p: PullRec, full: { mergeable: boolean | null; state: string } | undefined) {
    const u = pullUrls(r, p.number);
    const headSha = currentHead(r, p);
    const baseSha = branchSha(r, p.base) ?? '';
    const simple = {
      url: u.url,
      id: p.id,
      node_id: Buffer.from(`011:PullRequest${p.id}`).toString('base64'),
      html_url: u.html,
      diff_url: `${u.html}.diff`,
      patch_url: `${u.html}.patch`,
      issue_url: `${u.api}/issues/${p.number}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: userJson(p.user),
      body: p.body,
      labels: p.labels.map((l) => labelJson(r, l)),
      milestone: null,
      active_lock_reason: null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt,
      merged_at: p.mergedAt,
      merge_commit_sha: p.mergeCommitSha,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: { label: `${r.owner}:${p.head}`, ref: p.head, sha: headSha, user: userJson(r.owner), repo: repoJson(r) },
      base: { label: `${r.owner}:${p.base}`, ref: p.base, sha: baseSha, user: userJson(r.owner), repo: repoJson(r) },
      author_association: 'MEMBER',
      auto_merge: null,
      draft: p.draft,
    };
    if (!full) return simple;
    const commits = onlyIn(r, headSha, baseSha || headSha).length;
    return {
      ...simple,
      merged: p.merged,
      mergeable: full.mergeable,
      rebaseable: full.mergeable,
      mergeable_state: full.state,
      merged_by: p.merged ? userJson(login) : null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: false,
      commits,
      additions: commits * 3,
      deletions: commits,
      changed_files: commits,
    };
  }
  /** The mergeability a GET shows: null (and the computation starts) on the first read after head or base moved. */
  function readMergeable(r: RepoState, p: PullRec): { mergeable: boolean | null; state: string } {
    if (p.state !== 'open') return { mergeable: null, state: 'unknown' };
    const headSha = currentHead(r, p);
    const key = `${headSha}:${branchSha(r, p.base)}`;
    if (p.mergeableFor !== key) {
      p.mergeableFor = key;
      return { mergeable: null, state: 'unknown' };
    }
    return computeMergeable(r, p, headSha);
  }

  /* ---------------------------------------------- JSON shapes -------------------------------------------- */

  function commitJson(r: RepoState, c: CommitRec) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    const personJson = (p: Person) => ({ name: p.name, email: p.email, date: c.date });
    return {
      sha: c.sha,
      node_id: Buffer.from(`04:Commit${c.sha}`).toString('base64'),
      commit: {
        author: personJson(c.author),
        committer: personJson(c.committer),
        message: c.message,
        tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
        url: `${api}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
      url: `${api}/commits/${c.sha}`,
      html_url: `${htmlBase}/${r.owner}/${r.name}/commit/${c.sha}`,
      comments_url: `${api}/commits/${c.sha}/comments`,
      author: c.author.login ? userJson(c.author.login) : null,
      committer: c.committer.login ? userJson(c.committer.login) : null,
      parents: c.parents.map((s) => ({
        sha: s,
        url: `${api}/commits/${s}`,
        html_url: `${htmlBase}/${r.owner}/${r.name}/commit/${s}`,
      })),
    };
  }
  function refJson(r: RepoState, ref: string, sha: string) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    const type = r.tagObjects.has(sha) ? 'tag' : 'commit';
    return {
      ref,
      node_id: Buffer.from(`03:Ref${r.id}:${ref}`).toString('base64'),
      url: `${api}/git/${ref}`,
      object: { sha, type, url: `${api}/git/${type === 'tag' ? 'tags' : 'commits'}/${sha}` },
    };
  }
  function tagObjectJson(r: RepoState, t: TagObject) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return {
      node_id: Buffer.from(`03:Tag${t.sha}`).toString('base64'),
      tag: t.tag,
      sha: t.sha,
      url: `${api}/git/tags/${t.sha}`,
      message: t.message,
      tagger: { name: t.tagger.name, email: t.tagger.email, date: t.date },
      object: {
        sha: t.object,
        type: r.tagObjects.has(t.object) ? 'tag' : 'commit',
        url: `${api}/git/commits/${t.object}`,
      },
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
    };
  }
  function checkRunJson(r: RepoState, c: CheckRunRec) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return {
      id: c.id,
      name: c.name,
      node_id: Buffer.from(`08:CheckRun${c.id}`).toString('base64'),
      head_sha: c.headSha,
      external_id: '',
      url: `${api}/check-runs/${c.id}`,
      html_url: `${htmlBase}/${r.owner}/${r.name}/actions/runs/${c.id}/job/${c.id + 1}`,
      details_url: c.detailsUrl ?? `${htmlBase}/${r.owner}/${r.name}/actions/runs/${c.id}/job/${c.id + 1}`,
      status: c.status,
      conclusion: c.conclusion,
      started_at: c.startedAt,
      completed_at: c.completedAt,
      output: {
        title: null,
        summary: null,
        text: null,
        annotations_count: 0,
        annotations_url: `${api}/check-runs/${c.id}/annotations`,
      },
      check_suite: { id: c.id - 1 },
      app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions', owner: userJson('github') },
      pull_requests: [],
    };
  }
  function statusJson(r: RepoState, s: StatusRec) {
    return {
      url: `${apiBase}/repos/${r.owner}/${r.name}/statuses/${s.sha}`,
      avatar_url: null,
      id: s.id,
      node_id: Buffer.from(`013:StatusContext${s.id}`).toString('base64'),
      state: s.state,
      description: s.description,
      target_url: s.targetUrl,
      context: s.context,
      created_at: s.createdAt,
      updated_at: s.createdAt,
      creator: userJson(s.creator),
    };
  }
  function releaseJson(r: RepoState, rel: ReleaseRec) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return {
      url: `${api}/releases/${rel.id}`,
      html_url: `${htmlBase}/${r.owner}/${r.name}/releases/tag/${encodeURIComponent(rel.tagName)}`,
      assets_url: `${api}/releases/${rel.id}/assets`,
      upload_url: `${api}/releases/${rel.id}/assets{?name,label}`,
      tarball_url: `${api}/tarball/${rel.tagName}`,
      zipball_url: `${api}/zipball/${rel.tagName}`,
      id: rel.id,
      node_id: Buffer.from(`07:Release${rel.id}`).toString('base64'),
      tag_name: rel.tagName,
      target_commitish: rel.targetCommitish,
      name: rel.name,
      body: rel.body,
      draft: rel.draft,
      prerelease: rel.prerelease,
      immutable: false,
      created_at: rel.createdAt,
      published_at: rel.publishedAt,
      author: userJson(rel.author),
      assets: [],
    };
  }
  function deploymentJson(r: RepoState, d: DeploymentRec) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return {
      url: `${api}/deployments/${d.id}`,
      id: d.id,
      node_id: Buffer.from(`010:Deployment${d.id}`).toString('base64'),
      sha: d.sha,
      ref: d.ref,
      task: d.task,
      payload: d.payload,
      original_environment: d.environment,
      environment: d.environment,
      description: d.description,
      creator: userJson(d.creator),
      created_at: d.createdAt,
      updated_at: d.statuses.at(-1)?.createdAt ?? d.createdAt,
      statuses_url: `${api}/deployments/${d.id}/statuses`,
      repository_url: api,
      transient_environment: d.transient,
      production_environment: d.production,
    };
  }
  function deploymentStatusJson(r: RepoState, d: DeploymentRec, s: DeploymentStatusRec) {
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return {
      url: `${api}/deployments/${d.id}/statuses/${s.id}`,
      id: s.id,
      node_id: Buffer.from(`016:DeploymentStatus${s.id}`).toString('base64'),
      state: s.state,
      creator: userJson(s.creator),
      description: s.description,
      environment: s.environment,
      target_url: s.logUrl,
      log_url: s.logUrl,
      environment_url: s.environmentUrl,
      created_at: s.createdAt,
      updated_at: s.createdAt,
      deployment_url: `${api}/deployments/${d.id}`,
      repository_url: api,
    };
  }

  /* ---------------------------------------------- mutations shared by API and seeding -------------------- */

  function pushCommit(r: RepoState, branch: string, message: string, author: string | null): string {
    const parent = branchSha(r, branch);
    if (!parent) throw new Error(`fake-github: no branch ${branch} in ${r.owner}/${r.name}`);
    const c = addCommit(r, message, [parent], author);
    setRef(r, `refs/heads/${branch}`, c.sha);
    return c.sha;
  }
  function setCheckRun(
    r: RepoState,
    ref: string,
    name: string,
    run: { status?: CheckRunStatus; conclusion?: CheckRunConclusion | null; detailsUrl?: string },
  ) {
    const sha = resolve(r, ref);
    if (!sha) throw new Error(`fake-github: ${ref} resolves to no commit`);
    const status = run.status ?? (run.conclusion ? 'completed' : 'queued');
    const existing = r.checkRuns.find((c) => c.headSha === sha && c.name === name);
    const rec: CheckRunRec = existing ?? {
      id: newId(),
      headSha: sha,
      name,
      status,
      conclusion: null,
      detailsUrl: null,
      startedAt: nowIso(),
      completedAt: null,
    };
    rec.status = status;
    rec.conclusion = status === 'completed' ? (run.conclusion ?? 'success') : null;
    rec.completedAt = status === 'completed' ? nowIso() : null;
    rec.detailsUrl = run.detailsUrl ?? rec.detailsUrl;
    if (!existing) r.checkRuns.push(rec);
  }
  function addStatus(
    r: RepoState,
    sha: string,
    context: string,
    state: StatusState,
    targetUrl: string | null,
    description: string | null,
    creator: string,
  ): StatusRec {
    const rec: StatusRec = { id: newId(), sha, context, state, targetUrl, description, createdAt: nowIso(), creator };
    r.statuses.push(rec);
    return rec;
  }
  function addLabels(r: RepoState, p: PullRec, names: string[]) {
    for (const name of names) {
      let label = r.labels.get(name.toLowerCase());
      if (!label) {
        label = { id: newId(), name, color: LABEL_COLORS[r.labels.size % LABEL_COLORS.length]!, description: null };
        r.labels.set(name.toLowerCase(), label);
      }
      if (!p.labels.some((l) => l.id === label!.id)) p.labels.push(label);
    }
    p.updatedAt = nowIso();
  }

  /* ---------------------------------------------- HTTP plumbing ------------------------------------------ */

  interface Ctx {
    req: http.IncomingMessage;
    params: Record<string, string>;
    query: URLSearchParams;
    body: any;
    /** Path as sent, without prefix or query. */
    rawPath: string;
    writable: boolean;
    repo: RepoState;
  }
  interface Reply {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
  }
  type Handler = (ctx: Ctx) => Reply;
  const routes: Array<{ method: string; parts: string[]; handler: Handler }> = [];
  const route = (method: string, pattern: string, handler: Handler) =>
    routes.push({ method, parts: pattern.split('/').slice(1), handler });

  function match(parts: string[], segments: string[]): Record<string, string> | undefined {
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.startsWith('*')) {
        const rest = segments.slice(i);
        if (!rest.length || rest.some((s) => s === '')) return undefined;
        params[part.slice(1)] = safeDecode(rest.join('/'));
        return params;
      }
      const seg = segments[i];
      if (seg === undefined || seg === '') return undefined;
      if (part.startsWith(':')) params[part.slice(1)] = safeDecode(seg);
      else if (part !== seg) return undefined;
    }
    return segments.length === parts.length ? params : undefined;
  }

  function paginate(ctx: Ctx, items: unknown[], wrap?: (page: unknown[]) => unknown): Reply {
    const perPage = Math.min(100, Math.max(1, Number(ctx.query.get('per_page')) || 30));
    const page = Math.max(1, Number(ctx.query.get('page')) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const pageItems = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number) => {
      const q = new URLSearchParams(ctx.query);
      q.set('per_page', String(perPage));
      q.set('page', String(p));
      return `<${apiBase}${ctx.rawPath}?${q.toString()}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) links.push(`${link(1)}; rel="first"`);
    return {
      status: 200,
      body: wrap ? wrap(pageItems) : pageItems,
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  const requireWrite = (ctx: Ctx) => {
    if (!ctx.writable) throw new ApiError(403, 'Resource not accessible by integration', { documentationUrl: DOCS });
  };
  const str = (v: unknown, field: string, resource: string): string => {
    if (typeof v !== 'string' || v === '') throw validationFailed({ resource, code: 'missing_field', field });
    return v;
  };

  /* ---------------------------------------------- routes: repository, refs, tags ------------------------- */

  route('GET', '/repos/:owner/:repo', (ctx) => ({ status: 200, body: repoJson(ctx.repo) }));

  route('GET', '/repos/:owner/:repo/branches/:branch', (ctx) => {
    const r = ctx.repo;
    const sha = branchSha(r, ctx.params.branch!);
    if (!sha)
      throw new ApiError(404, 'Branch not found', { documentationUrl: `${DOCS}/branches/branches#get-a-branch` });
    return {
      status: 200,
      body: {
        name: ctx.params.branch,
        commit: commitJson(r, r.commits.get(sha)!),
        protected: r.protections.has(ctx.params.branch!),
        protection_url: `${apiBase}/repos/${r.owner}/${r.name}/branches/${encodeURIComponent(ctx.params.branch!)}/protection`,
      },
    };
  });

  route('GET', '/repos/:owner/:repo/branches/:branch/protection/required_status_checks', (ctx) => {
    const r = ctx.repo;
    const branch = ctx.params.branch!;
    if (!branchSha(r, branch))
      throw new ApiError(404, 'Branch not found', { documentationUrl: `${DOCS}/branches/branch-protection` });
    const protection = r.protections.get(branch);
    if (!protection)
      throw new ApiError(404, 'Branch not protected', {
        documentationUrl: `${DOCS}/branches/branch-protection#get-status-checks-protection`,
      });
    const url = `${apiBase}/repos/${r.owner}/${r.name}/branches/${encodeURIComponent(branch)}/protection/required_status_checks`;
    return {
      status: 200,
      body: {
        url,
        strict: false,
        contexts: protection.contexts,
        checks: protection.contexts.map((context) => ({ context, app_id: null })),
        contexts_url: `${url}/contexts`,
      },
    };
  });

  function listRefs(r: RepoState, prefix: string) {
    return [...r.refs.entries()]
      .filter(([ref]) => ref.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([ref, sha]) => refJson(r, ref, sha));
  }
  route('GET', '/repos/:owner/:repo/git/refs', (ctx) => paginate(ctx, listRefs(ctx.repo, 'refs/')));
  route('GET', '/repos/:owner/:repo/git/matching-refs/*ref', (ctx) =>
    paginate(ctx, listRefs(ctx.repo, `refs/${ctx.params.ref}`)),
  );
  route('GET', '/repos/:owner/:repo/git/ref/*ref', (ctx) => {
    const ref = `refs/${ctx.params.ref}`;
    const sha = ctx.repo.refs.get(ref);
    if (!sha) throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/git/refs#get-a-reference` });
    return { status: 200, body: refJson(ctx.repo, ref, sha) };
  });
  /** Legacy form: an exact match is an object, a prefix match a list. */
  route('GET', '/repos/:owner/:repo/git/refs/*ref', (ctx) => {
    const ref = `refs/${ctx.params.ref}`;
    const sha = ctx.repo.refs.get(ref);
    if (sha) return { status: 200, body: refJson(ctx.repo, ref, sha) };
    const list = listRefs(ctx.repo, `${ref}/`);
    if (!list.length) throw notFound();
    return { status: 200, body: list };
  });
  route('POST', '/repos/:owner/:repo/git/refs', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const ref = str(ctx.body?.ref, 'ref', 'Reference');
    const sha = str(ctx.body?.sha, 'sha', 'Reference');
    if (!/^refs\/[^/]+\/.+/.test(ref) || /\.\.|[\s~^:?*[\\]|\/$|\.lock$|@\{/.test(ref)) {
      throw new ApiError(422, `Reference name must start with 'refs/' and have at least two slashes.`, {
        documentationUrl: `${DOCS}/git/refs#create-a-reference`,
      });
    }
    if (!r.commits.has(sha) && !r.tagObjects.has(sha))
      throw new ApiError(422, 'Object does not exist', { documentationUrl: `${DOCS}/git/refs#create-a-reference` });
    if (r.refs.has(ref))
      throw new ApiError(422, 'Reference already exists', { documentationUrl: `${DOCS}/git/refs#create-a-reference` });
    // git refuses refs/heads/a when refs/heads/a/b exists, and the other way round
    if ([...r.refs.keys()].some((k) => k.startsWith(`${ref}/`) || ref.startsWith(`${k}/`))) {
      throw new ApiError(422, 'Reference update failed', { documentationUrl: `${DOCS}/git/refs#create-a-reference` });
    }
    setRef(r, ref, sha);
    return {
      status: 201,
      body: refJson(r, ref, sha),
      headers: { location: `${apiBase}/repos/${r.owner}/${r.name}/git/${ref}` },
    };
  });
  route('PATCH', '/repos/:owner/:repo/git/refs/*ref', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const ref = `refs/${ctx.params.ref}`;
    const old = r.refs.get(ref);
    if (!old)
      throw new ApiError(422, 'Reference does not exist', { documentationUrl: `${DOCS}/git/refs#update-a-reference` });
    const sha = str(ctx.body?.sha, 'sha', 'Reference');
    if (!r.commits.has(sha))
      throw new ApiError(422, 'Object does not exist', { documentationUrl: `${DOCS}/git/refs#update-a-reference` });
    if (!ctx.body?.force && !ancestors(r, sha).has(peel(r, old) ?? old)) {
      throw new ApiError(422, 'Update is not a fast forward', {
        documentationUrl: `${DOCS}/git/refs#update-a-reference`,
      });
    }
    setRef(r, ref, sha);
    return { status: 200, body: refJson(r, ref, sha) };
  });
  route('DELETE', '/repos/:owner/:repo/git/refs/*ref', (ctx) => {
    requireWrite(ctx);
    const ref = `refs/${ctx.params.ref}`;
    if (!ctx.repo.refs.delete(ref))
      throw new ApiError(422, 'Reference does not exist', { documentationUrl: `${DOCS}/git/refs#delete-a-reference` });
    return { status: 204 };
  });
  route('GET', '/repos/:owner/:repo/git/tags/:sha', (ctx) => {
    const t = ctx.repo.tagObjects.get(ctx.params.sha!);
    if (!t) throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/git/tags#get-a-tag` });
    return { status: 200, body: tagObjectJson(ctx.repo, t) };
  });
  route('POST', '/repos/:owner/:repo/git/tags', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const tag = str(ctx.body?.tag, 'tag', 'Tag');
    const object = str(ctx.body?.object, 'object', 'Tag');
    if (!r.commits.has(object) && !r.tagObjects.has(object))
      throw new ApiError(422, 'Object does not exist', { documentationUrl: `${DOCS}/git/tags#create-a-tag-object` });
    const obj: TagObject = {
      sha: newSha('tag', tag),
      tag,
      message: String(ctx.body?.message ?? ''),
      object,
      tagger: person(login),
      date: nowIso(),
    };
    r.tagObjects.set(obj.sha, obj);
    return { status: 201, body: tagObjectJson(r, obj) };
  });
  route('GET', '/repos/:owner/:repo/tags', (ctx) => {
    const r = ctx.repo;
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    // GitHub lists tags by name, newest-looking first, not by semantic version
    const tags = [...r.refs.entries()]
      .filter(([ref]) => ref.startsWith('refs/tags/'))
      .map(([ref, sha]) => ({ name: ref.slice('refs/tags/'.length), sha: peel(r, sha)! }))
      .sort((a, b) => (a.name < b.name ? 1 : -1))
      .map((t) => ({
        name: t.name,
        zipball_url: `${api}/zipball/refs/tags/${t.name}`,
        tarball_url: `${api}/tarball/refs/tags/${t.name}`,
        commit: { sha: t.sha, url: `${api}/commits/${t.sha}` },
        node_id: Buffer.from(`03:Ref${r.id}:refs/tags/${t.name}`).toString('base64'),
      }));
    return paginate(ctx, tags);
  });

  /* ---------------------------------------------- routes: commits, compare, checks ----------------------- */

  function commitOr404(r: RepoState, ref: string): string {
    const sha = resolve(r, ref);
    if (!sha)
      throw new ApiError(422, `No commit found for SHA: ${ref}`, {
        documentationUrl: `${DOCS}/commits/commits#get-a-commit`,
      });
    return sha;
  }
  route('GET', '/repos/:owner/:repo/commits/:ref', (ctx) => ({
    status: 200,
    body: commitJson(ctx.repo, ctx.repo.commits.get(commitOr404(ctx.repo, ctx.params.ref!))!),
  }));

  route('GET', '/repos/:owner/:repo/compare/*basehead', (ctx) => {
    const r = ctx.repo;
    const [baseSpec, headSpec, ...more] = ctx.params.basehead!.split('...');
    if (!baseSpec || !headSpec || more.length) throw notFound();
    const strip = (s: string) => (s.includes(':') ? s.slice(s.indexOf(':') + 1) : s);
    const base = resolve(r, strip(baseSpec));
    const head = resolve(r, strip(headSpec));
    if (!base || !head)
      throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/commits/commits#compare-two-commits` });
    const ahead = onlyIn(r, head, base);
    const behind = onlyIn(r, base, head);
    const status =
      base === head ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
    const mb = mergeBase(r, base, head);
    const html = `${htmlBase}/${r.owner}/${r.name}/compare/${baseSpec}...${headSpec}`;
    return {
      status: 200,
      body: {
        url: `${apiBase}${ctx.rawPath}`,
        html_url: html,
        permalink_url: `${htmlBase}/${r.owner}/${r.name}/compare/${r.owner}:${base.slice(0, 7)}...${r.owner}:${head.slice(0, 7)}`,
        diff_url: `${html}.diff`,
        patch_url: `${html}.patch`,
        base_commit: commitJson(r, r.commits.get(base)!),
        merge_base_commit: mb ? commitJson(r, r.commits.get(mb)!) : null,
        status,
        ahead_by: ahead.length,
        behind_by: behind.length,
        total_commits: ahead.length,
        commits: ahead.slice(0, 250).map((c) => commitJson(r, c)),
        files: [],
      },
    };
  });

  route('GET', '/repos/:owner/:repo/commits/:ref/check-runs', (ctx) => {
    const r = ctx.repo;
    const sha = commitOr404(r, ctx.params.ref!);
    let runs =
      ctx.query.get('filter') === 'all' ? r.checkRuns.filter((c) => c.headSha === sha) : latestCheckRuns(r, sha);
    const name = ctx.query.get('check_name');
    const status = ctx.query.get('status');
    if (name) runs = runs.filter((c) => c.name === name);
    if (status) runs = runs.filter((c) => c.status === status);
    runs = [...runs].sort((a, b) => b.id - a.id);
    return paginate(
      ctx,
      runs.map((c) => checkRunJson(r, c)),
      (page) => ({ total_count: runs.length, check_runs: page }),
    );
  });

  route('GET', '/repos/:owner/:repo/commits/:ref/status', (ctx) => {
    const r = ctx.repo;
    const sha = commitOr404(r, ctx.params.ref!);
    const latest = latestStatuses(r, sha);
    const api = `${apiBase}/repos/${r.owner}/${r.name}`;
    return paginate(
      ctx,
      latest.map((s) => statusJson(r, s)),
      (page) => ({
        state: combinedState(latest),
        statuses: page,
        sha,
        total_count: latest.length,
        repository: repoJson(r),
        commit_url: `${api}/commits/${sha}`,
        url: `${api}/commits/${sha}/status`,
      }),
    );
  });
  route('GET', '/repos/:owner/:repo/commits/:ref/statuses', (ctx) => {
    const r = ctx.repo;
    const sha = commitOr404(r, ctx.params.ref!);
    return paginate(
      ctx,
      r.statuses
        .filter((s) => s.sha === sha)
        .reverse()
        .map((s) => statusJson(r, s)),
    );
  });
  route('POST', '/repos/:owner/:repo/statuses/:sha', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const sha = resolve(r, ctx.params.sha!);
    if (!sha)
      throw new ApiError(422, `No commit found for SHA: ${ctx.params.sha}`, {
        documentationUrl: `${DOCS}/commits/statuses#create-a-commit-status`,
      });
    const state = ctx.body?.state;
    if (!['success', 'failure', 'error', 'pending'].includes(state))
      throw validationFailed({
        resource: 'Status',
        code: 'custom',
        field: 'state',
        message: `state is not included in the list`,
      });
    const description = ctx.body?.description ?? null;
    if (typeof description === 'string' && description.length > 140) {
      throw validationFailed({
        resource: 'Status',
        code: 'custom',
        field: 'description',
        message: 'description is too long (maximum is 140 characters)',
      });
    }
    const rec = addStatus(
      r,
      sha,
      String(ctx.body?.context ?? 'default'),
      state,
      ctx.body?.target_url ?? null,
      description,
      login,
    );
    return { status: 201, body: statusJson(r, rec) };
  });

  /* ---------------------------------------------- routes: pull requests ---------------------------------- */

  function pullOr404(r: RepoState, n: string | undefined): PullRec {
    const p = r.pulls.get(Number(n));
    if (!p) throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/pulls/pulls#get-a-pull-request` });
    return p;
  }
  route('POST', '/repos/:owner/:repo/pulls', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const b = ctx.body ?? {};
    const headSpec = str(b.head, 'head', 'PullRequest');
    const base = str(b.base, 'base', 'PullRequest');
    if (typeof b.title !== 'string' || !b.title.trim())
      throw validationFailed({ resource: 'PullRequest', code: 'missing_field', field: 'title' });
    const [headOwner, head] = headSpec.includes(':')
      ? [headSpec.slice(0, headSpec.indexOf(':')), headSpec.slice(headSpec.indexOf(':') + 1)]
      : [r.owner, headSpec];
    const headSha = headOwner.toLowerCase() === r.owner.toLowerCase() ? branchSha(r, head) : undefined;
    const baseSha = branchSha(r, base);
    if (!headSha) throw validationFailed({ resource: 'PullRequest', field: 'head', code: 'invalid' });
    if (!baseSha) throw validationFailed({ resource: 'PullRequest', field: 'base', code: 'invalid' });
    if ([...r.pulls.values()].some((p) => p.state === 'open' && p.head === head && p.base === base)) {
      throw validationFailed({
        resource: 'PullRequest',
        code: 'custom',
        message: `A pull request already exists for ${r.owner}:${head}.`,
      });
    }
    if (onlyIn(r, headSha, baseSha).length === 0) {
      throw validationFailed({
        resource: 'PullRequest',
        code: 'custom',
        message: `No commits between ${base} and ${headSpec}`,
      });
    }
    const now = nowIso();
    const p: PullRec = {
      id: newId(),
      number: r.nextNumber++,
      title: b.title,
      body: typeof b.body === 'string' ? b.body : null,
      head,
      base,
      draft: Boolean(b.draft),
      state: 'open',
      merged: false,
      mergedAt: null,
      closedAt: null,
      mergeCommitSha: null,
      headSha,
      labels: [],
      user: login,
      createdAt: now,
      updatedAt: now,
    };
    r.pulls.set(p.number, p);
    return {
      status: 201,
      body: pullJson(r, p, { mergeable: null, state: 'unknown' }),
      headers: { location: pullUrls(r, p.number).url },
    };
  });
  route('GET', '/repos/:owner/:repo/pulls', (ctx) => {
    const r = ctx.repo;
    const state = ctx.query.get('state') ?? 'open';
    const headFilter = ctx.query.get('head');
    const base = ctx.query.get('base');
    let list = [...r.pulls.values()];
    if (state !== 'all') list = list.filter((p) => p.state === state);
    if (headFilter) {
      // `user:ref-name`; GitHub ignores a filter without the owner part
      const i = headFilter.indexOf(':');
      if (i > 0) {
        const owner = headFilter.slice(0, i).toLowerCase();
        const ref = headFilter.slice(i + 1);
        list = owner === r.owner.toLowerCase() ? list.filter((p) => p.head === ref) : [];
      }
    }
    if (base) list = list.filter((p) => p.base === base);
    const direction = ctx.query.get('direction') ?? 'desc';
    list.sort((a, b) => (direction === 'asc' ? a.number - b.number : b.number - a.number));
    return paginate(
      ctx,
      list.map((p) => pullJson(r, p, undefined)),
    );
  });
  route('GET', '/repos/:owner/:repo/pulls/:number', (ctx) => {
    const p = pullOr404(ctx.repo, ctx.params.number);
    return { status: 200, body: pullJson(ctx.repo, p, readMergeable(ctx.repo, p)) };
  });
  route('PATCH', '/repos/:owner/:repo/pulls/:number', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const p = pullOr404(r, ctx.params.number);
    const b = ctx.body ?? {};
    if (typeof b.title === 'string') p.title = b.title;
    if (typeof b.body === 'string') p.body = b.body;
    if (b.state === 'closed' && p.state === 'open') {
      currentHead(r, p);
      p.state = 'closed';
      p.closedAt = nowIso();
    } else if (b.state === 'open' && p.state === 'closed' && !p.merged) {
      p.state = 'open';
      p.closedAt = null;
    }
    p.updatedAt = nowIso();
    return { status: 200, body: pullJson(r, p, readMergeable(r, p)) };
  });
  route('GET', '/repos/:owner/:repo/pulls/:number/reviews', (ctx) => {
    const r = ctx.repo;
    const p = pullOr404(r, ctx.params.number);
    const reviews = r.reviews.filter((v) => v.pull === p.number);
    return paginate(
      ctx,
      reviews.map((v) => ({
        id: v.id,
        node_id: Buffer.from(`017:PullRequestReview${v.id}`).toString('base64'),
        user: userJson(v.user),
        body: v.body,
        state: v.state,
        html_url: `${pullUrls(r, p.number).html}#pullrequestreview-${v.id}`,
        pull_request_url: pullUrls(r, p.number).url,
        author_association: 'MEMBER',
        submitted_at: v.submittedAt,
        commit_id: v.commitId,
      })),
    );
  });
  route('POST', '/repos/:owner/:repo/pulls/:number/reviews', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const p = pullOr404(r, ctx.params.number);
    const event = ctx.body?.event;
    const state: ReviewState =
      event === 'APPROVE'
        ? 'APPROVED'
        : event === 'REQUEST_CHANGES'
          ? 'CHANGES_REQUESTED'
          : event === 'COMMENT'
            ? 'COMMENTED'
            : 'PENDING';
    if ((state === 'APPROVED' || state === 'CHANGES_REQUESTED') && p.user === login) {
      const what = state === 'APPROVED' ? 'approve' : 'request changes on';
      throw new ApiError(422, 'Unprocessable Entity', {
        errors: [`Can not ${what} your own pull request`],
        documentationUrl: `${DOCS}/pulls/reviews#create-a-review-for-a-pull-request`,
      });
    }
    const v: ReviewRec = {
      id: newId(),
      pull: p.number,
      user: login,
      state,
      body: String(ctx.body?.body ?? ''),
      commitId: currentHead(r, p),
      submittedAt: nowIso(),
    };
    r.reviews.push(v);
    return {
      status: 200,
      body: {
        id: v.id,
        user: userJson(v.user),
        body: v.body,
        state: v.state,
        commit_id: v.commitId,
        submitted_at: v.submittedAt,
      },
    };
  });

  function doMerge(
    r: RepoState,
    p: PullRec,
    method: string,
    title: string | undefined,
    message: string | undefined,
  ): string {
    const headSha = currentHead(r, p);
    const baseSha = branchSha(r, p.base)!;
    let result: CommitRec;
    if (method === 'merge') {
      const t = title ?? `Merge pull request #${p.number} from ${r.owner}/${p.head}`;
      result = addCommit(r, `${t}\n\n${message ?? p.title}`, [baseSha, headSha], login);
    } else if (method === 'squash') {
      const commits = onlyIn(r, headSha, baseSha);
      const t = title ?? `${p.title} (#${p.number})`;
      result = addCommit(
        r,
        `${t}\n\n${message ?? commits.map((c) => `* ${firstLine(c.message)}`).join('\n')}`,
        [baseSha],
        login,
      );
    } else {
      let tip = baseSha;
      result = r.commits.get(baseSha)!;
      for (const c of onlyIn(r, headSha, baseSha).filter((c) => c.parents.length === 1)) {
        result = addCommit(r, c.message, [tip], c.author.login);
        tip = result.sha;
      }
    }
    setRef(r, `refs/heads/${p.base}`, result.sha);
    const now = nowIso();
    p.state = 'closed';
    p.merged = true;
    p.mergedAt = now;
    p.closedAt = now;
    p.updatedAt = now;
    p.mergeCommitSha = result.sha;
    return result.sha;
  }
  route('PUT', '/repos/:owner/:repo/pulls/:number/merge', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const p = pullOr404(r, ctx.params.number);
    const docs = { documentationUrl: `${DOCS}/pulls/pulls#merge-a-pull-request` };
    const method = ctx.body?.merge_method ?? 'merge';
    if (!['merge', 'squash', 'rebase'].includes(method))
      throw validationFailed({ resource: 'PullRequest', code: 'invalid', field: 'merge_method' });
    if (p.state !== 'open') throw new ApiError(405, 'Pull Request is not mergeable', docs);
    const headSha = currentHead(r, p);
    if (ctx.body?.sha !== undefined && ctx.body.sha !== headSha)
      throw new ApiError(409, 'Head branch was modified. Review and try the merge again.', docs);
    if (p.draft) throw new ApiError(405, 'Pull Request is still a draft', docs);
    if (isConflict(r, p.head, p.base)) throw new ApiError(405, 'Pull Request is not mergeable', docs);
    const refusal = protectionRefusal(r, p, headSha);
    if (refusal) throw new ApiError(405, refusal, docs);
    if (onlyIn(r, headSha, branchSha(r, p.base)!).length === 0)
      throw new ApiError(405, 'Pull Request is not mergeable', docs);
    const sha = doMerge(r, p, method, ctx.body?.commit_title, ctx.body?.commit_message);
    return { status: 200, body: { sha, merged: true, message: 'Pull Request successfully merged' } };
  });
  route('GET', '/repos/:owner/:repo/pulls/:number/merge', (ctx) => {
    const p = pullOr404(ctx.repo, ctx.params.number);
    if (!p.merged)
      throw new ApiError(404, 'Not Found', {
        documentationUrl: `${DOCS}/pulls/pulls#check-if-a-pull-request-has-been-merged`,
      });
    return { status: 204 };
  });
  route('POST', '/repos/:owner/:repo/issues/:number/labels', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const p = r.pulls.get(Number(ctx.params.number));
    if (!p) throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/issues/labels#add-labels-to-an-issue` });
    const raw = Array.isArray(ctx.body) ? ctx.body : ctx.body?.labels;
    if (
      !Array.isArray(raw) ||
      raw.some((l) => (typeof l === 'string' ? !l.trim() : !isObject(l) || typeof l.name !== 'string'))
    ) {
      throw validationFailed({ resource: 'Label', code: 'invalid', field: 'labels' });
    }
    addLabels(
      r,
      p,
      raw.map((l: any) => (typeof l === 'string' ? l : l.name)),
    );
    return { status: 200, body: p.labels.map((l) => labelJson(r, l)) };
  });
  route('GET', '/repos/:owner/:repo/issues/:number/labels', (ctx) => {
    const r = ctx.repo;
    const p = pullOr404(r, ctx.params.number);
    return paginate(
      ctx,
      p.labels.map((l) => labelJson(r, l)),
    );
  });

  /* ---------------------------------------------- routes: releases --------------------------------------- */

  route('POST', '/repos/:owner/:repo/releases', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const b = ctx.body ?? {};
    const tagName = str(b.tag_name, 'tag_name', 'Release');
    if (r.releases.some((rel) => rel.tagName === tagName))
      throw validationFailed({ resource: 'Release', code: 'already_exists', field: 'tag_name' });
    const target = typeof b.target_commitish === 'string' && b.target_commitish ? b.target_commitish : r.defaultBranch;
    const tagRef = r.refs.get(`refs/tags/${tagName}`);
    if (!tagRef) {
      // GitHub creates the tag from target_commitish (default: the default branch) when it does not exist
      const sha = resolve(r, target);
      if (!sha) throw validationFailed({ resource: 'Release', code: 'invalid', field: 'target_commitish' });
      if (!b.draft) makeTag(r, tagName, sha, false);
    }
    const now = nowIso();
    const rel: ReleaseRec = {
      id: newId(),
      tagName,
      targetCommitish: target,
      name: typeof b.name === 'string' ? b.name : null,
      body: typeof b.body === 'string' ? b.body : null,
      draft: Boolean(b.draft),
      prerelease: Boolean(b.prerelease),
      createdAt: now,
      publishedAt: b.draft ? null : now,
      author: login,
    };
    r.releases.push(rel);
    return {
      status: 201,
      body: releaseJson(r, rel),
      headers: { location: `${apiBase}/repos/${r.owner}/${r.name}/releases/${rel.id}` },
    };
  });
  route('GET', '/repos/:owner/:repo/releases', (ctx) =>
    paginate(
      ctx,
      [...ctx.repo.releases].reverse().map((rel) => releaseJson(ctx.repo, rel)),
    ),
  );
  route('GET', '/repos/:owner/:repo/releases/tags/*tag', (ctx) => {
    const rel = ctx.repo.releases.find((x) => x.tagName === ctx.params.tag && !x.draft);
    if (!rel)
      throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/releases/releases#get-a-release-by-tag-name` });
    return { status: 200, body: releaseJson(ctx.repo, rel) };
  });

  /* ---------------------------------------------- routes: deployments ------------------------------------ */

  function deploymentOr404(r: RepoState, id: string | undefined): DeploymentRec {
    const d = r.deployments.find((x) => x.id === Number(id));
    if (!d)
      throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/deployments/deployments#get-a-deployment` });
    return d;
  }
  route('POST', '/repos/:owner/:repo/deployments', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const b = ctx.body ?? {};
    const ref = str(b.ref, 'ref', 'Deployment');
    const sha = resolve(r, ref);
    if (!sha)
      throw new ApiError(422, `No ref found for: ${ref}`, {
        documentationUrl: `${DOCS}/deployments/deployments#create-a-deployment`,
      });
    const environment = typeof b.environment === 'string' && b.environment ? b.environment : 'production';
    // auto_merge (default true): merge the default branch into a branch ref that is behind it
    if (b.auto_merge !== false && branchSha(r, ref) && ref !== r.defaultBranch) {
      const defaultSha = branchSha(r, r.defaultBranch)!;
      if (onlyIn(r, defaultSha, sha).length > 0) {
        if (isConflict(r, r.defaultBranch, ref) || isConflict(r, ref, r.defaultBranch)) {
          throw new ApiError(409, `Conflict merging ${r.defaultBranch} into ${ref}.`, {
            documentationUrl: `${DOCS}/deployments/deployments#create-a-deployment`,
          });
        }
        const merge = addCommit(r, `Merge branch '${r.defaultBranch}' into ${ref}`, [sha, defaultSha], login);
        setRef(r, `refs/heads/${ref}`, merge.sha);
        return { status: 202, body: { message: `Auto-merged ${r.defaultBranch} into ${ref} on deployment.` } };
      }
    }
    // required_contexts: omitted = every context reported on the commit; [] = none
    const contexts: string[] = Array.isArray(b.required_contexts)
      ? b.required_contexts
      : [...new Set([...latestCheckRuns(r, sha).map((c) => c.name), ...latestStatuses(r, sha).map((s) => s.context)])];
    const failing = contexts
      .map((context) => ({ context, state: contextState(r, sha, context) }))
      .filter((c) => c.state !== 'success');
    if (failing.length) {
      throw new ApiError(409, `Conflict: Commit status checks failed for ${ref}.`, {
        errors: [{ contexts: failing, resource: 'Deployment', field: 'required_contexts', code: 'invalid' }],
        documentationUrl: `${DOCS}/deployments/deployments#create-a-deployment`,
      });
    }
    const d: DeploymentRec = {
      id: newId(),
      sha,
      ref,
      task: typeof b.task === 'string' ? b.task : 'deploy',
      payload: b.payload === undefined ? {} : typeof b.payload === 'string' ? safeJson(b.payload) : b.payload,
      environment,
      description: typeof b.description === 'string' ? b.description : null,
      transient: Boolean(b.transient_environment),
      production:
        typeof b.production_environment === 'boolean' ? b.production_environment : environment === 'production',
      createdAt: nowIso(),
      creator: login,
      statuses: [],
    };
    r.deployments.push(d);
    return { status: 201, body: deploymentJson(r, d) };
  });
  route('GET', '/repos/:owner/:repo/deployments', (ctx) => {
    const r = ctx.repo;
    let list = [...r.deployments].reverse();
    for (const key of ['sha', 'ref', 'task', 'environment'] as const) {
      const v = ctx.query.get(key);
      if (v) list = list.filter((d) => d[key] === v);
    }
    return paginate(
      ctx,
      list.map((d) => deploymentJson(r, d)),
    );
  });
  route('GET', '/repos/:owner/:repo/deployments/:id', (ctx) => ({
    status: 200,
    body: deploymentJson(ctx.repo, deploymentOr404(ctx.repo, ctx.params.id)),
  }));
  route('POST', '/repos/:owner/:repo/deployments/:id/statuses', (ctx) => {
    requireWrite(ctx);
    const r = ctx.repo;
    const d = deploymentOr404(r, ctx.params.id);
    const b = ctx.body ?? {};
    const states = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
    if (!states.includes(b.state))
      throw validationFailed({
        resource: 'DeploymentStatus',
        code: 'custom',
        field: 'state',
        message: `state is not included in the list`,
      });
    const description = typeof b.description === 'string' ? b.description : '';
    if (description.length > 140) {
      throw validationFailed({
        resource: 'DeploymentStatus',
        code: 'custom',
        field: 'description',
        message: 'description is too long (maximum is 140 characters)',
      });
    }
    if (typeof b.environment === 'string' && b.environment) d.environment = b.environment;
    const add = (target: DeploymentRec, state: string, desc: string, logUrl: string, envUrl: string) => {
      const s: DeploymentStatusRec = {
        id: newId(),
        state,
        description: desc,
        environment: target.environment,
        logUrl,
        environmentUrl: envUrl,
        createdAt: nowIso(),
        creator: login,
      };
      target.statuses.push(s);
      return s;
    };
    const s = add(d, b.state, description, String(b.log_url ?? b.target_url ?? ''), String(b.environment_url ?? ''));
    // auto_inactive (default true): a successful deployment makes the earlier ones of its environment inactive
    if (b.state === 'success' && b.auto_inactive !== false) {
      for (const other of r.deployments) {
        if (
          other !== d &&
          other.environment === d.environment &&
          !other.transient &&
          other.statuses.at(-1)?.state === 'success'
        )
          add(other, 'inactive', '', '', '');
      }
    }
    return { status: 201, body: deploymentStatusJson(r, d, s) };
  });
  route('GET', '/repos/:owner/:repo/deployments/:id/statuses', (ctx) => {
    const r = ctx.repo;
    const d = deploymentOr404(r, ctx.params.id);
    return paginate(
      ctx,
      [...d.statuses].reverse().map((s) => deploymentStatusJson(r, d, s)),
    );
  });

  /* ---------------------------------------------- request handling --------------------------------------- */

  function rateHeaders(): Record<string, string> {
    const now = Math.floor(Date.now() / 1000);
    if (now >= resetAt) {
      resetAt = now + 3600;
      used = 0;
    }
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - used)),
      'x-ratelimit-reset': String(resetAt),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': 'core',
    };
  }
  function send(res: http.ServerResponse, rec: RecordedRequest, reply: Reply) {
    rec.status = reply.status;
    const headers: Record<string, string> = {
      'x-github-request-id': `${randomBytes(4).toString('hex').toUpperCase()}:${randomBytes(3).toString('hex').toUpperCase()}`,
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      ...rateHeaders(),
      ...reply.headers,
    };
    if (reply.status === 204 || reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    const text = JSON.stringify(reply.body);
    res
      .writeHead(reply.status, {
        ...headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(text)),
      })
      .end(text);
  }
  function errorReply(e: ApiError): Reply {
    const body: Record<string, unknown> = { message: e.message };
    if (e.extra.errors) body.errors = e.extra.errors;
    body.documentation_url = e.extra.documentationUrl ?? DOCS;
    body.status = String(e.status);
    return { status: e.status, body, headers: e.extra.headers };
  }
  function matchesFailure(f: FailureSpec, method: string, rawPath: string, decodedPath: string) {
    if (f.method && f.method.toUpperCase() !== method) return false;
    if (f.path === undefined) return true;
    if (typeof f.path === 'string') return f.path === rawPath || f.path === decodedPath;
    return f.path.test(rawPath) || f.path.test(decodedPath);
  }
  const DEFAULT_MESSAGES: Record<number, string> = {
    400: 'Bad Request',
    401: 'Bad credentials',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    422: 'Validation Failed',
    429: 'Too Many Requests',
    500: 'Server Error',
    502: 'Server Error',
    503: 'Service Unavailable',
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists.",
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    let rawPath = url.pathname;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const rec: RecordedRequest = {
      method,
      path: rawPath,
      decodedPath: rawPath,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
    };
    requests.push(rec);
    try {
      if (prefix) {
        if (rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) throw notFound();
        rawPath = rawPath.slice(prefix.length) || '/';
      }
      rec.path = rawPath;
      const segments = rawPath.split('/').slice(1);
      rec.decodedPath = `/${segments.map((s) => safeDecode(s)).join('/')}`;
      let body: unknown;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new ApiError(400, 'Problems parsing JSON', { documentationUrl: DOCS });
        }
        rec.body = body;
      }
      // authentication
      const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
      if (!req.headers.authorization) throw new ApiError(401, 'Requires authentication', { documentationUrl: DOCS });
      if (!auth || (auth[1] !== token && auth[1] !== readOnlyToken))
        throw new ApiError(401, 'Bad credentials', { documentationUrl: DOCS });
      const writable = auth[1] === token;
      // injected failures and rate limits
      const failure = failures.find((f) => f.left > 0 && matchesFailure(f, method, rawPath, rec.decodedPath));
      if (failure) {
        failure.left--;
        if (failure.left <= 0) failures.splice(failures.indexOf(failure), 1);
        const reply: Reply =
          failure.body !== undefined
            ? { status: failure.status, body: failure.body, headers: failure.headers }
            : errorReply(
                new ApiError(failure.status, DEFAULT_MESSAGES[failure.status] ?? 'Error', { headers: failure.headers }),
              );
        const rl = rateHeaders();
        reply.headers = { ...rl, ...reply.headers };
        send(res, rec, reply);
        return;
      }
      rateHeaders();
      if (used >= limit) {
        throw new ApiError(
          403,
          `API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID ${randomBytes(4).toString('hex').toUpperCase()}.`,
          {
            documentationUrl:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
          },
        );
      }
      used++;
      // routing
      for (const rt of routes) {
        const params = match(rt.parts, segments);
        if (!params) continue;
        if (rt.method !== method) continue;
        let repo: RepoState | undefined;
        if (params.owner !== undefined) {
          repo = repos.get(repoKey(params.owner, params.repo ?? ''));
          if (!repo) throw new ApiError(404, 'Not Found', { documentationUrl: `${DOCS}/repos/repos#get-a-repository` });
        }
        send(res, rec, rt.handler({ req, params, query: url.searchParams, body, rawPath, writable, repo: repo! }));
        return;
      }
      throw notFound();
    } catch (e) {
      if (e instanceof ApiError) send(res, rec, errorReply(e));
      else
        send(res, rec, {
          status: 500,
          body: { message: `fake-github: ${(e as Error).message}`, documentation_url: DOCS, status: '500' },
        });
    }
  }

  /* ---------------------------------------------- seeding ------------------------------------------------ */

  function makeHandle(r: RepoState): FakeRepo {
    const must = (ref: string) => {
      const sha = resolve(r, ref);
      if (!sha) throw new Error(`fake-github: ${ref} resolves to no commit in ${r.owner}/${r.name}`);
      return sha;
    };
    const findPull = (n: number) => {
      const p = r.pulls.get(n);
      if (!p) throw new Error(`fake-github: no pull request #${n} in ${r.owner}/${r.name}`);
      return p;
    };
    return {
      owner: r.owner,
      name: r.name,
      defaultBranch: r.defaultBranch,
      sha: (ref) => resolve(r, ref),
      commit: (branch, message, o) => pushCommit(r, branch, message, o?.author ?? 'dev'),
      createBranch: (name, from) => {
        const sha = must(from);
        setRef(r, `refs/heads/${name}`, sha);
        return sha;
      },
      tag: (name, target, o) => makeTag(r, name, must(target), Boolean(o?.annotated), o?.message, 'release-manager'),
      setCheckRun: (ref, name, run) => setCheckRun(r, ref, name, run),
      setStatus: (ref, context, state, o) => {
        addStatus(r, must(ref), context, state, o?.targetUrl ?? null, o?.description ?? null, 'ci-bot');
      },
      protect: (branch, contexts, o) => {
        r.protections.set(branch, { contexts: [...contexts], requiredApprovals: o?.requiredApprovals ?? 0 });
      },
      unprotect: (branch) => {
        r.protections.delete(branch);
      },
      addReview: (n, user, state, body) => {
        const p = findPull(n);
        r.reviews.push({
          id: newId(),
          pull: n,
          user,
          state,
          body: body ?? '',
          commitId: currentHead(r, p),
          submittedAt: nowIso(),
        });
      },
      setMergeConflict: (head, base, conflict = true) => {
        for (const key of [`${head}\0${base}`, `${base}\0${head}`]) {
          if (conflict) r.conflicts.add(key);
          else r.conflicts.delete(key);
        }
      },
      pull: (n) => {
        const p = findPull(n);
        return pullJson(
          r,
          p,
          p.state === 'open' ? computeMergeable(r, p, currentHead(r, p)) : { mergeable: null, state: 'unknown' },
        );
      },
      pulls: () => [...r.pulls.values()].map((p) => pullJson(r, p, undefined)),
      releases: () => r.releases.map((rel) => releaseJson(r, rel)),
      deployments: () => r.deployments.map((d) => deploymentJson(r, d)),
      deploymentStatuses: (id) => {
        const d = deploymentOr404(r, String(id));
        return d.statuses.map((s) => deploymentStatusJson(r, d, s));
      },
      refs: () => Object.fromEntries([...r.refs.entries()].sort()),
      log: (ref) => {
        const out: string[] = [];
        let c = r.commits.get(must(ref));
        while (c) {
          out.push(c.message);
          c = c.parents[0] ? r.commits.get(c.parents[0]) : undefined;
        }
        return out;
      },
    };
  }

  function addRepo(owner: string, name: string, seed: RepoSeed = {}): FakeRepo {
    const key = repoKey(owner, name);
    if (repos.has(key)) throw new Error(`fake-github: ${owner}/${name} exists already`);
    const defaultBranch = seed.defaultBranch ?? 'main';
    const r: RepoState = {
      id: newId(),
      owner,
      name,
      defaultBranch,
      commits: new Map(),
      tagObjects: new Map(),
      refs: new Map(),
      nextNumber: 1,
      pulls: new Map(),
      labels: new Map(),
      checkRuns: [],
      statuses: [],
      reviews: [],
      protections: new Map(),
      conflicts: new Set(),
      releases: [],
      deployments: [],
    };
    repos.set(key, r);
    const asCommit = (c: SeedCommit) =>
      typeof c === 'string' ? { message: c, author: 'dev' } : { message: c.message, author: c.author ?? 'dev' };
    const branches = Object.entries(seed.branches ?? {});
    if (!branches.some(([b, spec]) => b === defaultBranch && Array.isArray(spec)))
      branches.unshift([defaultBranch, ['Initial commit']]);
    // roots first (plain lists), then forks in the order given
    for (const [branch, spec] of branches) {
      if (!Array.isArray(spec)) continue;
      let parent: string | undefined;
      for (const c of spec.length ? spec : ['Initial commit']) {
        const { message, author } = asCommit(c);
        parent = addCommit(r, message, parent ? [parent] : [], author).sha;
      }
      setRef(r, `refs/heads/${branch}`, parent!);
    }
    for (const [branch, spec] of branches) {
      if (Array.isArray(spec)) continue;
      const from = resolve(r, spec.from);
      if (!from) throw new Error(`fake-github: branch ${branch} forks from unknown ${spec.from}`);
      setRef(r, `refs/heads/${branch}`, from);
      for (const c of spec.commits ?? []) {
        const { message, author } = asCommit(c);
        pushCommit(r, branch, message, author);
      }
    }
    for (const [tag, spec] of Object.entries(seed.tags ?? {})) {
      const target = typeof spec === 'string' ? spec : spec.target;
      const sha = resolve(r, target);
      if (!sha) throw new Error(`fake-github: tag ${tag} points at unknown ${target}`);
      makeTag(
        r,
        tag,
        sha,
        typeof spec !== 'string' && Boolean(spec.annotated),
        typeof spec === 'string' ? undefined : spec.message,
        'release-manager',
      );
    }
    return makeHandle(r);
  }
  const repo = (owner: string, name: string) => makeHandle(getRepo(owner, name));

  /* ---------------------------------------------- start -------------------------------------------------- */

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  apiBase = `http://127.0.0.1:${port}${prefix}`;
  let closed = false;

  return {
    url: apiBase,
    token,
    readOnlyToken,
    login,
    addRepo,
    repo,
    commit: (owner, name, branch, message) => repo(owner, name).commit(branch, message),
    setCheckRun: (owner, name, ref, check, run) => repo(owner, name).setCheckRun(ref, check, run),
    setStatus: (owner, name, ref, context, state, o) => repo(owner, name).setStatus(ref, context, state, o),
    protect: (owner, name, branch, contexts, o) => repo(owner, name).protect(branch, contexts, o),
    addReview: (owner, name, pull, user, state, body) => repo(owner, name).addReview(pull, user, state, body),
    setMergeConflict: (owner, name, head, base, conflict) => repo(owner, name).setMergeConflict(head, base, conflict),
    requests,
    failNext: (failure) => {
      failures.push({ ...failure, left: failure.times ?? 1 });
    },
    rateLimitNext: (spec = {}) => {
      const seconds = spec.retryAfter ?? 1;
      const status = spec.status ?? 403;
      const requestId = randomBytes(4).toString('hex').toUpperCase();
      if ((spec.kind ?? 'secondary') === 'secondary') {
        failures.push({
          method: spec.method,
          path: spec.path,
          status,
          left: spec.times ?? 1,
          headers: { 'retry-after': String(seconds) },
          body: {
            message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
            status: String(status),
          },
        });
      } else {
        failures.push({
          method: spec.method,
          path: spec.path,
          status,
          left: spec.times ?? 1,
          get headers() {
            return {
              'x-ratelimit-remaining': '0',
              'x-ratelimit-used': String(limit),
              'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + seconds),
            };
          },
          body: {
            message: `API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
            status: String(status),
          },
        });
      }
    },
    rateLimit: () => {
      const h = rateHeaders();
      return { limit, remaining: Number(h['x-ratelimit-remaining']), used, reset: resetAt };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

// GitHost on the GitHub REST API: @octokit/rest 22 with @octokit/plugin-retry (5xx and network errors, bounded) and
// @octokit/plugin-throttling (primary and secondary rate limits: a bounded number of retries honouring retry-after,
// then a FirelaneError with reason 'rate_limited'). Works against github.com and GitHub Enterprise Server (`baseUrl`
// https://host/api/v3). Every failure becomes a FirelaneError with the GitHub kind as its reason and plain words; the token never appears.
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Logger } from 'pino';
import {
  gitHostError,
  gitHostErrorKind,
  type Check,
  type Comparison,
  type DeploymentState,
  type GitHost,
  type GitHostErrorKind,
  type PullRequest,
  type RepoName,
  type ResolvedRef,
  type Review,
} from '../../ports/git-host.js';
import { FirelaneError } from '../../errors.js';
import { compareSemver, parseSemver } from '../../domain/hotfix.js';

export interface GitHubHostOptions {
  token: string;
  /** GITHUB_API_URL; GitHub Enterprise Server: `https://host/api/v3`. Default https://api.github.com. */
  baseUrl?: string;
  logger?: Logger;
  /** Hears every failed call (after the plugins' retries): its HTTP status, or `network` (metrics). */
  onUpstreamError?: (status: string) => void;
  /** Retries after a rate limit (honouring retry-after) and after a 5xx or network error; default 2. */
  retries?: number;
  /**
   * Milliseconds waited per second GitHub asks for in retry-after / x-ratelimit-reset, and the unit of the 5xx
   * back-off (1, 4, 9 ... units); default 1000. Tests: 0 or a few ms.
   */
  retryAfterBaseMs?: number;
  /** A rate limit asking to wait longer than this is not waited for (rate_limited at once); default 60 s. */
  maxRetryAfterSeconds?: number;
  /**
   * Minimum gap between two writes. Default: plugin-throttling's (1 s between writes, 3 s between writes that notify
   * people, as GitHub asks of integrations). Tests: 0.
   */
  writeSpacingMs?: number;
  /** getPull re-reads while `mergeable` is null: this often (default 5) ... */
  mergeablePolls?: number;
  /** ... this far apart (default 1000 ms). */
  mergeablePollMs?: number;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  userAgent?: string;
}

const GitHubOctokit = Octokit.plugin(retry, throttling);
type Client = InstanceType<typeof GitHubOctokit>;

/** How many tags latestSemverTag reads at most (10 pages of 100). */
const MAX_TAG_PAGES = 10;
const MAX_CHECK_PAGES = 10;
const DEFAULT_BASE_URL = 'https://api.github.com';

export function createGitHubHost(options: GitHubHostOptions): GitHost {
  const token = options.token;
  const log = options.logger;
  const retries = options.retries ?? 2;
  const baseMs = options.retryAfterBaseMs ?? 1000;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
  const polls = options.mergeablePolls ?? 5;
  const pollMs = options.mergeablePollMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const baseFetch = options.fetch ?? globalThis.fetch;

  const onLimit =
    (which: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const again = retryCount < retries && retryAfter <= maxRetryAfter;
      log?.warn(
        { method: request.method, url: request.url, retryAfter, retryCount, retrying: again },
        `GitHub ${which} rate limit`,
      );
      return again;
    };
  const spacing =
    options.writeSpacingMs === undefined
      ? {}
      : { write: spacedLimiter(options.writeSpacingMs), notifications: spacedLimiter(options.writeSpacingMs) };

  const octokit: Client = new GitHubOctokit({
    auth: token,
    baseUrl: (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'firelane',
    request: {
      fetch: (url: string | URL | Request, init?: RequestInit) =>
        baseFetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
    },
    // Octokit logs every request at info and every failed one at error; firelane reports failures itself.
    log: {
      debug: (message: string) => log?.debug(scrub(message, token)),
      info: (message: string) => log?.debug(scrub(message, token)),
      warn: (message: string) => log?.warn(scrub(String(message), token)),
      error: (message: string) => log?.debug(scrub(String(message), token)),
    },
    retry: {
      retries,
      retryAfterBaseValue: baseMs,
      // 4xx are answers, not hiccups; 403/429 rate limits belong to the throttling plugin
      doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451],
    },
    throttle: {
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      retryAfterBaseValue: baseMs,
      fallbackSecondaryRateRetryAfter: 60,
      ...(spacing as object),
    },
  });

  /** Runs one GitHub call; any failure becomes a FirelaneError whose message starts with `doing` (and is counted). */
  async function call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw counted(toGitHostError(error, doing, token), error);
    }
  }
  /** octokit gives a request that got no answer status 500 and no response: that is `network`. */
  const counted = (failed: FirelaneError, error: unknown) => {
    const answered = failed.status !== undefined && (error as { response?: unknown })?.response !== undefined;
    options.onUpstreamError?.(answered ? String(failed.status) : 'network');
    return failed;
  };
  /** As call, but a 404 is undefined (an answer, not counted as an error). */
  async function maybe<T>(doing: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      const failed = toGitHostError(error, doing, token);
      if (failed.reason === 'not_found') return undefined;
      throw counted(failed, error);
    }
  }
  const where = (r: RepoName) => `${r.owner}/${r.repo}`;

  async function refSha(r: RepoName, ref: string, doing: string): Promise<{ sha: string; type: string } | undefined> {
    const res = await maybe(doing, () => octokit.rest.git.getRef({ owner: r.owner, repo: r.repo, ref }));
    return res && { sha: res.data.object.sha, type: res.data.object.type };
  }
  /** Follows annotated tag objects (a tag of a tag, too) to the commit. */
  async function peelTag(r: RepoName, object: { sha: string; type: string }, name: string): Promise<string> {
    let current = object;
    for (let depth = 0; current.type === 'tag' && depth < 5; depth++) {
      const { data } = await call(`Reading tag ${name} of ${where(r)}`, () =>
        octokit.rest.git.getTag({ owner: r.owner, repo: r.repo, tag_sha: current.sha }),
      );
      current = { sha: data.object.sha, type: data.object.type };
    }
    if (current.type !== 'commit')
      throw gitHostError(
        'upstream',
        `Tag ${name} of ${where(r)} does not point at a commit (it points at a ${current.type})`,
      );
    return current.sha;
  }

  async function getPullOnce(r: RepoName, number: number) {
    const { data } = await call(`Reading pull request #${number} of ${where(r)}`, () =>
      octokit.rest.pulls.get({ owner: r.owner, repo: r.repo, pull_number: number }),
    );
    return data;
  }

  return {
    async resolveRef(r, ref) {
      const tagOnly = /^(refs\/)?tags\//.exec(ref);
      const branchOnly = /^(refs\/)?heads\//.exec(ref);
      const name = tagOnly ? ref.slice(tagOnly[0].length) : branchOnly ? ref.slice(branchOnly[0].length) : ref;
      if (!name) return undefined;
      if (!tagOnly) {
        const branch = await refSha(r, `heads/${name}`, `Looking up branch ${name} in ${where(r)}`);
        if (branch) return { sha: branch.sha, kind: 'branch', name } satisfies ResolvedRef;
        if (branchOnly) return undefined;
      }
      const tag = await refSha(r, `tags/${name}`, `Looking up tag ${name} in ${where(r)}`);
      if (!tag) return undefined;
      return { sha: await peelTag(r, tag, name), kind: 'tag', name } satisfies ResolvedRef;
    },

    async latestSemverTag(r) {
      let best: { name: string; sha: string; version: [number, number, number] } | undefined;
      await call(`Listing tags of ${where(r)}`, async () => {
        let pages = 0;
        for await (const { data } of octokit.paginate.iterator(octokit.rest.repos.listTags, {
          owner: r.owner,
          repo: r.repo,
          per_page: 100,
        })) {
          for (const tag of data) {
            const version = parseSemver(tag.name);
            if (version && (!best || compareSemver(version, best.version) > 0))
              best = { name: tag.name, sha: tag.commit.sha, version };
          }
          if (++pages >= MAX_TAG_PAGES) break;
        }
      });
      return best && { name: best.name, sha: best.sha };
    },

    async createBranch(r, branch, sha) {
      await call(`Creating branch ${branch} in ${where(r)}`, () =>
        octokit.rest.git.createRef({ owner: r.owner, repo: r.repo, ref: `refs/heads/${branch}`, sha }),
      );
    },

    async createTag(r, tag, sha) {
      await call(`Creating tag ${tag} in ${where(r)}`, () =>
        octokit.rest.git.createRef({ owner: r.owner, repo: r.repo, ref: `refs/tags/${tag}`, sha }),
      );
    },

    async compare(r, base, head) {
      const { data } = await call(`Comparing ${base}...${head} in ${where(r)}`, () =>
        octokit.rest.repos.compareCommitsWithBasehead({
          owner: r.owner,
          repo: r.repo,
          basehead: `${base}...${head}`,
          per_page: 100,
        }),
      );
      return {
        aheadBy: data.ahead_by,
        behindBy: data.behind_by,
        status: data.status,
        url: data.html_url,
        commits: data.commits.map((c) => ({
          sha: c.sha,
          title: (c.commit.message.split('\n', 1)[0] ?? '').trim(),
          author: c.author?.login ?? c.commit.author?.name ?? null,
          url: c.html_url,
        })),
      } satisfies Comparison;
    },

    async findOpenPull(r, head, base) {
      const { data } = await call(`Looking for an open pull request from ${head} into ${base} in ${where(r)}`, () =>
        octokit.rest.pulls.list({
          owner: r.owner,
          repo: r.repo,
          head: `${r.owner}:${head}`,
          base,
          state: 'open',
          per_page: 10,
        }),
      );
      const found = data.find((p) => p.head.ref === head && p.base.ref === base);
      return found && toPull(found);
    },

    async createPull(r, pull) {
      const { data } = await call(`Opening a pull request from ${pull.head} into ${pull.base} in ${where(r)}`, () =>
        octokit.rest.pulls.create({
          owner: r.owner,
          repo: r.repo,
          head: pull.head,
          base: pull.base,
          title: pull.title,
          body: pull.body,
        }),
      );
      const created = toPull(data);
      if (!pull.labels?.length) return created;
      try {
        const { data: labels } = await call(`Labelling pull request #${data.number} of ${where(r)}`, () =>
          octokit.rest.issues.addLabels({
            owner: r.owner,
            repo: r.repo,
            issue_number: data.number,
            labels: pull.labels!,
          }),
        );
        return { ...created, labels: labels.map((l) => l.name) };
      } catch (error) {
        // The pull request exists: failing here would make a retry run into pull_exists. Report and go on.
        log?.warn(
          { err: error instanceof Error ? error.message : String(error), pull: data.number },
          'could not label the pull request',
        );
        return created;
      }
    },

    async getPull(r, number) {
      let data = await getPullOnce(r, number);
      for (let i = 0; i < polls && data.state === 'open' && data.mergeable === null; i++) {
        await sleep(pollMs);
        data = await getPullOnce(r, number);
      }
      return toPull(data);
    },

    async checks(r, sha) {
      const doing = `Reading the checks of ${sha.slice(0, 12)} in ${where(r)}`;
      const [runs, combined] = await Promise.all([
        call(doing, async () => {
          const out: Check[] = [];
          let pages = 0;
          for await (const { data } of octokit.paginate.iterator(octokit.rest.checks.listForRef, {
            owner: r.owner,
            repo: r.repo,
            ref: sha,
            filter: 'latest',
            per_page: 100,
          })) {
            for (const run of data) {
              out.push({
                name: run.name,
                source: 'check_run',
                state: run.status === 'completed' ? (run.conclusion ?? 'pending') : 'pending',
                url: run.html_url ?? run.details_url ?? null,
              });
            }
            if (++pages >= MAX_CHECK_PAGES) break;
          }
          return out;
        }),
        call(doing, () =>
          octokit.rest.repos.getCombinedStatusForRef({ owner: r.owner, repo: r.repo, ref: sha, per_page: 100 }),
        ),
      ]);
      // The combined status holds the newest status per context; with none its state is `pending`: no check then.
      const seen = new Set<string>();
      const statuses: Check[] = [];
      for (const s of combined.data.statuses) {
        if (seen.has(s.context)) continue;
        seen.add(s.context);
        statuses.push({ name: s.context, source: 'status', state: s.state, url: s.target_url ?? null });
      }
      return [...runs, ...statuses];
    },

    async requiredChecks(r, branch) {
      try {
        const { data } = await call(`Reading the required checks of ${branch} in ${where(r)}`, () =>
          octokit.rest.repos.getStatusChecksProtection({ owner: r.owner, repo: r.repo, branch }),
        );
        return [...new Set([...(data.contexts ?? []), ...(data.checks ?? []).map((c) => c.context)])];
      } catch (error) {
        // 404: not protected (or no such branch); 403: the token may not read protection settings
        if (
          error instanceof FirelaneError &&
          (error.status === 404 || error.status === 403) &&
          error.reason !== 'rate_limited'
        )
          return undefined;
        throw error;
      }
    },

    async reviews(r, number) {
      const all = await call(`Reading the reviews of pull request #${number} of ${where(r)}`, () =>
        octokit.paginate(octokit.rest.pulls.listReviews, {
          owner: r.owner,
          repo: r.repo,
          pull_number: number,
          per_page: 100,
        }),
      );
      // The latest review per reviewer; a comment after an approval or a change request does not replace it.
      const latest = new Map<string, Review>();
      for (const review of all) {
        const user = review.user?.login;
        if (!user || review.state === 'PENDING') continue;
        if (review.state === 'COMMENTED' && latest.has(user) && latest.get(user)!.state !== 'COMMENTED') continue;
        latest.set(user, { user, state: review.state });
      }
      return [...latest.values()];
    },

    async merge(r, number, headSha, mergeOptions) {
      const { data } = await call(`Merging pull request #${number} of ${where(r)}`, () =>
        octokit.rest.pulls.merge({
          owner: r.owner,
          repo: r.repo,
          pull_number: number,
          sha: headSha,
          merge_method: mergeOptions.method,
          commit_title: mergeOptions.title,
        }),
      );
      if (!data.merged)
        throw gitHostError(
          'not_mergeable',
          `Merging pull request #${number} of ${where(r)} failed: ${scrub(data.message, token)}`,
        );
      return { sha: data.sha };
    },

    async createRelease(r, release) {
      // GitHub would create a missing tag from the default branch: a release here is only ever of an existing tag.
      const tag = await refSha(r, `tags/${release.tag}`, `Looking up tag ${release.tag} in ${where(r)}`);
      if (!tag)
        throw gitHostError(
          'not_found',
          `Publishing release ${release.tag} of ${where(r)} failed: there is no tag ${release.tag}`,
          404,
        );
      const { data } = await call(`Publishing release ${release.tag} of ${where(r)}`, () =>
        octokit.rest.repos.createRelease({
          owner: r.owner,
          repo: r.repo,
          tag_name: release.tag,
          name: release.name,
          body: release.body,
        }),
      );
      return { id: data.id, tag: data.tag_name, url: data.html_url };
    },

    async createDeployment(r, deployment) {
      const res = await call(
        `Recording a deployment of ${deployment.ref} to ${deployment.environment} in ${where(r)}`,
        () =>
          octokit.rest.repos.createDeployment({
            owner: r.owner,
            repo: r.repo,
            ref: deployment.ref,
            environment: deployment.environment,
            description: deployment.description,
            payload: (deployment.payload ?? {}) as { [key: string]: unknown },
            auto_merge: false,
            required_contexts: [],
            transient_environment: false,
          }),
      );
      const data = res.data as { id?: number; message?: string };
      if (typeof data.id !== 'number') {
        throw gitHostError(
          'upstream',
          `Recording a deployment of ${deployment.ref} in ${where(r)} failed: ${scrub(data.message ?? 'GitHub created no deployment', token)}`,
          res.status,
        );
      }
      return { id: data.id };
    },

    async setDeploymentStatus(r, id, state: DeploymentState, detail) {
      await call(`Setting deployment ${id} of ${where(r)} to ${state}`, () =>
        octokit.rest.repos.createDeploymentStatus({
          owner: r.owner,
          repo: r.repo,
          deployment_id: id,
          state,
          // GitHub refuses descriptions over 140 characters
          description: truncate(detail.description, 140),
          ...(detail.logUrl ? { log_url: detail.logUrl } : {}),
          ...(detail.environmentUrl ? { environment_url: detail.environmentUrl } : {}),
        }),
      );
    },
  };
}

/* ---------------------------------------------------------------------------------------------------------- */

interface PullLike {
  number: number;
  title: string;
  html_url: string;
  state: string;
  merged?: boolean;
  merged_at: string | null;
  head: { ref: string; sha: string };
  base: { ref: string };
  mergeable?: boolean | null;
  mergeable_state?: string;
  labels: Array<{ name?: string } | string>;
}

function toPull(data: PullLike): PullRequest {
  return {
    number: data.number,
    title: data.title,
    url: data.html_url,
    state: data.state === 'closed' ? 'closed' : 'open',
    merged: data.merged ?? data.merged_at !== null,
    head: { ref: data.head.ref, sha: data.head.sha },
    base: { ref: data.base.ref },
    mergeable: data.mergeable ?? null,
    mergeableState: data.mergeable_state ?? 'unknown',
    labels: data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
  };
}

interface ErrorLike {
  status?: number;
  message?: string;
  response?: { data?: unknown; headers?: Record<string, string | undefined> };
}

/** The kind of a failed GitHub call, from its status and GitHub's message. */
function classify(
  status: number | undefined,
  message: string,
  details: string[],
  codes: string[],
  headers: Record<string, string | undefined>,
): GitHostErrorKind {
  const all = [message, ...details].join('\n');
  if (status === 429) return 'rate_limited';
  if (status === 403 && (/rate limit/i.test(all) || headers['x-ratelimit-remaining'] === '0')) return 'rate_limited';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 405) return 'not_mergeable';
  if (status === 409) return 'conflict';
  if (status === 422) {
    if (/reference already exists/i.test(all) || codes.includes('already_exists')) return 'exists';
    if (/no commits between/i.test(all)) return 'no_commits';
    if (/a pull request already exists/i.test(all)) return 'pull_exists';
    if (/object does not exist|no commit found|no ref found/i.test(all)) return 'not_found';
  }
  return 'upstream';
}

function toGitHostError(error: unknown, doing: string, token: string): FirelaneError {
  if (gitHostErrorKind(error) !== undefined) return error as FirelaneError;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const data = e.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const headers = e.response?.headers ?? {};
  // GitHub's own words: the message and, for 422s, the messages (or codes) of its `errors`
  const ghMessage = typeof data?.message === 'string' ? data.message : stripDocs(e.message ?? String(error));
  const errors: unknown[] = Array.isArray(data?.errors) ? data.errors : [];
  const codes = errors.map((x) => (isRecord(x) && typeof x.code === 'string' ? x.code : '')).filter(Boolean);
  const details = errors
    .map((x) =>
      typeof x === 'string'
        ? x
        : !isRecord(x)
          ? ''
          : typeof x.message === 'string'
            ? x.message
            : [x.resource, x.field, x.code]
                .filter((p) => typeof p === 'string')
                .join(' ')
                .replace(/_/g, ' '),
    )
    .filter(Boolean);
  const kind = status === undefined || !e.response ? 'upstream' : classify(status, ghMessage, details, codes, headers);
  const said = ghMessage === 'Validation Failed' && details.length ? details.join('; ') : ghMessage;
  const reason =
    kind === 'rate_limited'
      ? `GitHub's rate limit was reached (${said}); try again in a few minutes`
      : kind === 'forbidden'
        ? `GitHub refused the token (${status}: ${said})`
        : kind === 'not_found'
          ? `not found on GitHub (${said})`
          : kind === 'upstream'
            ? status !== undefined && e.response
              ? `GitHub answered ${status} (${said})`
              : `GitHub could not be reached (${said})`
            : said;
  return gitHostError(kind, scrub(`${doing} failed: ${reason}`, token), status);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const stripDocs = (message: string) => message.replace(/ - https:\/\/docs\.github\.com\S*$/, '');
const truncate = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Removes the token (raw and URL-encoded) from a text. */
function scrub(text: string, token: string): string {
  if (!token) return text;
  return [token, encodeURIComponent(token)].reduce((out, secret) => out.split(secret).join('[REDACTED]'), text);
}

/**
 * A stand-in for plugin-throttling's Bottleneck groups of writes: one write at a time, at least `ms` apart. The
 * plugin only calls `group.key(id).schedule(options, task)`.
 */
function spacedLimiter(ms: number): never {
  let chain: Promise<unknown> = Promise.resolve();
  let last = 0;
  const limiter = {
    schedule(...args: unknown[]) {
      const [task, ...rest] = (typeof args[0] === 'function' ? args : args.slice(1)) as [
        (...a: unknown[]) => unknown,
        ...unknown[],
      ];
      const run = chain.then(async () => {
        const wait = last + ms - Date.now();
        if (wait > 0) await sleep(wait);
        last = Date.now();
        return task(...rest);
      });
      chain = run.catch(() => undefined);
      return run;
    },
  };
  return { key: () => limiter } as never;
}

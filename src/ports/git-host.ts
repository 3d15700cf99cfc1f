// What firelane needs from GitHub for hotfixes, go/no-go facts and deployment records. The real
// implementation is adapters/github (@octokit/rest with retry and throttling); tests also use a
// loopback fake GitHub REST API. Errors are FirelaneError with the GitHub kind as their reason.
import { FirelaneError, type ErrorCode } from '../errors.js';

/** `owner/name` as in config `services.<name>.repo`. */
export interface RepoName {
  owner: string;
  repo: string;
}

export type GitHostErrorKind =
  /** The repository, branch, tag, PR or commit does not exist (404). */
  | 'not_found'
  /** The branch or tag already exists (422 "Reference already exists"). */
  | 'exists'
  /** No commits between the branches (422 on pulls.create). */
  | 'no_commits'
  /** A pull request for this head and base is already open (422). */
  | 'pull_exists'
  /** Merge refused: conflicts, failing required checks or reviews (405), or a protected branch. */
  | 'not_mergeable'
  /** The head moved since it was read (409 on merge), or a merge conflict (409 on merges). */
  | 'conflict'
  /** The token may not do this (401, 403 that is not a rate limit). */
  | 'forbidden'
  /** Rate limited, after the retries the throttling plugin allows. */
  | 'rate_limited'
  /** 5xx, network error, or anything else. */
  | 'upstream';

const CODE_OF: Record<GitHostErrorKind, ErrorCode> = {
  not_found: 'not_found',
  exists: 'conflict',
  no_commits: 'conflict',
  pull_exists: 'conflict',
  not_mergeable: 'conflict',
  conflict: 'conflict',
  forbidden: 'forbidden',
  rate_limited: 'upstream',
  upstream: 'upstream',
};

/** A GitHub refusal or failure as firelane's one error type: the kind is its `reason`. */
export function gitHostError(kind: GitHostErrorKind, message: string, status?: number): FirelaneError {
  return new FirelaneError(CODE_OF[kind], message, { reason: kind, ...(status !== undefined && { status }) });
}

/** The kind of a GitHub error (`pull_exists`…), when it is one. */
export const gitHostErrorKind = (error: unknown): GitHostErrorKind | undefined =>
  error instanceof FirelaneError && error.reason !== undefined && Object.hasOwn(CODE_OF, error.reason)
    ? (error.reason as GitHostErrorKind)
    : undefined;

export interface ResolvedRef {
  /** The commit sha (an annotated tag is followed to its commit). */
  sha: string;
  kind: 'branch' | 'tag';
  /** The short name as given (`production`, `v2.1.0`). */
  name: string;
}

export interface CommitSummary {
  sha: string;
  /** First line of the message. */
  title: string;
  author: string | null;
  url: string;
}

export interface Comparison {
  /** Commits in head that are not in base. */
  aheadBy: number;
  behindBy: number;
  /** 'ahead' | 'behind' | 'identical' | 'diverged' as GitHub says. */
  status: string;
  commits: CommitSummary[];
  url: string;
}

export interface PullRequest {
  number: number;
  title: string;
  url: string;
  state: 'open' | 'closed';
  merged: boolean;
  head: { ref: string; sha: string };
  base: { ref: string };
  /** null while GitHub is still computing it. */
  mergeable: boolean | null;
  /** 'clean' | 'dirty' | 'blocked' | 'behind' | 'unstable' | 'unknown' | ... as GitHub says. */
  mergeableState: string;
  labels: string[];
}

/** One check of a commit: a check run (Actions) or a commit status (external CI), side by side. */
export interface Check {
  name: string;
  source: 'check_run' | 'status';
  /** success | failure | pending (queued or in progress) | neutral | skipped | cancelled | timed_out | action_required | error */
  state: string;
  url: string | null;
}

export interface Review {
  user: string;
  /** APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING */
  state: string;
}

export interface Release {
  id: number;
  tag: string;
  url: string;
}

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive' | 'queued' | 'pending';

export interface GitHost {
  /** A branch or tag name (branch first; `refs/tags/x` or `tags/x` forces a tag). Undefined when neither exists. */
  resolveRef(repo: RepoName, ref: string): Promise<ResolvedRef | undefined>;
  /** The tag with the highest semantic version (`v2.1.0` or `2.1.0`; pre-releases ignored), if any. */
  latestSemverTag(repo: RepoName): Promise<{ name: string; sha: string } | undefined>;
  /** Creates `refs/heads/<branch>` at sha; 'exists' when it is already there. */
  createBranch(repo: RepoName, branch: string, sha: string): Promise<void>;
  /** Creates a lightweight tag `refs/tags/<tag>` at sha; 'exists' when it is already there. */
  createTag(repo: RepoName, tag: string, sha: string): Promise<void>;
  /** Commits in head not in base (`base...head`). */
  compare(repo: RepoName, base: string, head: string): Promise<Comparison>;
  /** The open pull request from head into base, if any. */
  findOpenPull(repo: RepoName, head: string, base: string): Promise<PullRequest | undefined>;
  /** Opens a pull request and adds the labels; 'no_commits' or 'pull_exists' when GitHub refuses. */
  createPull(
    repo: RepoName,
    pull: { head: string; base: string; title: string; body: string; labels?: string[] },
  ): Promise<PullRequest>;
  /** A pull request; waits (bounded) while `mergeable` is still being computed. */
  getPull(repo: RepoName, number: number): Promise<PullRequest>;
  /** Check runs and commit statuses of a commit (the newest status per context). */
  checks(repo: RepoName, sha: string): Promise<Check[]>;
  /** The contexts branch protection requires, or undefined when the branch is unprotected or they cannot be read. */
  requiredChecks(repo: RepoName, branch: string): Promise<string[] | undefined>;
  /** Reviews of a pull request, the latest per reviewer. */
  reviews(repo: RepoName, number: number): Promise<Review[]>;
  /** Merges at exactly headSha; 'not_mergeable' (405) or 'conflict' (409, head moved). Returns the merge commit sha. */
  merge(
    repo: RepoName,
    number: number,
    headSha: string,
    options: { method: 'merge' | 'squash' | 'rebase'; title?: string },
  ): Promise<{ sha: string }>;
  /** Publishes a release of an existing tag. */
  createRelease(repo: RepoName, release: { tag: string; name: string; body: string }): Promise<Release>;
  /** Records a GitHub Deployment (auto_merge off, no required contexts enforced by GitHub). */
  createDeployment(
    repo: RepoName,
    deployment: { ref: string; environment: string; description: string; payload?: Record<string, unknown> },
  ): Promise<{ id: number }>;
  setDeploymentStatus(
    repo: RepoName,
    id: number,
    state: DeploymentState,
    detail: { description: string; logUrl?: string; environmentUrl?: string },
  ): Promise<void>;
}

/** `acme/payments` -> { owner, repo }, or undefined when it is not of that form. */
export function parseRepoName(text: string): RepoName | undefined {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(text.trim());
  if (!match || match[2] === '.' || match[2] === '..') return undefined;
  return { owner: match[1]!, repo: match[2]! };
}

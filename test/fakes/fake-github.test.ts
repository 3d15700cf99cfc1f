/**
 * Contract tests for the GitHub fake, driven by the real @octokit/rest 22 (and @octokit/plugin-retry /
 * @octokit/plugin-throttling for the rate-limit behaviour), so the fake cannot drift from what octokit sends and expects:
 * percent-encoded path parameters, Link pagination, GitHub's error shapes, retry-after handling.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from './fake-github.js';

const opened: FakeGitHub[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((f) => f.close()));
});

const O = 'acme';
const R = 'payments';
const repoArgs = { owner: O, repo: R };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function fake(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const f = await startFakeGitHub(options);
  opened.push(f);
  return f;
}

/** Plain octokit (no throttling: its write spacing of 1-3 s would only slow these tests down). */
const client = (gh: FakeGitHub, auth: string | null = gh.token) =>
  new Octokit({ baseUrl: gh.url, ...(auth === null ? {} : { auth }), log: silent, userAgent: 'fake-github-test' });

/** What octokit throws for an HTTP error (@octokit/request-error's RequestError, named HttpError). */
interface RequestError extends Error {
  status: number;
  response?: { data: unknown; headers: Record<string, string | undefined> };
}
async function failure(p: Promise<unknown>): Promise<RequestError> {
  try {
    await p;
  } catch (e) {
    expect(e).toMatchObject({ name: 'HttpError', status: expect.any(Number) });
    return e as RequestError;
  }
  throw new Error('expected the request to fail');
}

/** production = main at `base`; main two commits ahead; hotfix/INC-1-x one commit ahead of production. */
async function hotfixRepo(options: FakeGitHubOptions = {}) {
  const gh = await fake(options);
  const repo = gh.addRepo(O, R, { defaultBranch: 'main', branches: { main: ['base'] } });
  repo.createBranch('production', 'main');
  repo.commit('main', 'feature A', { author: 'alice' });
  repo.commit('main', 'feature B', { author: 'bob' });
  repo.createBranch('hotfix/INC-1-x', 'production');
  repo.commit('hotfix/INC-1-x', 'fix: stop double charge\n\nDetails here', { author: 'carol' });
  return { gh, repo, octokit: client(gh) };
}

describe('fake GitHub: authentication and basics', () => {
  it('answers 401 Bad credentials to a wrong token and 401 to none, in GitHub error shape', async () => {
    const { gh } = await hotfixRepo();
    const wrong = await failure(client(gh, 'ghp_wrong').rest.repos.get(repoArgs));
    expect(wrong.status).toBe(401);
    expect(wrong.response?.data).toMatchObject({
      message: 'Bad credentials',
      documentation_url: expect.stringContaining('docs.github.com'),
      status: '401',
    });
    const none = await failure(client(gh, null).rest.repos.get(repoArgs));
    expect(none.status).toBe(401);
    // Bearer works as well as `token`
    const bearer = new Octokit({
      baseUrl: gh.url,
      log: silent,
      request: {
        fetch: (u: string, init: RequestInit) =>
          fetch(u, {
            ...init,
            headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${gh.token}` },
          }),
      },
    });
    expect((await bearer.rest.repos.get(repoArgs)).data.default_branch).toBe('main');
  });

  it('sends the primary rate-limit headers on every response and counts requests', async () => {
    const { gh, octokit } = await hotfixRepo({ rateLimit: 100 });
    const a = await octokit.rest.repos.get(repoArgs);
    const b = await octokit.rest.repos.get(repoArgs);
    expect(a.headers['x-ratelimit-limit']).toBe('100');
    expect(Number(a.headers['x-ratelimit-remaining']) - Number(b.headers['x-ratelimit-remaining'])).toBe(1);
    expect(Number(a.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    const err = await failure(octokit.rest.repos.get({ owner: O, repo: 'nope' }));
    expect(err.status).toBe(404);
    expect(err.response?.headers['x-ratelimit-remaining']).toBeDefined();
    expect(gh.rateLimit().used).toBe(3);
  });

  it('refuses requests past the primary limit with 403 and x-ratelimit-remaining 0', async () => {
    const { octokit } = await hotfixRepo({ rateLimit: 2 });
    await octokit.rest.repos.get(repoArgs);
    await octokit.rest.repos.get(repoArgs);
    const err = await failure(octokit.rest.repos.get(repoArgs));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/API rate limit exceeded/);
    expect(err.response?.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('serves under a GitHub Enterprise Server path prefix', async () => {
    const { gh, octokit } = await hotfixRepo({ pathPrefix: '/api/v3' });
    expect(gh.url).toMatch(/\/api\/v3$/);
    expect((await octokit.rest.repos.get(repoArgs)).data.full_name).toBe('acme/payments');
    expect(gh.requests.at(-1)!.path).toBe('/repos/acme/payments');
  });

  it('a read-only token may read but not write', async () => {
    const { gh, repo } = await hotfixRepo();
    const ro = client(gh, gh.readOnlyToken);
    expect((await ro.rest.git.getRef({ ...repoArgs, ref: 'heads/main' })).data.object.sha).toBe(repo.sha('main'));
    const err = await failure(ro.rest.git.createRef({ ...repoArgs, ref: 'refs/heads/x', sha: repo.sha('main')! }));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/Resource not accessible by integration/);
  });
});

describe('fake GitHub: refs and tags', () => {
  it('creates and reads a branch with a slash (percent-encoded by octokit), 422 when it exists', async () => {
    const { gh, repo, octokit } = await hotfixRepo();
    const sha = repo.sha('production')!;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const created = await octokit.rest.git.createRef({ ...repoArgs, ref: 'refs/heads/hotfix/INC-2-y', sha });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ ref: 'refs/heads/hotfix/INC-2-y', object: { sha, type: 'commit' } });

    const read = await octokit.rest.git.getRef({ ...repoArgs, ref: 'heads/hotfix/INC-2-y' });
    expect(read.data.object.sha).toBe(sha);
    expect(gh.requests.at(-1)!.path).toBe('/repos/acme/payments/git/ref/heads%2Fhotfix%2FINC-2-y');

    const again = await failure(octokit.rest.git.createRef({ ...repoArgs, ref: 'refs/heads/hotfix/INC-2-y', sha }));
    expect(again.status).toBe(422);
    expect(again.response?.data).toMatchObject({ message: 'Reference already exists' });

    const noObject = await failure(
      octokit.rest.git.createRef({ ...repoArgs, ref: 'refs/heads/other', sha: 'f'.repeat(40) }),
    );
    expect(noObject.status).toBe(422);
    expect(noObject.message).toMatch(/Object does not exist/);

    const missing = await failure(octokit.rest.git.getRef({ ...repoArgs, ref: 'heads/nope' }));
    expect(missing.status).toBe(404);
  });

  it('lists matching refs, moves a ref fast-forward only, deletes it', async () => {
    const { repo, octokit } = await hotfixRepo();
    const refs = await octokit.rest.git.listMatchingRefs({ ...repoArgs, ref: 'heads/hotfix' });
    expect(refs.data.map((r) => r.ref)).toEqual(['refs/heads/hotfix/INC-1-x']);
    const behind = await failure(
      octokit.rest.git.updateRef({ ...repoArgs, ref: 'heads/main', sha: repo.sha('production')! }),
    );
    expect(behind.message).toMatch(/not a fast forward/);
    await octokit.rest.git.updateRef({ ...repoArgs, ref: 'heads/production', sha: repo.sha('main')! });
    expect(repo.sha('production')).toBe(repo.sha('main'));
    await octokit.rest.git.deleteRef({ ...repoArgs, ref: 'heads/hotfix/INC-1-x' });
    expect(repo.sha('hotfix/INC-1-x')).toBeUndefined();
  });

  it('an annotated tag ref points at a tag object whose object is the commit', async () => {
    const { repo, octokit } = await hotfixRepo();
    const commit = repo.sha('production')!;
    const tagObject = repo.tag('v1.0.0', 'production', { annotated: true, message: 'Release 1.0.0' });
    repo.tag('v1.0.1-light', 'main');
    expect(tagObject).not.toBe(commit);

    const ref = await octokit.rest.git.getRef({ ...repoArgs, ref: 'tags/v1.0.0' });
    expect(ref.data.object).toMatchObject({ sha: tagObject, type: 'tag' });
    const tag = await octokit.rest.git.getTag({ ...repoArgs, tag_sha: ref.data.object.sha });
    expect(tag.data).toMatchObject({
      tag: 'v1.0.0',
      message: 'Release 1.0.0',
      object: { sha: commit, type: 'commit' },
    });

    const light = await octokit.rest.git.getRef({ ...repoArgs, ref: 'tags/v1.0.1-light' });
    expect(light.data.object).toMatchObject({ sha: repo.sha('main'), type: 'commit' });
    expect((await failure(octokit.rest.git.getTag({ ...repoArgs, tag_sha: commit }))).status).toBe(404);

    // tag objects through the API: POST git/tags then the ref
    const created = await octokit.rest.git.createTag({
      ...repoArgs,
      tag: 'v2.0.0',
      message: 'two',
      object: repo.sha('main')!,
      type: 'commit',
    });
    await octokit.rest.git.createRef({ ...repoArgs, ref: 'refs/tags/v2.0.0', sha: created.data.sha });
    expect(repo.sha('v2.0.0')).toBe(repo.sha('main'));
  });

  it('lists tags with their commits, paginated with Link headers', async () => {
    const { repo, octokit } = await hotfixRepo();
    for (let i = 0; i < 45; i++) repo.tag(`v1.0.${i}`, i % 2 ? 'main' : 'production', { annotated: i % 3 === 0 });
    const first = await octokit.rest.repos.listTags({ ...repoArgs, per_page: 20 });
    expect(first.data).toHaveLength(20);
    expect(first.headers.link).toMatch(/page=2>; rel="next"/);
    expect(first.headers.link).toMatch(/page=3>; rel="last"/);
    const all = await octokit.paginate(octokit.rest.repos.listTags, { ...repoArgs, per_page: 20 });
    expect(all).toHaveLength(45);
    expect(new Set(all.map((t) => t.name)).size).toBe(45);
    // the commit is peeled from annotated tags
    const t3 = all.find((t) => t.name === 'v1.0.3')!;
    expect(t3.commit.sha).toBe(repo.sha('main'));
    const t0 = all.find((t) => t.name === 'v1.0.0')!;
    expect(t0.commit.sha).toBe(repo.sha('production'));
  });
});

describe('fake GitHub: compare', () => {
  it('computes ahead/behind/status and the commits from the graph', async () => {
    const { repo, octokit } = await hotfixRepo();
    const cmp = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repoArgs,
      basehead: 'production...hotfix/INC-1-x',
    });
    expect(cmp.data).toMatchObject({ status: 'ahead', ahead_by: 1, behind_by: 0, total_commits: 1 });
    expect(cmp.data.commits[0]).toMatchObject({ sha: repo.sha('hotfix/INC-1-x'), author: { login: 'carol' } });
    expect(cmp.data.commits[0]!.commit.message).toBe('fix: stop double charge\n\nDetails here');

    const diverged = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repoArgs,
      basehead: 'main...hotfix/INC-1-x',
    });
    expect(diverged.data).toMatchObject({ status: 'diverged', ahead_by: 1, behind_by: 2 });
    expect(diverged.data.merge_base_commit.sha).toBe(repo.sha('production'));

    const behind = await octokit.rest.repos.compareCommits({ ...repoArgs, base: 'main', head: 'production' });
    expect(behind.data).toMatchObject({ status: 'behind', ahead_by: 0, behind_by: 2, commits: [] });

    const ahead = await octokit.rest.repos.compareCommits({ ...repoArgs, base: 'production', head: 'main' });
    expect(ahead.data.commits.map((c) => c.commit.message)).toEqual(['feature A', 'feature B']);

    const same = await octokit.rest.repos.compareCommits({
      ...repoArgs,
      base: repo.sha('main')!.slice(0, 7),
      head: 'main',
    });
    expect(same.data).toMatchObject({ status: 'identical', ahead_by: 0, behind_by: 0 });

    expect(
      (await failure(octokit.rest.repos.compareCommits({ ...repoArgs, base: 'production', head: 'nope' }))).status,
    ).toBe(404);
  });
});

describe('fake GitHub: pull requests', () => {
  it('opens a pull request; mergeable is null on the first read, then computed; follows pushes to the head', async () => {
    const { gh, repo, octokit } = await hotfixRepo();
    const created = await octokit.rest.pulls.create({
      ...repoArgs,
      head: 'hotfix/INC-1-x',
      base: 'production',
      title: 'Hotfix INC-1',
      body: 'why',
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      number: 1,
      state: 'open',
      mergeable: null,
      head: { ref: 'hotfix/INC-1-x', sha: repo.sha('hotfix/INC-1-x') },
      base: { ref: 'production' },
    });
    expect(created.data.html_url).toMatch(/\/acme\/payments\/pull\/1$/);

    const first = await octokit.rest.pulls.get({ ...repoArgs, pull_number: 1 });
    expect(first.data.mergeable).toBeNull();
    expect(first.data.mergeable_state).toBe('unknown');
    const second = await octokit.rest.pulls.get({ ...repoArgs, pull_number: 1 });
    expect(second.data).toMatchObject({ mergeable: true, mergeable_state: 'clean', merged: false, commits: 1 });

    const pushed = gh.commit(O, R, 'hotfix/INC-1-x', 'fix: also the refund path');
    const afterPush = await octokit.rest.pulls.get({ ...repoArgs, pull_number: 1 });
    expect(afterPush.data.mergeable).toBeNull();
    expect(afterPush.data.head.sha).toBe(pushed);
    expect((await octokit.rest.pulls.get({ ...repoArgs, pull_number: 1 })).data.commits).toBe(2);

    expect((await failure(octokit.rest.pulls.get({ ...repoArgs, pull_number: 99 }))).status).toBe(404);
  });

  it('refuses with 422: no commits between, a pull request already exists, unknown head', async () => {
    const { repo, octokit } = await hotfixRepo();
    repo.createBranch('hotfix/empty', 'production');
    const none = await failure(
      octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/empty', base: 'production', title: 't' }),
    );
    expect(none.status).toBe(422);
    expect(none.response?.data).toMatchObject({
      message: 'Validation Failed',
      errors: [{ resource: 'PullRequest', code: 'custom', message: 'No commits between production and hotfix/empty' }],
    });

    await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'production', title: 't' });
    const dup = await failure(
      octokit.rest.pulls.create({ ...repoArgs, head: 'acme:hotfix/INC-1-x', base: 'production', title: 't2' }),
    );
    expect(dup.status).toBe(422);
    expect(dup.message).toContain('A pull request already exists for acme:hotfix/INC-1-x.');

    const unknown = await failure(
      octokit.rest.pulls.create({ ...repoArgs, head: 'nope', base: 'production', title: 't' }),
    );
    expect(unknown.response?.data).toMatchObject({ errors: [{ field: 'head', code: 'invalid' }] });
  });

  it('lists by head (owner:branch), base and state; adds labels through the issues API', async () => {
    const { repo, octokit } = await hotfixRepo();
    repo.createBranch('hotfix/INC-2-y', 'production');
    repo.commit('hotfix/INC-2-y', 'other fix');
    await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'production', title: 'one' });
    await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-2-y', base: 'production', title: 'two' });
    await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'main', title: 'back-merge' });

    const byHead = await octokit.rest.pulls.list({
      ...repoArgs,
      head: 'acme:hotfix/INC-1-x',
      base: 'production',
      state: 'open',
    });
    expect(byHead.data.map((p) => p.title)).toEqual(['one']);
    expect(byHead.data[0]).not.toHaveProperty('mergeable');
    expect(
      (await octokit.rest.pulls.list({ ...repoArgs, head: 'acme:hotfix/INC-1-x' })).data.map((p) => p.number),
    ).toEqual([3, 1]);
    expect((await octokit.rest.pulls.list({ ...repoArgs, head: 'someone-else:hotfix/INC-1-x' })).data).toEqual([]);
    expect((await octokit.rest.pulls.list({ ...repoArgs, state: 'closed' })).data).toEqual([]);

    const labels = await octokit.rest.issues.addLabels({
      ...repoArgs,
      issue_number: 2,
      labels: ['hotfix', 'incident:INC-2'],
    });
    expect(labels.data.map((l) => l.name)).toEqual(['hotfix', 'incident:INC-2']);
    await octokit.rest.issues.addLabels({ ...repoArgs, issue_number: 1, labels: ['hotfix'] });
    const pr2 = await octokit.rest.pulls.get({ ...repoArgs, pull_number: 2 });
    expect(pr2.data.labels.map((l) => l.name)).toEqual(['hotfix', 'incident:INC-2']);
    const pr1 = await octokit.rest.pulls.get({ ...repoArgs, pull_number: 1 });
    expect(pr1.data.labels[0]!.id).toBe(pr2.data.labels[0]!.id);
    expect(
      (await failure(octokit.rest.issues.addLabels({ ...repoArgs, issue_number: 42, labels: ['x'] }))).status,
    ).toBe(404);
  });

  it('merges at the head sha: 409 when the head moved, 405 on a conflict, a merge commit that moves the base', async () => {
    const { gh, repo, octokit } = await hotfixRepo();
    const pr = (
      await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'production', title: 'Hotfix' })
    ).data;
    const readSha = pr.head.sha;
    gh.commit(O, R, 'hotfix/INC-1-x', 'sneaky push');
    const moved = await failure(octokit.rest.pulls.merge({ ...repoArgs, pull_number: pr.number, sha: readSha }));
    expect(moved.status).toBe(409);
    expect(moved.response?.data).toMatchObject({
      message: 'Head branch was modified. Review and try the merge again.',
    });

    gh.setMergeConflict(O, R, 'hotfix/INC-1-x', 'production', true);
    const headSha = repo.sha('hotfix/INC-1-x')!;
    await octokit.rest.pulls.get({ ...repoArgs, pull_number: pr.number });
    expect((await octokit.rest.pulls.get({ ...repoArgs, pull_number: pr.number })).data).toMatchObject({
      mergeable: false,
      mergeable_state: 'dirty',
    });
    const conflict = await failure(octokit.rest.pulls.merge({ ...repoArgs, pull_number: pr.number, sha: headSha }));
    expect(conflict.status).toBe(405);
    expect(conflict.response?.data).toMatchObject({ message: 'Pull Request is not mergeable' });

    gh.setMergeConflict(O, R, 'hotfix/INC-1-x', 'production', false);
    const baseBefore = repo.sha('production')!;
    const merged = await octokit.rest.pulls.merge({
      ...repoArgs,
      pull_number: pr.number,
      sha: headSha,
      merge_method: 'merge',
    });
    expect(merged.data).toMatchObject({ merged: true, message: 'Pull Request successfully merged' });
    expect(repo.sha('production')).toBe(merged.data.sha);
    const mergeCommit = await octokit.rest.repos.getCommit({ ...repoArgs, ref: merged.data.sha });
    expect(mergeCommit.data.parents.map((p) => p.sha)).toEqual([baseBefore, headSha]);
    expect(mergeCommit.data.commit.message).toMatch(/^Merge pull request #1 from acme\/hotfix\/INC-1-x/);

    const after = await octokit.rest.pulls.get({ ...repoArgs, pull_number: pr.number });
    expect(after.data).toMatchObject({
      state: 'closed',
      merged: true,
      merge_commit_sha: merged.data.sha,
      mergeable: null,
    });
    expect((await failure(octokit.rest.pulls.merge({ ...repoArgs, pull_number: pr.number }))).status).toBe(405);
    expect((await octokit.rest.pulls.checkIfMerged({ ...repoArgs, pull_number: pr.number })).status).toBe(204);

    // back-merge: production now has the fix and the merge commit, main lacks both
    const back = await octokit.rest.repos.compareCommits({ ...repoArgs, base: 'main', head: 'production' });
    expect(back.data).toMatchObject({ status: 'diverged', ahead_by: 3 });
  });

  it('squash and rebase merges', async () => {
    const { repo, octokit } = await hotfixRepo();
    repo.commit('hotfix/INC-1-x', 'second fix commit');
    await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'production', title: 'Hotfix' });
    const squash = await octokit.rest.pulls.merge({ ...repoArgs, pull_number: 1, merge_method: 'squash' });
    expect(repo.log('production').slice(0, 2)).toEqual([
      'Hotfix (#1)\n\n* fix: stop double charge\n* second fix commit',
      'base',
    ]);
    expect(squash.data.sha).toBe(repo.sha('production'));

    repo.createBranch('feature/z', 'main');
    repo.commit('feature/z', 'z1');
    repo.commit('feature/z', 'z2');
    await octokit.rest.pulls.create({ ...repoArgs, head: 'feature/z', base: 'main', title: 'Z' });
    await octokit.rest.pulls.merge({ ...repoArgs, pull_number: 2, merge_method: 'rebase' });
    expect(repo.log('main').slice(0, 3)).toEqual(['z2', 'z1', 'feature B']);
    expect(repo.sha('main')).not.toBe(repo.sha('feature/z'));
  });

  it('branch protection: required checks (expected, failing, in progress) and approvals block with 405', async () => {
    const { gh, repo, octokit } = await hotfixRepo();
    const pr = (
      await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'production', title: 'Hotfix' })
    ).data;
    gh.protect(O, R, 'production', ['ci'], { requiredApprovals: 1 });
    const sha = pr.head.sha;
    const mergeError = async () =>
      (await failure(octokit.rest.pulls.merge({ ...repoArgs, pull_number: pr.number, sha }))).response?.data as {
        message: string;
      };

    expect((await mergeError()).message).toBe('Required status check "ci" is expected.');
    gh.setCheckRun(O, R, sha, 'ci', { status: 'in_progress' });
    expect((await mergeError()).message).toBe('Required status check "ci" is in progress.');
    gh.setCheckRun(O, R, sha, 'ci', { status: 'completed', conclusion: 'failure' });
    expect((await mergeError()).message).toBe('Required status check "ci" is failing.');
    await octokit.rest.pulls.get({ ...repoArgs, pull_number: pr.number });
    expect((await octokit.rest.pulls.get({ ...repoArgs, pull_number: pr.number })).data.mergeable_state).toBe(
      'blocked',
    );

    gh.setCheckRun(O, R, sha, 'ci', { status: 'completed', conclusion: 'success' });
    expect((await mergeError()).message).toBe(
      'At least 1 approving review is required by reviewers with write access.',
    );
    // the bot cannot approve its own pull request
    const self = await failure(
      octokit.rest.pulls.createReview({ ...repoArgs, pull_number: pr.number, event: 'APPROVE' }),
    );
    expect(self.status).toBe(422);
    expect(self.message).toMatch(/Can not approve your own pull request/);

    gh.addReview(O, R, pr.number, 'alice', 'APPROVED');
    // a non-required failing status makes it unstable, not blocked
    repo.setStatus(sha, 'coverage', 'failure');
    expect((await octokit.rest.pulls.get({ ...repoArgs, pull_number: pr.number })).data.mergeable_state).toBe(
      'unstable',
    );
    const merged = await octokit.rest.pulls.merge({ ...repoArgs, pull_number: pr.number, sha });
    expect(merged.data.merged).toBe(true);
  });

  it('lists reviews in order with users and states', async () => {
    const { gh, octokit } = await hotfixRepo();
    await octokit.rest.pulls.create({ ...repoArgs, head: 'hotfix/INC-1-x', base: 'production', title: 'Hotfix' });
    gh.addReview(O, R, 1, 'alice', 'CHANGES_REQUESTED');
    gh.addReview(O, R, 1, 'bob', 'COMMENTED', 'looks fine');
    gh.addReview(O, R, 1, 'alice', 'APPROVED');
    const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { ...repoArgs, pull_number: 1 });
    expect(reviews.map((r) => [r.user?.login, r.state])).toEqual([
      ['alice', 'CHANGES_REQUESTED'],
      ['bob', 'COMMENTED'],
      ['alice', 'APPROVED'],
    ]);
    expect(reviews[0]!.id).toBeLessThan(reviews[2]!.id);
  });
});

describe('fake GitHub: checks, statuses, protection', () => {
  it('check runs (latest per name) and the combined status (pending with zero statuses)', async () => {
    const { gh, repo, octokit } = await hotfixRepo();
    const sha = repo.sha('hotfix/INC-1-x')!;
    const empty = await octokit.rest.repos.getCombinedStatusForRef({ ...repoArgs, ref: sha });
    expect(empty.data).toMatchObject({ state: 'pending', total_count: 0, statuses: [], sha });
    expect((await octokit.rest.checks.listForRef({ ...repoArgs, ref: sha })).data).toMatchObject({
      total_count: 0,
      check_runs: [],
    });

    gh.setCheckRun(O, R, sha, 'build', { status: 'queued' });
    gh.setCheckRun(O, R, sha, 'test', { status: 'completed', conclusion: 'failure' });
    gh.setCheckRun(O, R, sha, 'build', { status: 'completed', conclusion: 'success' });
    const runs = await octokit.rest.checks.listForRef({ ...repoArgs, ref: 'hotfix/INC-1-x' });
    expect(gh.requests.at(-1)!.path).toBe('/repos/acme/payments/commits/hotfix%2FINC-1-x/check-runs');
    expect(runs.data.total_count).toBe(2);
    expect(Object.fromEntries(runs.data.check_runs.map((c) => [c.name, [c.status, c.conclusion]]))).toEqual({
      build: ['completed', 'success'],
      test: ['completed', 'failure'],
    });
    expect(runs.data.check_runs.every((c) => c.head_sha === sha)).toBe(true);

    gh.setStatus(O, R, sha, 'ci/jenkins', 'pending');
    expect((await octokit.rest.repos.getCombinedStatusForRef({ ...repoArgs, ref: sha })).data.state).toBe('pending');
    gh.setStatus(O, R, sha, 'ci/jenkins', 'success', { targetUrl: 'https://ci.example/1' });
    expect((await octokit.rest.repos.getCombinedStatusForRef({ ...repoArgs, ref: sha })).data).toMatchObject({
      state: 'success',
      total_count: 1,
      statuses: [{ context: 'ci/jenkins', state: 'success', target_url: 'https://ci.example/1' }],
    });
    await octokit.rest.repos.createCommitStatus({ ...repoArgs, sha, state: 'error', context: 'security' });
    const combined = await octokit.rest.repos.getCombinedStatusForRef({ ...repoArgs, ref: sha });
    expect(combined.data.state).toBe('failure');
    expect(combined.data.statuses.map((s) => s.context).sort()).toEqual(['ci/jenkins', 'security']);
    expect((await octokit.rest.repos.listCommitStatusesForRef({ ...repoArgs, ref: sha })).data).toHaveLength(3);
    expect(
      (
        await failure(
          octokit.rest.repos.createCommitStatus({ ...repoArgs, sha, state: 'success', description: 'x'.repeat(141) }),
        )
      ).status,
    ).toBe(422);
  });

  it('required status checks: 404 Branch not protected, then the contexts', async () => {
    const { gh, octokit } = await hotfixRepo();
    const unprotected = await failure(
      octokit.rest.repos.getStatusChecksProtection({ ...repoArgs, branch: 'production' }),
    );
    expect(unprotected.status).toBe(404);
    expect(unprotected.response?.data).toMatchObject({ message: 'Branch not protected' });
    gh.protect(O, R, 'hotfix/INC-1-x', ['ci', 'lint']);
    const checks = await octokit.rest.repos.getStatusChecksProtection({ ...repoArgs, branch: 'hotfix/INC-1-x' });
    expect(checks.data).toMatchObject({ contexts: ['ci', 'lint'], checks: [{ context: 'ci' }, { context: 'lint' }] });
    expect(gh.requests.at(-1)!.path).toBe(
      '/repos/acme/payments/branches/hotfix%2FINC-1-x/protection/required_status_checks',
    );
  });
});

describe('fake GitHub: releases and deployments', () => {
  it('releases an existing tag; 422 already_exists; a missing tag is made from the default branch or target', async () => {
    const { repo, octokit } = await hotfixRepo();
    repo.tag('v1.2.4', 'hotfix/INC-1-x');
    const rel = await octokit.rest.repos.createRelease({
      ...repoArgs,
      tag_name: 'v1.2.4',
      name: 'v1.2.4',
      body: 'Hotfix',
    });
    expect(rel.status).toBe(201);
    expect(rel.data).toMatchObject({
      tag_name: 'v1.2.4',
      name: 'v1.2.4',
      draft: false,
      html_url: expect.stringMatching(/\/acme\/payments\/releases\/tag\/v1\.2\.4$/),
    });
    const dup = await failure(octokit.rest.repos.createRelease({ ...repoArgs, tag_name: 'v1.2.4' }));
    expect(dup.status).toBe(422);
    expect(dup.response?.data).toMatchObject({
      errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
    });

    await octokit.rest.repos.createRelease({ ...repoArgs, tag_name: 'v9.0.0' });
    expect(repo.sha('v9.0.0')).toBe(repo.sha('main'));
    await octokit.rest.repos.createRelease({ ...repoArgs, tag_name: 'v1.2.5', target_commitish: 'production' });
    expect(repo.sha('v1.2.5')).toBe(repo.sha('production'));
    const bad = await failure(
      octokit.rest.repos.createRelease({ ...repoArgs, tag_name: 'v0.0.1', target_commitish: 'nope' }),
    );
    expect(bad.response?.data).toMatchObject({ errors: [{ field: 'target_commitish', code: 'invalid' }] });
    expect((await octokit.rest.repos.getReleaseByTag({ ...repoArgs, tag: 'v1.2.4' })).data.id).toBe(rel.data.id);
  });

  it('deployments: auto_merge (202), required contexts (409), [] skips them; statuses and auto_inactive', async () => {
    const { gh, repo, octokit } = await hotfixRepo();
    // the hotfix branch is behind main (the default branch): auto_merge defaults to true
    const auto = await octokit.rest.repos.createDeployment({
      ...repoArgs,
      ref: 'hotfix/INC-1-x',
      environment: 'production',
    });
    expect(auto.status).toBe(202);
    expect(auto.data).toMatchObject({ message: 'Auto-merged main into hotfix/INC-1-x on deployment.' });
    expect(repo.log('hotfix/INC-1-x')[0]).toBe("Merge branch 'main' into hotfix/INC-1-x");

    const sha = repo.sha('production')!;
    gh.setCheckRun(O, R, sha, 'ci', { status: 'completed', conclusion: 'failure' });
    const blocked = await failure(
      octokit.rest.repos.createDeployment({ ...repoArgs, ref: 'production', auto_merge: false }),
    );
    expect(blocked.status).toBe(409);
    expect(blocked.response?.data).toMatchObject({
      message: 'Conflict: Commit status checks failed for production.',
      errors: [{ contexts: [{ context: 'ci', state: 'failure' }], field: 'required_contexts' }],
    });

    const d1 = await octokit.rest.repos.createDeployment({
      ...repoArgs,
      ref: 'production',
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      payload: { incident: 'INC-1' },
      description: 'one',
    });
    expect(d1.status).toBe(201);
    const id1 = (d1.data as { id: number }).id;
    expect(d1.data).toMatchObject({
      sha,
      ref: 'production',
      environment: 'production',
      payload: { incident: 'INC-1' },
      production_environment: true,
      transient_environment: false,
    });
    await octokit.rest.repos.createDeploymentStatus({
      ...repoArgs,
      deployment_id: id1,
      state: 'in_progress',
      log_url: 'https://chat.example/1',
    });
    await octokit.rest.repos.createDeploymentStatus({
      ...repoArgs,
      deployment_id: id1,
      state: 'success',
      environment_url: 'https://pay.example',
    });

    const d2 = await octokit.rest.repos.createDeployment({
      ...repoArgs,
      ref: 'production',
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
    });
    const id2 = (d2.data as { id: number }).id;
    expect(id2).toBeGreaterThan(id1);
    await octokit.rest.repos.createDeploymentStatus({ ...repoArgs, deployment_id: id2, state: 'success' });

    const statuses1 = await octokit.rest.repos.listDeploymentStatuses({ ...repoArgs, deployment_id: id1 });
    expect(statuses1.data.map((s) => s.state)).toEqual(['inactive', 'success', 'in_progress']);
    expect(statuses1.data[2]).toMatchObject({ log_url: 'https://chat.example/1' });
    const list = await octokit.rest.repos.listDeployments({ ...repoArgs, environment: 'production' });
    expect(list.data.map((d) => d.id)).toEqual([id2, id1]);
    expect(
      (
        await failure(
          octokit.rest.repos.createDeploymentStatus({ ...repoArgs, deployment_id: id1, state: 'bogus' as 'success' }),
        )
      ).status,
    ).toBe(422);
    expect(
      (await failure(octokit.rest.repos.createDeploymentStatus({ ...repoArgs, deployment_id: 1, state: 'success' })))
        .status,
    ).toBe(404);
    expect(
      (await failure(octokit.rest.repos.createDeployment({ ...repoArgs, ref: 'nope', required_contexts: [] }))).status,
    ).toBe(422);
  });
});

describe('fake GitHub: failures and rate limits with the retry and throttling plugins', () => {
  const Throttled = Octokit.plugin(retry, throttling);
  function throttled(gh: FakeGitHub, retries: number, events: string[]) {
    return new Throttled({
      baseUrl: gh.url,
      auth: gh.token,
      log: silent,
      // as the adapter does: 429 is the throttling plugin's (plugin-retry would retry it at once, ignoring retry-after)
      retry: { retries: 2, retryAfterBaseValue: 10, doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451] },
      throttle: {
        retryAfterBaseValue: 100,
        onSecondaryRateLimit: (after: number, _o: unknown, _k: unknown, count: number) => {
          events.push(`secondary ${after} #${count}`);
          return count < retries;
        },
        onRateLimit: (after: number, _o: unknown, _k: unknown, count: number) => {
          events.push(`primary ${after} #${count}`);
          return count < retries;
        },
      },
    });
  }

  it('a secondary rate limit (403, retry-after: 1) is retried after the wait by the throttling plugin', async () => {
    const { gh } = await hotfixRepo();
    const events: string[] = [];
    const octokit = throttled(gh, 2, events);
    gh.rateLimitNext({ kind: 'secondary', retryAfter: 1, times: 1, path: /\/git\/ref\// });
    const started = Date.now();
    const ref = await octokit.rest.git.getRef({ ...repoArgs, ref: 'heads/production' });
    expect(ref.data.object.sha).toHaveLength(40);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90); // retry-after 1 s x retryAfterBaseValue 100 ms
    expect(events).toEqual(['secondary 1 #0']);
    const served = gh.requests.filter((r) => r.path.includes('/git/ref/'));
    expect(served.map((r) => r.status)).toEqual([403, 200]);
  });

  it('gives up after the allowed retries of a secondary rate limit', async () => {
    const { gh } = await hotfixRepo();
    const events: string[] = [];
    const octokit = throttled(gh, 1, events);
    gh.rateLimitNext({ kind: 'secondary', retryAfter: 1, times: 5 });
    const err = await failure(octokit.rest.repos.get(repoArgs));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/secondary rate limit/);
    expect(events).toEqual(['secondary 1 #0', 'secondary 1 #1']);
    expect(gh.requests.map((r) => r.status)).toEqual([403, 403]);
  });

  it('429 with a secondary limit message and the primary limit (x-ratelimit-remaining 0) reach their handlers', async () => {
    const { gh } = await hotfixRepo();
    const events: string[] = [];
    const octokit = throttled(gh, 1, events);
    gh.rateLimitNext({ kind: 'secondary', status: 429, retryAfter: 1 });
    expect((await octokit.rest.repos.get(repoArgs)).status).toBe(200);
    gh.rateLimitNext({ kind: 'primary', retryAfter: 0 });
    expect((await octokit.rest.repos.get(repoArgs)).status).toBe(200);
    expect(events.map((e) => e.split(' ')[0])).toEqual(['secondary', 'primary']);
    expect(gh.requests.map((r) => r.status)).toEqual([429, 200, 403, 200]);
  });

  it('plugin-retry retries a 5xx (not a 4xx like 422)', async () => {
    const { gh, repo } = await hotfixRepo();
    const octokit = throttled(gh, 0, []);
    gh.failNext({ method: 'GET', path: '/repos/acme/payments/git/ref/heads/main', status: 502, times: 2 });
    expect((await octokit.rest.git.getRef({ ...repoArgs, ref: 'heads/main' })).data.object.sha).toBe(repo.sha('main'));
    expect(gh.requests.map((r) => r.status)).toEqual([502, 502, 200]);

    gh.failNext({
      status: 422,
      body: { message: 'Validation Failed', errors: [], documentation_url: 'x', status: '422' },
    });
    expect((await failure(octokit.rest.repos.get(repoArgs))).status).toBe(422);
    expect(gh.requests.slice(3).map((r) => r.status)).toEqual([422]);
  });
});

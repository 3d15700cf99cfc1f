/**
 * The GitHub adapter (createGitHubHost: @octokit/rest with the retry and throttling plugins) against the loopback
 * fake GitHub: every GitHost method, every GitHub error kind (a FirelaneError's reason), and that the token never shows in an error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubHost, type GitHubHostOptions } from '../../src/adapters/github/github-host.js';
import { parseSemver } from '../../src/domain/hotfix.js';
import { FirelaneError } from '../../src/errors.js';
import { gitHostErrorKind, type GitHost, type GitHostErrorKind } from '../../src/ports/git-host.js';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from '../fakes/fake-github.js';

const REPO = { owner: 'acme', repo: 'payments' };
const opened: FakeGitHub[] = [];
/** Every GitHub error the tests saw, to check no message carries a token. */
const seenErrors: Array<{ error: FirelaneError; token: string }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((f) => f.close()));
});

async function setup(fakeOptions: FakeGitHubOptions = {}, hostOptions: Partial<GitHubHostOptions> = {}) {
  const gh = await startFakeGitHub(fakeOptions);
  opened.push(gh);
  const repo = gh.addRepo('acme', 'payments', { defaultBranch: 'main', branches: { main: ['base'] } });
  repo.createBranch('production', 'main');
  repo.commit('main', 'feature A', { author: 'alice' });
  repo.createBranch('hotfix/INC-1-x', 'production');
  repo.commit('hotfix/INC-1-x', 'fix: stop double charge\n\nlonger text', { author: 'carol' });
  const host = hostFor(gh, hostOptions);
  return { gh, repo, host };
}

function hostFor(gh: FakeGitHub, options: Partial<GitHubHostOptions> = {}): GitHost {
  return createGitHubHost({
    token: gh.token,
    baseUrl: gh.url,
    retryAfterBaseMs: 0,
    writeSpacingMs: 0,
    mergeablePollMs: 5,
    ...options,
  });
}

/** The GitHub error a call fails with (recorded for the token check). */
async function rejection(p: Promise<unknown>, token: string): Promise<FirelaneError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(FirelaneError);
    seenErrors.push({ error: e as FirelaneError, token });
    return e as FirelaneError;
  }
  throw new Error('expected a FirelaneError from GitHub');
}
async function expectKind(
  p: Promise<unknown>,
  token: string,
  kind: GitHostErrorKind,
  message?: RegExp,
): Promise<FirelaneError> {
  const e = await rejection(p, token);
  expect({ kind: gitHostErrorKind(e), message: e.message }).toEqual({
    kind,
    message: message ? expect.stringMatching(message) : expect.any(String),
  });
  return e;
}

describe('GitHub host: refs and tags', () => {
  it('resolves a branch (with a slash, percent-encoded on the wire) before a tag of the same name', async () => {
    const { gh, repo, host } = await setup();
    expect(await host.resolveRef(REPO, 'production')).toEqual({
      sha: repo.sha('production'),
      kind: 'branch',
      name: 'production',
    });
    expect(await host.resolveRef(REPO, 'hotfix/INC-1-x')).toEqual({
      sha: repo.sha('hotfix/INC-1-x'),
      kind: 'branch',
      name: 'hotfix/INC-1-x',
    });
    expect(gh.requests.map((r) => r.path)).toContain('/repos/acme/payments/git/ref/heads%2Fhotfix%2FINC-1-x');

    repo.tag('production', 'main'); // a tag named like the branch
    expect(await host.resolveRef(REPO, 'production')).toEqual({
      sha: repo.refs()['refs/heads/production'],
      kind: 'branch',
      name: 'production',
    });
    expect(await host.resolveRef(REPO, 'tags/production')).toEqual({
      sha: repo.sha('main'),
      kind: 'tag',
      name: 'production',
    });
    expect(await host.resolveRef(REPO, 'refs/tags/production')).toEqual({
      sha: repo.sha('main'),
      kind: 'tag',
      name: 'production',
    });
    // (the fake's own sha() follows git's rev-parse order, where a tag wins)
    expect(await host.resolveRef(REPO, 'refs/heads/production')).toMatchObject({
      kind: 'branch',
      sha: repo.refs()['refs/heads/production'],
    });
    expect(await host.resolveRef(REPO, 'heads/v-none')).toBeUndefined();
    expect(await host.resolveRef(REPO, 'nope')).toBeUndefined();
  });

  it('follows an annotated tag to its commit; a lightweight tag is the commit', async () => {
    const { gh, repo, host } = await setup();
    const tagObject = repo.tag('v2.1.0', 'production', { annotated: true, message: 'Release 2.1.0' });
    repo.tag('v2.1.1', 'hotfix/INC-1-x');
    const resolved = await host.resolveRef(REPO, 'v2.1.0');
    expect(resolved).toEqual({ sha: repo.sha('production'), kind: 'tag', name: 'v2.1.0' });
    expect(resolved!.sha).not.toBe(tagObject);
    expect(gh.requests.map((r) => r.path)).toContain(`/repos/acme/payments/git/tags/${tagObject}`);
    expect(await host.resolveRef(REPO, 'v2.1.1')).toEqual({
      sha: repo.sha('hotfix/INC-1-x'),
      kind: 'tag',
      name: 'v2.1.1',
    });
  });

  it('latestSemverTag: the highest version, v2.10.0 over v2.9.3, pre-releases and other tags ignored', async () => {
    const { repo, host } = await setup();
    expect(await host.latestSemverTag(REPO)).toBeUndefined();
    repo.tag('v2.9.3', 'production');
    repo.tag('v2.10.0', 'hotfix/INC-1-x', { annotated: true });
    repo.tag('v3.0.0-rc.1', 'main');
    repo.tag('release-2024-06', 'main');
    repo.tag('2.2.0', 'main');
    repo.tag('v10', 'main');
    expect(await host.latestSemverTag(REPO)).toEqual({ name: 'v2.10.0', sha: repo.sha('hotfix/INC-1-x') });
  });

  it('latestSemverTag reads past the first page of tags', async () => {
    const { gh, repo, host } = await setup();
    for (let i = 0; i < 150; i++) repo.tag(`v1.${i}.0`, i % 2 ? 'main' : 'production');
    // GitHub lists by name: v1.99.0 sorts before v1.149.0
    expect(await host.latestSemverTag(REPO)).toEqual({ name: 'v1.149.0', sha: repo.sha('main') });
    expect(gh.requests.filter((r) => r.path.endsWith('/tags')).length).toBe(2);
  });

  it('parseSemver', () => {
    expect(parseSemver('v2.10.0')).toEqual([2, 10, 0]);
    expect(parseSemver('2.1.3+build.5')).toEqual([2, 1, 3]);
    for (const bad of ['v3.0.0-rc.1', 'v1.2', '01.2.3', 'version1.2.3', 'v1.2.3.4'])
      expect(parseSemver(bad)).toBeUndefined();
  });

  it('creates a branch and a tag; exists when they are there; not_found for an unknown sha', async () => {
    const { gh, repo, host } = await setup();
    const sha = repo.sha('production')!;
    await host.createBranch(REPO, 'hotfix/INC-2-y', sha);
    expect(repo.sha('hotfix/INC-2-y')).toBe(sha);
    await expectKind(
      host.createBranch(REPO, 'hotfix/INC-2-y', sha),
      gh.token,
      'exists',
      /^Creating branch hotfix\/INC-2-y in acme\/payments failed: Reference already exists$/,
    );
    await host.createTag(REPO, 'v2.1.1', sha);
    expect(repo.refs()['refs/tags/v2.1.1']).toBe(sha);
    await expectKind(host.createTag(REPO, 'v2.1.1', sha), gh.token, 'exists');
    await expectKind(
      host.createBranch(REPO, 'hotfix/INC-3', 'a'.repeat(40)),
      gh.token,
      'not_found',
      /Object does not exist/,
    );
  });
});

describe('GitHub host: compare and pull requests', () => {
  it('compare: commits in head not in base, with titles and authors', async () => {
    const { repo, host } = await setup();
    const fix = repo.sha('hotfix/INC-1-x');
    repo.commit('hotfix/INC-1-x', 'second', { author: 'dave' });
    const cmp = await host.compare(REPO, 'production', 'hotfix/INC-1-x');
    expect(cmp).toMatchObject({ aheadBy: 2, behindBy: 0, status: 'ahead' });
    expect(cmp.commits.map((c) => [c.title, c.author, c.sha])).toEqual([
      ['fix: stop double charge', 'carol', fix],
      ['second', 'dave', repo.sha('hotfix/INC-1-x')],
    ]);
    expect(cmp.url).toContain('/acme/payments/compare/production...hotfix/INC-1-x');
    expect(await host.compare(REPO, 'main', 'hotfix/INC-1-x')).toMatchObject({
      aheadBy: 2,
      behindBy: 1,
      status: 'diverged',
    });
  });

  it('createPull adds the labels; findOpenPull finds it; getPull waits while mergeable is null', async () => {
    const { gh, repo, host } = await setup();
    const pr = await host.createPull(REPO, {
      head: 'hotfix/INC-1-x',
      base: 'production',
      title: 'Hotfix INC-1',
      body: 'Fixes INC-1',
      labels: ['hotfix', 'INC-1'],
    });
    expect(pr).toMatchObject({
      number: 1,
      title: 'Hotfix INC-1',
      state: 'open',
      merged: false,
      head: { ref: 'hotfix/INC-1-x', sha: repo.sha('hotfix/INC-1-x') },
      base: { ref: 'production' },
      labels: ['hotfix', 'INC-1'],
    });
    expect(pr.url).toMatch(/\/acme\/payments\/pull\/1$/);
    expect(gh.requests.find((r) => r.method === 'POST' && r.path.endsWith('/issues/1/labels'))?.body).toEqual({
      labels: ['hotfix', 'INC-1'],
    });

    const found = await host.findOpenPull(REPO, 'hotfix/INC-1-x', 'production');
    expect(found).toMatchObject({ number: 1, labels: ['hotfix', 'INC-1'] });
    expect(await host.findOpenPull(REPO, 'hotfix/INC-1-x', 'main')).toBeUndefined();
    expect(await host.findOpenPull(REPO, 'hotfix/other', 'production')).toBeUndefined();

    const reads = () =>
      gh.requests.filter((r) => r.method === 'GET' && r.path === '/repos/acme/payments/pulls/1').length;
    const got = await host.getPull(REPO, 1);
    expect(got).toMatchObject({ mergeable: true, mergeableState: 'clean', labels: ['hotfix', 'INC-1'] });
    expect(reads()).toBe(2); // null on the first read, computed on the second

    repo.commit('production', 'someone pushed to production');
    expect((await hostFor(gh, { mergeablePolls: 0 }).getPull(REPO, 1)).mergeable).toBeNull();
    gh.setMergeConflict('acme', 'payments', 'hotfix/INC-1-x', 'production');
    expect(await host.getPull(REPO, 1)).toMatchObject({ mergeable: false, mergeableState: 'dirty' });
    await expectKind(
      host.getPull(REPO, 77),
      gh.token,
      'not_found',
      /^Reading pull request #77 of acme\/payments failed: not found on GitHub/,
    );
  });

  it('createPull without labels makes no labels call; a failing labels call does not lose the pull request', async () => {
    const { gh, repo, host } = await setup();
    const pr = await host.createPull(REPO, { head: 'hotfix/INC-1-x', base: 'production', title: 'A', body: '' });
    expect(pr.labels).toEqual([]);
    expect(gh.requests.some((r) => r.path.includes('/labels'))).toBe(false);
    repo.createBranch('hotfix/INC-2', 'production');
    repo.commit('hotfix/INC-2', 'fix 2');
    gh.failNext({
      method: 'POST',
      path: /\/labels$/,
      status: 403,
      body: { message: 'Resource not accessible by integration', documentation_url: 'x', status: '403' },
    });
    const second = await host.createPull(REPO, {
      head: 'hotfix/INC-2',
      base: 'production',
      title: 'B',
      body: '',
      labels: ['hotfix'],
    });
    expect(second).toMatchObject({ number: 2, labels: [] });
  });

  it('no_commits and pull_exists', async () => {
    const { gh, repo, host } = await setup();
    repo.createBranch('hotfix/empty', 'production');
    await expectKind(
      host.createPull(REPO, { head: 'hotfix/empty', base: 'production', title: 't', body: '' }),
      gh.token,
      'no_commits',
      /No commits between production and hotfix\/empty/,
    );
    await host.createPull(REPO, { head: 'hotfix/INC-1-x', base: 'production', title: 't', body: '' });
    const e = await expectKind(
      host.createPull(REPO, { head: 'hotfix/INC-1-x', base: 'production', title: 't', body: '' }),
      gh.token,
      'pull_exists',
      /A pull request already exists for acme:hotfix\/INC-1-x\./,
    );
    expect(e.status).toBe(422);
    expect(e.message).not.toMatch(/Validation Failed|docs\.github\.com/);
  });

  it('reviews: the latest per reviewer, a later comment does not undo an approval', async () => {
    const { gh, host } = await setup();
    await host.createPull(REPO, { head: 'hotfix/INC-1-x', base: 'production', title: 't', body: '' });
    gh.addReview('acme', 'payments', 1, 'alice', 'CHANGES_REQUESTED');
    gh.addReview('acme', 'payments', 1, 'bob', 'COMMENTED');
    gh.addReview('acme', 'payments', 1, 'alice', 'APPROVED');
    gh.addReview('acme', 'payments', 1, 'alice', 'COMMENTED');
    expect((await host.reviews(REPO, 1)).sort((a, b) => a.user.localeCompare(b.user))).toEqual([
      { user: 'alice', state: 'APPROVED' },
      { user: 'bob', state: 'COMMENTED' },
    ]);
    await expectKind(host.reviews(REPO, 9), gh.token, 'not_found');
  });

  it('merge at the head sha: the merge commit sha; conflict when the head moved; not_mergeable with GitHub`s reason', async () => {
    const { gh, repo, host } = await setup();
    const pr = await host.createPull(REPO, { head: 'hotfix/INC-1-x', base: 'production', title: 'Hotfix', body: '' });
    gh.commit('acme', 'payments', 'hotfix/INC-1-x', 'pushed after review');
    const moved = await expectKind(
      host.merge(REPO, pr.number, pr.head.sha, { method: 'merge' }),
      gh.token,
      'conflict',
      /Head branch was modified/,
    );
    expect(moved.status).toBe(409);

    const head = (await host.getPull(REPO, pr.number)).head.sha;
    gh.setMergeConflict('acme', 'payments', 'hotfix/INC-1-x', 'production');
    const dirty = await expectKind(
      host.merge(REPO, pr.number, head, { method: 'merge' }),
      gh.token,
      'not_mergeable',
      /Pull Request is not mergeable/,
    );
    expect(dirty.status).toBe(405);
    gh.setMergeConflict('acme', 'payments', 'hotfix/INC-1-x', 'production', false);

    gh.protect('acme', 'payments', 'production', ['ci']);
    await expectKind(
      host.merge(REPO, pr.number, head, { method: 'merge' }),
      gh.token,
      'not_mergeable',
      /Required status check "ci" is expected\./,
    );
    gh.setCheckRun('acme', 'payments', head, 'ci', { status: 'completed', conclusion: 'success' });

    const merged = await host.merge(REPO, pr.number, head, { method: 'squash', title: 'Hotfix INC-1 (#1)' });
    expect(merged.sha).toBe(repo.sha('production'));
    expect(repo.log('production')[0]).toMatch(/^Hotfix INC-1 \(#1\)/);
    expect(gh.requests.find((r) => r.method === 'PUT')!.body).toMatchObject({
      sha: pr.head.sha,
      merge_method: 'merge',
    });
    expect(await host.getPull(REPO, pr.number)).toMatchObject({ state: 'closed', merged: true, mergeable: null });
  });
});

describe('GitHub host: checks', () => {
  it('check runs and the newest commit status per context side by side; no status check when there are none', async () => {
    const { gh, repo, host } = await setup();
    const sha = repo.sha('hotfix/INC-1-x')!;
    expect(await host.checks(REPO, sha)).toEqual([]);

    gh.setCheckRun('acme', 'payments', sha, 'build', { status: 'queued' });
    gh.setCheckRun('acme', 'payments', sha, 'deploy-preview', { status: 'in_progress' });
    gh.setCheckRun('acme', 'payments', sha, 'test', {
      status: 'completed',
      conclusion: 'failure',
      detailsUrl: 'https://ci.example/t',
    });
    gh.setCheckRun('acme', 'payments', sha, 'lint', { status: 'completed', conclusion: 'skipped' });
    gh.setStatus('acme', 'payments', sha, 'jenkins', 'pending');
    gh.setStatus('acme', 'payments', sha, 'jenkins', 'success', { targetUrl: 'https://jenkins.example/9' });
    gh.setStatus('acme', 'payments', sha, 'security', 'error');
    const checks = await host.checks(REPO, sha);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(checks).toHaveLength(6);
    expect(byName.build).toMatchObject({ source: 'check_run', state: 'pending' });
    expect(byName['deploy-preview']).toMatchObject({ state: 'pending' });
    expect(byName.test).toMatchObject({
      source: 'check_run',
      state: 'failure',
      url: expect.stringContaining('/actions/runs/'),
    });
    expect(byName.lint).toMatchObject({ state: 'skipped' });
    expect(byName.jenkins).toEqual({
      name: 'jenkins',
      source: 'status',
      state: 'success',
      url: 'https://jenkins.example/9',
    });
    expect(byName.security).toMatchObject({ source: 'status', state: 'error', url: null });
  });

  it('requiredChecks: undefined when unprotected or unreadable (403), else the contexts', async () => {
    const { gh, host } = await setup();
    expect(await host.requiredChecks(REPO, 'production')).toBeUndefined();
    gh.protect('acme', 'payments', 'production', ['ci', 'security/scan']);
    expect(await host.requiredChecks(REPO, 'production')).toEqual(['ci', 'security/scan']);
    gh.protect('acme', 'payments', 'hotfix/INC-1-x', ['ci']);
    expect(await host.requiredChecks(REPO, 'hotfix/INC-1-x')).toEqual(['ci']);
    gh.failNext({
      path: /required_status_checks$/,
      status: 403,
      body: { message: 'Resource not accessible by integration', documentation_url: 'x', status: '403' },
    });
    expect(await host.requiredChecks(REPO, 'production')).toBeUndefined();
    gh.failNext({ path: /required_status_checks$/, status: 500, times: 3 });
    await expectKind(host.requiredChecks(REPO, 'production'), gh.token, 'upstream');
  });
});

describe('GitHub host: releases and deployments', () => {
  it('creates a release of an existing tag; exists on a second; not_found without the tag (GitHub would tag main)', async () => {
    const { gh, repo, host } = await setup();
    repo.tag('v2.1.1', 'hotfix/INC-1-x');
    const rel = await host.createRelease(REPO, { tag: 'v2.1.1', name: 'v2.1.1', body: 'Hotfix for INC-1' });
    expect(rel).toEqual({
      id: expect.any(Number),
      tag: 'v2.1.1',
      url: expect.stringMatching(/\/releases\/tag\/v2\.1\.1$/),
    });
    expect(repo.releases()[0]).toMatchObject({ id: rel.id, name: 'v2.1.1', body: 'Hotfix for INC-1' });
    await expectKind(
      host.createRelease(REPO, { tag: 'v2.1.1', name: 'again', body: '' }),
      gh.token,
      'exists',
      /Release tag name already exists/,
    );
    await expectKind(
      host.createRelease(REPO, { tag: 'v9.9.9', name: 'x', body: '' }),
      gh.token,
      'not_found',
      /no tag v9\.9\.9/,
    );
    expect(repo.sha('v9.9.9')).toBeUndefined();
  });

  it('records a deployment without auto-merge or required contexts, and its statuses', async () => {
    const { gh, repo, host } = await setup();
    // the hotfix branch is behind main and its checks fail: GitHub would auto-merge or refuse by default
    gh.setCheckRun('acme', 'payments', 'hotfix/INC-1-x', 'ci', { status: 'completed', conclusion: 'failure' });
    const { id } = await host.createDeployment(REPO, {
      ref: 'hotfix/INC-1-x',
      environment: 'production',
      description: 'Hotfix INC-1',
      payload: { incident: 'INC-1' },
    });
    expect(repo.deployments()).toEqual([
      expect.objectContaining({
        id,
        ref: 'hotfix/INC-1-x',
        sha: repo.sha('hotfix/INC-1-x'),
        environment: 'production',
        payload: { incident: 'INC-1' },
        transient_environment: false,
      }),
    ]);
    expect(gh.requests.find((r) => r.method === 'POST' && r.path.endsWith('/deployments'))!.body).toMatchObject({
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
    });

    await host.setDeploymentStatus(REPO, id, 'in_progress', {
      description: 'Rolling out',
      logUrl: 'https://chat.example/x',
    });
    await host.setDeploymentStatus(REPO, id, 'success', {
      description: 'x'.repeat(300),
      environmentUrl: 'https://pay.example',
    });
    const statuses = repo.deploymentStatuses(id);
    expect(statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(statuses[0]).toMatchObject({ log_url: 'https://chat.example/x', description: 'Rolling out' });
    expect(statuses[1].description.length).toBeLessThanOrEqual(140);
    expect(statuses[1].environment_url).toBe('https://pay.example');
    await expectKind(host.setDeploymentStatus(REPO, id + 1000, 'success', { description: '' }), gh.token, 'not_found');
    await expectKind(
      host.createDeployment(REPO, { ref: 'nope', environment: 'production', description: '' }),
      gh.token,
      'not_found',
      /No ref found for: nope/,
    );
  });
});

describe('GitHub host: errors', () => {
  it('forbidden: a wrong token (401) and a token that may not write (403)', async () => {
    const { gh, repo } = await setup();
    const wrongToken = 'ghp_wrongWRONGwrong0123456789abcdefABCD';
    const e = await expectKind(
      hostFor(gh, { token: wrongToken }).compare(REPO, 'production', 'main'),
      wrongToken,
      'forbidden',
      /GitHub refused the token \(401: Bad credentials\)/,
    );
    expect(e.status).toBe(401);
    const ro = hostFor(gh, { token: gh.readOnlyToken });
    expect((await ro.resolveRef(REPO, 'main'))!.sha).toBe(repo.sha('main'));
    const f = await expectKind(
      ro.createBranch(REPO, 'x', repo.sha('main')!),
      gh.readOnlyToken,
      'forbidden',
      /Resource not accessible by integration/,
    );
    expect(f.status).toBe(403);
  });

  it('rate_limited after the allowed retries (secondary 403 with retry-after, 429, primary); recovers within them', async () => {
    const { gh, repo, host } = await setup();
    const count = () => gh.requests.length;

    gh.rateLimitNext({ kind: 'secondary', retryAfter: 1, times: 2 });
    expect(await host.resolveRef(REPO, 'main')).toMatchObject({ sha: repo.sha('main') });
    expect(gh.requests.map((r) => r.status)).toEqual([403, 403, 200]);

    let before = count();
    gh.rateLimitNext({ kind: 'secondary', retryAfter: 1, times: 3 });
    const e = await expectKind(
      host.compare(REPO, 'production', 'main'),
      gh.token,
      'rate_limited',
      /rate limit was reached/,
    );
    expect(e.status).toBe(403);
    expect(count() - before).toBe(3); // the first try and 2 retries

    const one = hostFor(gh, { retries: 0 });
    gh.requests.length = 0;
    gh.rateLimitNext({ kind: 'secondary', status: 429, retryAfter: 1, times: 1 });
    expect((await expectKind(one.getPull(REPO, 1), gh.token, 'rate_limited')).status).toBe(429);
    expect(gh.requests).toHaveLength(1);

    const fresh = await startFakeGitHub();
    opened.push(fresh);
    fresh.addRepo('acme', 'payments');
    const primary = hostFor(fresh);
    fresh.rateLimitNext({ kind: 'primary', retryAfter: 0, times: 1 });
    expect(await primary.resolveRef(REPO, 'main')).toMatchObject({ kind: 'branch' });
    fresh.rateLimitNext({ kind: 'primary', retryAfter: 3600, times: 5 });
    before = fresh.requests.length;
    await expectKind(hostFor(fresh, { retryAfterBaseMs: 1000 }).resolveRef(REPO, 'main'), fresh.token, 'rate_limited');
    expect(fresh.requests.length - before).toBe(1); // an hour is longer than maxRetryAfterSeconds: no waiting
  });

  it('upstream after bounded 5xx retries; a single 502 is retried away; unreachable GitHub', async () => {
    const upstreamErrors: string[] = [];
    const { gh, repo, host } = await setup({}, { onUpstreamError: (status) => upstreamErrors.push(status) });
    gh.failNext({ status: 502, times: 1 });
    expect((await host.resolveRef(REPO, 'main'))!.sha).toBe(repo.sha('main'));
    // A missing ref is an answer: nothing counted; nor is a 502 that a retry made good.
    expect(await host.resolveRef(REPO, 'no-such-branch')).toBeUndefined();
    expect(upstreamErrors).toEqual([]);
    gh.requests.length = 0;
    gh.failNext({ status: 503, times: 10 });
    const e = await expectKind(host.compare(REPO, 'production', 'main'), gh.token, 'upstream', /GitHub answered 503/);
    expect(e.status).toBe(503);
    expect(gh.requests).toHaveLength(3);
    // One failed call after its retries: counted once.
    expect(upstreamErrors).toEqual(['503']);

    const closed = await startFakeGitHub();
    await closed.close();
    await expectKind(
      hostFor(closed, { token: closed.token, onUpstreamError: (status) => upstreamErrors.push(status) }).resolveRef(
        REPO,
        'main',
      ),
      closed.token,
      'upstream',
      /GitHub could not be reached/,
    );
    expect(upstreamErrors).toEqual(['503', 'network']);
  });

  it('not_found: a repository that does not exist', async () => {
    const { gh, host } = await setup();
    await expectKind(
      host.compare({ owner: 'acme', repo: 'nope' }, 'a', 'b'),
      gh.token,
      'not_found',
      /^Comparing a\.\.\.b in acme\/nope failed: not found on GitHub \(Not Found\)$/,
    );
    expect(await host.resolveRef({ owner: 'acme', repo: 'nope' }, 'main')).toBeUndefined();
  });

  it('works against a GitHub Enterprise Server base URL (/api/v3)', async () => {
    const { gh, repo, host } = await setup({ pathPrefix: '/api/v3' });
    expect(gh.url).toMatch(/\/api\/v3$/);
    expect(await host.resolveRef(REPO, 'hotfix/INC-1-x')).toMatchObject({ sha: repo.sha('hotfix/INC-1-x') });
    expect(hostFor(gh, { baseUrl: `${gh.url}/` })).toBeDefined();
    expect((await hostFor(gh, { baseUrl: `${gh.url}/` }).resolveRef(REPO, 'main'))!.kind).toBe('branch');
  });

  it('never puts the token in an error message, even when GitHub echoes it', async () => {
    const { gh, host } = await setup();
    gh.failNext({
      status: 500,
      times: 3,
      body: { message: `token ${gh.token} is weird`, documentation_url: 'x', status: '500' },
    });
    const e = await rejection(host.compare(REPO, 'production', 'main'), gh.token);
    expect(e.message).toContain('[REDACTED]');
    gh.failNext({
      status: 403,
      body: {
        message: `Bad token ${encodeURIComponent(gh.token)}`,
        errors: [{ message: gh.token }],
        documentation_url: 'x',
        status: '403',
      },
    });
    await rejection(host.createTag(REPO, 'v1', 'a'.repeat(40)), gh.token);

    expect(seenErrors.length).toBeGreaterThan(20);
    for (const { error, token } of seenErrors) {
      expect(error.message).not.toContain(token);
      expect(error.message).not.toContain(encodeURIComponent(token));
    }
  });
});

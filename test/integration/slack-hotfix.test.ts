// /hotfix over signed Slack requests into the whole app, with the real GitHub adapter (octokit with
// retry and throttling) on the loopback fake GitHub REST API: branch, pull request, status, and a
// finish that refuses on failing required checks, then merges, tags, releases and back-merges.
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubHost } from '../../src/adapters/github/github-host.js';
import { startFakeGitHub, type FakeGitHub, type FakeRepo } from '../fakes/fake-github.js';
import { startHarness, type Harness } from '../support/harness.js';
import { ackText, blockTexts, cardField, cardMessage, declare, snapshot } from './slack-helpers.js';

const YAML = `incidents:
  announceChannel: C0INCIDENTS
services:
  payments:
    repo: acme/payments
    productionBranch: production
    developBranch: main
  billing:
    repo: acme/billing
    hotfixFrom: latest-tag
  nocode: {}
`;

let h: Harness;
let gh: FakeGitHub;
let repo: FakeRepo;
afterEach(async () => {
  await h?.close();
  await gh?.close();
});

async function start(options: { github?: boolean | 'env' } = {}) {
  gh = await startFakeGitHub(options.github === 'env' ? { pathPrefix: '/api/v3' } : {});
  repo = gh.addRepo('acme', 'payments', {
    defaultBranch: 'main',
    branches: { main: ['initial', 'feature work'], production: { from: 'main', commits: ['release 2.1.0'] } },
    tags: { 'v2.1.0': 'production', 'v2.0.9': 'main' },
  });
  gh.addRepo('acme', 'billing', {
    defaultBranch: 'main',
    branches: { main: ['one', 'two'] },
    tags: { 'v1.4.0': 'main', 'v1.10.0': 'main', 'v2.0.0-rc.1': 'main' },
  });
  const git = createGitHubHost({
    token: gh.token,
    baseUrl: gh.url,
    retryAfterBaseMs: 0,
    writeSpacingMs: 0,
    mergeablePollMs: 5,
  });
  h = await startHarness({
    configYaml: YAML,
    // 'env': firelane builds its own client from GITHUB_TOKEN and GITHUB_API_URL, as in production.
    ...(options.github === 'env'
      ? { env: { GITHUB_TOKEN: gh.token, GITHUB_API_URL: gh.url } }
      : options.github !== false && { git }),
  });
}

/** What firelane posted (not answered privately) since `from`, as text. */
const posted = (from = 0) =>
  h.slack.messages
    .slice(from)
    .map((m) => blockTexts(m.blocks).join('\n') || m.text)
    .join('\n---\n');

async function hotfix(text: string, channel: string, user = 'U0DEV') {
  const ack = await h.command(text, { command: '/hotfix', channel, user });
  expect(ack.status).toBe(200);
  expect(ack.body.response_type, ackText(ack.body)).toBe('ephemeral');
  const before = h.slack.messages.length;
  await h.drain();
  return { ack: ackText(ack.body), posted: posted(before) };
}

describe('/hotfix over Slack with GitHub', () => {
  it('creates the branch from production, opens the PR once there are commits, refuses to finish on a failing required check, then finishes', async () => {
    await start();
    const incident = await declare(h, 'sev1 Refunds fail for NULL amounts', {
      command: '/incident',
      channel: 'C0GENERAL',
    });
    const room = incident.roomId!;

    const created = await hotfix('create payments "Fix: NULL amount in refunds!"', room);
    expect(created.ack).toContain(
      'HF-1: creating `hotfix/INC-1-fix-null-amount-in-refunds` in acme/payments from production for INC-1',
    );
    expect(repo.refs()['refs/heads/hotfix/INC-1-fix-null-amount-in-refunds']).toBe(repo.sha('production'));
    expect(created.posted).toMatch(
      /HF-1: branch `hotfix\/INC-1-fix-null-amount-in-refunds` created in acme\/payments from production \([0-9a-f]{7}\) for INC-1/,
    );
    // The pinned incident card links the hotfix.
    expect(cardField((await cardMessage(h, 1)).blocks, 'Hotfix')).toBe('`hotfix/INC-1-fix-null-amount-in-refunds`');

    // No commits yet: said in plain words, nothing opened.
    const early = await hotfix('pr', room);
    expect(early.posted).toMatch(
      /No commits on `hotfix\/INC-1-fix-null-amount-in-refunds` that production lacks yet: push the fix/,
    );
    expect(repo.pulls()).toHaveLength(0);

    repo.commit('hotfix/INC-1-fix-null-amount-in-refunds', 'Treat NULL refund amounts as zero');
    const pr = await hotfix('pr', room);
    const pull = repo.pulls()[0];
    expect(pull).toMatchObject({
      base: { ref: 'production' },
      head: { ref: 'hotfix/INC-1-fix-null-amount-in-refunds' },
      title: 'Hotfix INC-1: Fix: NULL amount in refunds!',
    });
    expect(pull.labels.map((l: { name: string }) => l.name)).toEqual(['hotfix']);
    expect(pull.body).toContain('**Incident:** INC-1: Refunds fail for NULL amounts');
    expect(pull.body).toContain('**Severity:** SEV1');
    expect(pull.body).toContain('## Rollback plan');
    expect(pull.body).toContain('`/rollback payments`');
    expect(pull.body).toContain('- [ ] Required checks pass');
    expect(pr.posted).toContain(
      `pull request #${pull.number} opened into production, labelled hotfix: ${pull.html_url}`,
    );
    expect(await h.firelane.store.hotfixes.get(1)).toMatchObject({ status: 'open', prNumber: pull.number });
    expect(cardField((await cardMessage(h, 1)).blocks, 'Hotfix')).toBe(
      `\`hotfix/INC-1-fix-null-amount-in-refunds\` · PR #${pull.number} ${pull.html_url}`,
    );

    // Required check failing: status shows it, finish refuses and merges nothing.
    repo.protect('production', ['ci']);
    const head = repo.sha('hotfix/INC-1-fix-null-amount-in-refunds')!;
    repo.setCheckRun(head, 'ci', { status: 'completed', conclusion: 'failure' });
    repo.setStatus(head, 'lint', 'success');
    repo.addReview(pull.number, 'alice', 'CHANGES_REQUESTED');
    repo.addReview(pull.number, 'bob', 'APPROVED');
    const status = await hotfix('status', room);
    expect(status.posted).toMatch(/alice: changes requested, bob: approved|bob: approved, alice: changes requested/);
    expect(status.posted).toMatch(/Not ready to merge: ci \(failure\)/);
    expect(status.posted).toMatch(/❌ ci: failure \(required\)/);
    expect(status.posted).toMatch(/✅ lint: success/);
    const refused = await hotfix('finish', room);
    expect(refused.posted).toMatch(/HF-1: not merged: required checks do not pass: ci \(failure\)/);
    expect(repo.pull(pull.number).merged).toBe(false);

    // Green: merged, v2.1.1 tagged on the merge commit, released, back-merge PR into main.
    repo.setCheckRun(head, 'ci', { status: 'completed', conclusion: 'success' });
    const finished = await hotfix('finish', room, 'U0LEAD');
    expect(repo.pull(pull.number).merged).toBe(true);
    expect(repo.refs()['refs/tags/v2.1.1']).toBe(repo.sha('production'));
    const [release] = repo.releases();
    expect(release).toMatchObject({ tag_name: 'v2.1.1' });
    expect(release.body).toContain('Incident: INC-1: Refunds fail for NULL amounts (SEV1)');
    const back = repo.pulls().find((p) => p.base.ref === 'main');
    expect(back).toMatchObject({ head: { ref: 'production' }, title: 'Back-merge hotfix v2.1.1 into main' });
    expect(finished.posted).toContain('HF-1 finished: payments v2.1.1');
    expect(finished.posted).toContain('Deploy it with /deploy payments v2.1.1');
    expect(await h.firelane.store.hotfixes.get(1)).toMatchObject({
      status: 'finished',
      tag: 'v2.1.1',
      releaseUrl: release.html_url,
    });
    expect(cardField((await cardMessage(h, 1)).blocks, 'Hotfix')).toMatch(/ · released v2\.1\.1$/);

    const timeline = (await h.firelane.store.incidents.timeline(1)).map((e) => e.text).join('\n');
    expect(timeline).toMatch(/HF-1: branch hotfix\/INC-1-fix-null-amount-in-refunds created/);
    expect(timeline).toMatch(/HF-1: pull request #\d+ opened/);
    expect(timeline).toMatch(/HF-1: #\d+ merged into production/);
    expect(timeline).toMatch(/HF-1 finished: v2\.1\.1 tagged on production/);
    // Finishing again is refused at once: nothing is merged or tagged twice.
    const requestsBefore = gh.requests.length;
    const again = await h.command('finish', { command: '/hotfix', channel: room });
    expect(ackText(again.body)).toMatch(/No hotfix in progress for INC-1/);
    await h.drain();
    expect(gh.requests).toHaveLength(requestsBefore);
  });

  it('chat text arrives at GitHub inert everywhere: no HTML, no mention, no issue link or closing keyword in the PR, the release, the back-merge or the merge commit', async () => {
    await start();
    // Slack sends what people type escaped (should_escape on).
    const title = '<img src=x onerror=alert(1)> @acme/admins Fixes #1';
    const typedTitle = title.replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const incident = await declare(h, `sev1 ${typedTitle}`, { command: '/incident', channel: 'C0GENERAL' });
    expect(incident.title.replace(/\u200b/g, '')).toBe(title);
    const room = incident.roomId!;
    const description = 'closes acme/payments#3, resolves GH-4: <b>ping</b> @oncall';
    await hotfix(`create payments "${description.replace(/</g, '&lt;').replace(/>/g, '&gt;')}"`, room);
    const branch = (await h.firelane.store.hotfixes.get(1))!.branch;
    repo.commit(branch, 'the fix');
    await hotfix('pr', room);
    await hotfix('finish', room, 'U0LEAD');
    expect(await h.firelane.store.hotfixes.get(1)).toMatchObject({ status: 'finished', tag: 'v2.1.1' });

    const [pull, back] = [
      repo.pulls().find((p) => p.base.ref === 'production'),
      repo.pulls().find((p) => p.base.ref === 'main'),
    ];
    const [release] = repo.releases();
    const texts: Record<string, string> = {
      'PR title': pull.title,
      'PR body': pull.body,
      'release name': release.name,
      'release notes': release.body,
      'back-merge title': back.title,
      'back-merge body': back.body,
      'merge commit': repo.log('production')[0]!,
    };
    for (const [where, full] of Object.entries(texts)) {
      const text = full.replace(/`[^`\n]*`/g, '`code`'); // firelane's own code spans (`/deploy payments <version>`) render as code
      expect(text, where).not.toMatch(/<[a-z!/?]/i); // no HTML tag can start
      expect(text, where).not.toMatch(/(?:^|[^\w\u200b])@[a-z0-9]/im); // no @user or @org/team mention
      expect(text, where).not.toMatch(
        /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+(?:[\w.-]+\/[\w.-]+)?(?:#|GH-)\d/i,
      ); // no closing keyword
      if (where !== 'merge commit') expect(text, where).not.toMatch(/(?:#|\bGH-)\d/i); // no issue reference
    }
    // The merge commit names its own pull request, nothing else.
    expect([...texts['merge commit']!.matchAll(/#(\d+)/g)].map((m) => Number(m[1]))).toEqual([pull.number]);
    // Still readable as typed: only zero-width spaces were added.
    const shown = (text: string) => text.replace(/\u200b/g, '');
    expect(shown(pull.title)).toBe(`Hotfix INC-1: ${description}`);
    expect(shown(pull.body)).toContain(`**Incident:** INC-1: ${title}`);
    expect(shown(release.body)).toContain(`Hotfix: ${description}`);
    expect(shown(release.body)).toContain(`Incident: INC-1: ${title} (SEV1)`);
  });

  it('a back-merge that conflicts is reported on the finish card, not hidden', async () => {
    await start();
    repo.createBranch('hotfix/quick', 'production');
    repo.commit('hotfix/quick', 'quick fix');
    repo.setMergeConflict('production', 'main');
    await hotfix('create payments "quick" --from=production', 'C0GENERAL').catch(() => undefined);
    // The branch existed already on GitHub: said in the channel, the hotfix failed, nothing else.
    expect(posted()).toMatch(
      /could not create `hotfix\/quick`: the branch hotfix\/quick already exists in acme\/payments/,
    );
    expect(await h.firelane.store.hotfixes.get(1)).toMatchObject({ status: 'failed' });

    await hotfix('create payments "quick fix two"', 'C0GENERAL');
    repo.commit('hotfix/quick-fix-two', 'another fix');
    await hotfix('pr hotfix/quick-fix-two', 'C0GENERAL');
    const done = await hotfix('finish hotfix/quick-fix-two', 'C0GENERAL');
    expect(done.posted).toMatch(
      /Back-merge\*\n#\d+ has merge conflicts with main: resolve them on GitHub: https:\/\/github\.com\/acme\/payments\/pull\/\d+/,
    );
  });

  it('latest-tag services branch from the newest semver tag; --from takes a tag', async () => {
    await start();
    const billing = gh.repo('acme', 'billing');
    const created = await hotfix('create billing "rounding"', 'C0GENERAL');
    expect(created.ack).toContain('from the newest release tag');
    expect(created.posted).toMatch(/from v1\.10\.0 \(/);
    expect(billing.refs()['refs/heads/hotfix/rounding']).toBe(billing.sha('v1.10.0'));

    await hotfix('create payments "old line" --from=v2.0.9', 'C0GENERAL');
    expect(repo.refs()['refs/heads/hotfix/old-line']).toBe(repo.sha('v2.0.9'));
  });

  it('a war room whose incident is resolved while the hotfix is asked: the hotfix is not linked, nor named after it', async () => {
    await start();
    const incident = await declare(h, 'sev1 Refunds fail', { command: '/incident', channel: 'C0GENERAL' });
    const store = h.firelane.store;
    const transaction = store.transaction.bind(store);
    let armed = true;
    // The resolve lands between the hotfix's first read (in the war room: INC-1, open) and its write.
    store.transaction = (async (fn: () => unknown) => {
      if (armed) {
        armed = false;
        await transaction(() =>
          store.incidents.update(
            incident.id,
            { status: 'resolved', resolvedAt: Date.now(), nextReminderAt: null },
            { actor: 'U0LEAD', platform: 'slack', action: 'incident.resolved' },
          ),
        );
      }
      return transaction(fn as () => Promise<unknown>);
    }) as typeof store.transaction;
    const created = await hotfix('create payments "late fix"', incident.roomId!);
    store.transaction = transaction;
    expect(created.ack).toContain('HF-1: creating `hotfix/late-fix` in acme/payments from production.');
    const [made] = await store.hotfixes.live();
    expect(made).toMatchObject({ branch: 'hotfix/late-fix', incidentId: null });
    expect(repo.refs()['refs/heads/hotfix/late-fix']).toBe(repo.sha('production'));
  });

  it('bad input is answered privately and changes nothing; without GitHub the commands say so', async () => {
    await start();
    const before = await snapshot(h);
    const cases: Array<[string, RegExp]> = [
      ['create', /Name the service and describe the fix/],
      ['create payments', /Describe the fix in a few words/],
      ['create nosuch "x"', /Unknown service "nosuch"/],
      ['create nocode "x"', /nocode has no `repo` in firelane.yaml/],
      ['create payments "x" --from=a..b', /"a\.\.b" is not a branch or tag name: it has "\.\."/],
      ['create payments "x" --from="my branch"', /is not a branch or tag name/],
      ['create payments "x" --incident=INC-9', /INC-9 does not exist/],
      ['pr', /No hotfix in progress/],
      ['finish hotfix/nope', /No hotfix in progress is on the branch "hotfix\/nope"/],
      ['bogus', /bogus/],
    ];
    for (const [text, message] of cases) {
      const ack = await h.command(text, { command: '/hotfix', channel: 'C0GENERAL' });
      expect(ack.body.response_type, text).toBe('ephemeral');
      expect(ackText(ack.body), text).toMatch(message);
    }
    await h.drain();
    expect(await snapshot(h)).toEqual(before);
    expect(gh.requests).toHaveLength(0);
    await h.close();
    await gh.close();

    await start({ github: false });
    const ack = await h.command('create payments "x"', { command: '/hotfix', channel: 'C0GENERAL' });
    expect(ackText(ack.body)).toMatch(/GitHub is not set up for this firelane \(set GITHUB_TOKEN/);
    expect(await h.firelane.store.hotfixes.live()).toEqual([]);
    // The rest of firelane is unaffected.
    await declare(h, 'sev2 Still works', { command: '/incident', channel: 'C0GENERAL' });
  });

  it('a secondary rate limit is waited out and retried; the branch is created once', async () => {
    await start();
    gh.rateLimitNext({ kind: 'secondary', status: 403, retryAfter: 1, times: 1, path: /git\/refs$/ });
    const created = await hotfix('create payments "retry me"', 'C0GENERAL');
    expect(created.posted).toMatch(/branch `hotfix\/retry-me` created/);
    expect(gh.requests.filter((r) => r.method === 'POST' && /git\/refs$/.test(r.path))).toHaveLength(2);
  });

  it('GitHub Enterprise Server through GITHUB_API_URL (the /api/v3 prefix), with the client firelane builds itself', async () => {
    await start({ github: 'env' });
    expect(gh.url).toMatch(/\/api\/v3$/);
    const created = await hotfix('create payments "enterprise"', 'C0GENERAL');
    expect(created.posted).toMatch(/branch `hotfix\/enterprise` created in acme\/payments from production/);
    // The token travels only in the Authorization header, never in a URL.
    expect(gh.requests.some((r) => r.path.includes(gh.token))).toBe(false);
  });

  it('GitHub refusals come back in plain words: an unknown --from ref (404), a head that moved during the merge (409)', async () => {
    await start();
    const missing = await hotfix('create payments "from nowhere" --from=release/9.9', 'C0GENERAL');
    expect(missing.posted).toMatch(
      /could not create `hotfix\/from-nowhere`: acme\/payments has no branch or tag named release\/9\.9/,
    );
    expect(await h.firelane.store.hotfixes.get(1)).toMatchObject({ status: 'failed' });

    await hotfix('create payments "moving target"', 'C0GENERAL');
    repo.commit('hotfix/moving-target', 'fix');
    await hotfix('pr hotfix/moving-target', 'C0GENERAL');
    gh.failNext({
      method: 'PUT',
      path: /\/merge$/,
      status: 409,
      body: {
        message: 'Head branch was modified. Review and try the merge again.',
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const moved = await hotfix('finish hotfix/moving-target', 'C0GENERAL');
    expect(moved.posted).toMatch(
      /HF-2: not merged: the branch moved while firelane checked it \(.*Head branch was modified.*\); run \/hotfix finish again/,
    );
    expect(await h.firelane.store.hotfixes.get(2)).toMatchObject({ status: 'open', mergeSha: null });
    // Asked again, it merges.
    const done = await hotfix('finish hotfix/moving-target', 'C0GENERAL');
    expect(done.posted).toContain('HF-2 finished: payments v2.1.1');
  });

  it('a protected branch that wants an approving review: GitHub refuses the merge (405), said in plain words', async () => {
    await start();
    await hotfix('create payments "needs review"', 'C0GENERAL');
    repo.commit('hotfix/needs-review', 'fix');
    await hotfix('pr hotfix/needs-review', 'C0GENERAL');
    repo.protect('production', [], { requiredApprovals: 1 });
    const refused = await hotfix('finish hotfix/needs-review', 'C0GENERAL');
    expect(refused.posted).toMatch(/HF-1: not merged: GitHub refused the merge: .*review/i);
    expect(repo.pull(1).merged).toBe(false);
    expect(repo.refs()['refs/tags/v2.1.1']).toBeUndefined();
  });
});

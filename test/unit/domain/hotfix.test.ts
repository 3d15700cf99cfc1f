// Branch names from chat text, git ref names, the next patch version, the check gate, the PR body.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkGate } from '../../../src/domain/checks.js';
import {
  backMergePull,
  hotfixBranch,
  hotfixMergeTitle,
  hotfixPullBody,
  hotfixPullTitle,
  hotfixReleaseNotes,
  nextPatch,
  parseSemver,
  refNameProblem,
  slugify,
} from '../../../src/domain/hotfix.js';
import type { Incident } from '../../../src/domain/incident.js';

describe('hotfix branch names', () => {
  it('turns descriptions into short ASCII slugs', () => {
    expect(slugify('Fix: NULL amount in refunds!')).toBe('fix-null-amount-in-refunds');
    expect(slugify('Crème brûlée — déjà vu')).toBe('creme-brulee-deja-vu');
    expect(slugify('🔥🔥🔥')).toBe('fix');
    expect(slugify('../../etc/passwd.lock')).toBe('etc-passwd-lock');
    expect(slugify('a'.repeat(60))).toBe('a'.repeat(40));
    expect(slugify('one two three four five six seven eight nine ten')).toBe('one-two-three-four-five-six-seven-eight');
    expect(hotfixBranch('Refunds broken', 12)).toBe('hotfix/INC-12-refunds-broken');
    expect(hotfixBranch('Refunds broken')).toBe('hotfix/refunds-broken');
  });

  it('property: whatever the description holds, the branch is a valid git ref name of bounded length', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.option(fc.integer({ min: 1, max: 1e9 }), { nil: undefined }),
        (text, id) => {
          const branch = hotfixBranch(text, id);
          expect(refNameProblem(branch)).toBeUndefined();
          expect(branch).toMatch(/^hotfix\/(INC-\d+-)?[a-z0-9]+(-[a-z0-9]+)*$/);
          expect(branch.length).toBeLessThanOrEqual(7 + 15 + 40);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refNameProblem follows git check-ref-format', () => {
    for (const ok of ['production', 'release/2.1', 'v2.1.0', 'refs/tags/v1', 'hotfix/INC-1-x'])
      expect(refNameProblem(ok), ok).toBeUndefined();
    const bad: Array<[string, RegExp]> = [
      ['a..b', /\.\./],
      ['my branch', /space/],
      ['x~1', /~/],
      ['x^', /\^/],
      ['a:b', /:/],
      ['what?', /\?/],
      ['a*', /\*/],
      ['a[b', /\[/],
      ['a\\b', /\\/],
      ['@', /"@"/],
      ['a@{1}', /@\{/],
      ['/a', /empty path component/],
      ['a/', /empty path component/],
      ['a//b', /empty path component/],
      ['a.', /ends with "\."/],
      ['.hidden', /starts with "\."/],
      ['a/.b', /starts with "\."/],
      ['x.lock', /\.lock/],
      ['', /empty/],
      ['x'.repeat(201), /200/],
    ];
    for (const [name, problem] of bad) expect(refNameProblem(name), name).toMatch(problem);
  });
});

describe('versions', () => {
  it('the next patch keeps the prefix; pre-releases are not versions', () => {
    expect(nextPatch('v2.1.0')).toBe('v2.1.1');
    expect(nextPatch('2.9.9')).toBe('2.9.10');
    expect(nextPatch(undefined)).toBe('v0.0.1');
    expect(parseSemver('v2.10.0')).toEqual([2, 10, 0]);
    expect(parseSemver('v3.0.0-rc.1')).toBeUndefined();
    expect(parseSemver('v1.2.3+build.5')).toEqual([1, 2, 3]);
    expect(parseSemver('01.2.3')).toBeUndefined();
  });
});

describe('checkGate', () => {
  const checks = [
    { name: 'ci', state: 'success' },
    { name: 'lint', state: 'failure' },
    { name: 'e2e', state: 'pending' },
    { name: 'docs', state: 'skipped' },
  ];
  it('with required contexts: only those count; a missing one is expected', () => {
    expect(checkGate(checks, ['ci', 'docs'])).toEqual({ ok: true, blocking: [], failed: [] });
    expect(checkGate(checks, ['ci', 'e2e', 'security'])).toEqual({
      ok: false,
      blocking: ['e2e (pending)', 'security (expected, not reported yet)'],
      failed: [],
    });
  });
  it('without: every check counts, and pending is not failed', () => {
    expect(checkGate(checks, undefined)).toEqual({
      ok: false,
      blocking: ['lint (failure)', 'e2e (pending)'],
      failed: ['lint'],
    });
    expect(checkGate([], undefined)).toEqual({ ok: true, blocking: [], failed: [] });
  });
});

describe('hotfixPullBody', () => {
  it('carries the incident, a rollback plan and a checklist, with chat text neutralised', () => {
    const incident = {
      id: 7,
      title: 'Refunds <b>down</b> @oncall Fixes #12',
      severity: 'sev1',
      status: 'identified',
      description: null,
    } as unknown as Incident;
    const body = hotfixPullBody({
      hotfix: {
        id: 3,
        service: 'payments',
        branch: 'hotfix/INC-7-x',
        baseRef: 'production',
        description: 'ping @everyone',
      },
      incident,
      productionBranch: 'production',
    });
    expect(body).toContain('**Incident:** INC-7: Refunds <\u200bb>down<\u200b/b> @\u200boncall F\u200bixes #\u200b12');
    expect(body).toContain('## Hotfix: ping @\u200beveryone');
    expect(body).toContain('**Impact:** not described yet');
    expect(body).toContain('`/rollback payments`');
    expect(body).toContain('(HF-3)');
    expect(body).not.toMatch(/@(everyone|oncall)/);
  });
});

describe('the other hotfix texts on GitHub', () => {
  const hotfix = {
    id: 3,
    branch: 'hotfix/INC-7-x',
    description: 'closes #3 for @oncall <b>now</b>',
    prUrl: 'https://github.com/acme/payments/pull/9',
    prNumber: 9,
  };
  const incident = { id: 7, title: '<img src=x onerror=alert(1)> @acme/admins Fixes #1', severity: 'sev1' } as Incident;

  it('the pull request title and the release notes carry the chat text inert', () => {
    expect(hotfixPullTitle(hotfix, incident)).toBe(
      'Hotfix INC-7: c\u200bloses #\u200b3 for @\u200boncall <\u200bb>now<\u200b/b>',
    );
    const notes = hotfixReleaseNotes(hotfix, incident);
    expect(notes).toContain(
      'Incident: INC-7: <\u200bimg src=x onerror=alert(1)> @\u200bacme/admins F\u200bixes #\u200b1 (SEV1)',
    );
    expect(notes).toContain('Pull request: https://github.com/acme/payments/pull/9');
    expect(hotfixReleaseNotes({ ...hotfix, prUrl: null }, undefined)).toContain('Pull request: number 9\n');
  });

  it('the merge title references its own pull request only; the back-merge names tag and branches', () => {
    expect(hotfixMergeTitle(hotfix, 9)).toBe('Merge hotfix hotfix/INC-7-x (#9)');
    expect(backMergePull('v2.1.1', hotfix, 'main')).toEqual({
      title: 'Back-merge hotfix v2.1.1 into main',
      body: 'Brings hotfix v2.1.1 (hotfix/INC-7-x) back into main.',
    });
  });
});

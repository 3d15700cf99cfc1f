// The GitHub work of /hotfix, after the acknowledgement: cut the branch, open the pull request,
// read its checks and reviews, and finish it (merge when the required checks pass, tag the next
// patch version, publish a release, open the back-merge). Each GitHub write is a named step, so a
// retry never merges or tags twice. What GitHub refuses becomes a message in plain words in the
// channel; rate limits and outages are retried by the outbox.

import { channelReply, mention, type Card } from '../ports/reply.js';
import type { FileConfig } from '../config.js';
import type { ServiceConfig } from '../config/types.js';
import { checkGate } from '../domain/checks.js';
import {
  backMergePull,
  hotfixKey,
  hotfixMergeTitle,
  hotfixPullBody,
  hotfixPullTitle,
  hotfixReleaseNotes,
  nextPatch,
  type Hotfix,
} from '../domain/hotfix.js';
import { incidentKey } from '../domain/incident.js';
import type { ChatPort } from '../ports/chat.js';
import type { Clock } from '../ports/clock.js';
import {
  gitHostError,
  gitHostErrorKind,
  parseRepoName,
  type Check,
  type GitHost,
  type RepoName,
} from '../ports/git-host.js';
import { FirelaneError } from '../errors.js';
import type { HotfixPatch, Store } from '../ports/store.js';

import { PermanentJobError, type JobContext } from './worker.js';
import {
  HOTFIX_CREATE,
  HOTFIX_FINISH,
  HOTFIX_PR,
  HOTFIX_STATUS,
  type JobHandlers,
  REFRESH_INCIDENT_CARD,
} from '../ports/jobs.js';

export interface HotfixJobDeps {
  store: Store;
  chats: Partial<Record<string, ChatPort>>;
  config: FileConfig;
  clock: Clock;
  git?: GitHost;
}

const FIRELANE = 'firelane';
/** What GitHub refused for a reason retrying cannot change. */
/** GitHub said no (a refusal, not an outage): retrying cannot change the answer. */
const isRefusal = (error: unknown): error is FirelaneError => error instanceof FirelaneError && !error.retryable;
const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : '?');
const ICON: Record<string, string> = {
  success: '✅',
  neutral: '⚪',
  skipped: '⚪',
  pending: '⏳',
  failure: '❌',
  error: '❌',
  cancelled: '❌',
  timed_out: '❌',
  action_required: '⚠️',
};

const checkLines = (checks: Check[], required: string[] | undefined) =>
  checks.length
    ? checks
        .map((c) => `${ICON[c.state] ?? '•'} ${c.name}: ${c.state}${required?.includes(c.name) ? ' (required)' : ''}`)
        .join('\n')
    : 'no checks reported';

export function createHotfixJobs(
  deps: HotfixJobDeps,
): Pick<JobHandlers, typeof HOTFIX_CREATE | typeof HOTFIX_FINISH | typeof HOTFIX_PR | typeof HOTFIX_STATUS> {
  const { store, clock } = deps;

  async function load(payload: { hotfixId: number }): Promise<{
    hotfix: Hotfix;
    chat: ChatPort;
    git: GitHost;
    repo: RepoName;
    service: ServiceConfig;
  }> {
    const hotfix = await store.hotfixes.get(Number(payload.hotfixId));
    if (!hotfix) throw new PermanentJobError(`hotfix ${String(payload.hotfixId)} does not exist`);
    const chat = deps.chats[hotfix.platform];
    if (!chat) throw new Error(`${hotfix.platform} is not connected; ${hotfixKey(hotfix.id)} waits until it is`);
    if (!deps.git) throw new PermanentJobError('GitHub is not set up (GITHUB_TOKEN)');
    const repo = parseRepoName(hotfix.repo);
    if (!repo) throw new PermanentJobError(`${hotfix.repo} is not owner/name`);
    const service = Object.hasOwn(deps.config.services, hotfix.service)
      ? deps.config.services[hotfix.service]
      : undefined;
    if (!service) throw new PermanentJobError(`${hotfix.service} is no longer configured`);
    return { hotfix, chat, git: deps.git, repo, service };
  }

  const by = (hotfix: Hotfix, action: string, payload?: { hotfixId: number; actor?: string; platform?: string }) => ({
    actor: typeof payload?.actor === 'string' ? payload.actor : FIRELANE,
    platform: typeof payload?.platform === 'string' ? payload.platform : hotfix.platform,
    action: `hotfix.${action}`,
  });

  /** A change of the hotfix and its line on the incident's timeline, in one transaction. */
  function record(
    hotfix: Hotfix,
    from: Hotfix['status'][],
    patch: HotfixPatch,
    action: string,
    timeline: string,
    payload?: { hotfixId: number; actor?: string; platform?: string },
  ): Promise<Hotfix | undefined> {
    return store.transaction(async () => {
      const changed = await store.hotfixes.update(hotfix.id, from, patch, by(hotfix, action, payload));
      if (changed && hotfix.incidentId !== null) {
        await store.jobs.enqueue({
          kind: REFRESH_INCIDENT_CARD,
          key: `incident-card:${hotfix.incidentId}:hotfix-${hotfix.id}:${action}`,
          payload: { incidentId: hotfix.incidentId },
        });
        await store.incidents.addEvent({
          incidentId: hotfix.incidentId,
          at: clock.now(),
          actor: by(hotfix, action, payload).actor,
          platform: hotfix.platform,
          kind: `hotfix_${action}`,
          text: timeline,
          data: { hotfix: hotfixKey(hotfix.id) },
        });
      }
      return changed;
    });
  }

  /** Posting is a step too: a retry after it does not say it twice (nor after its answer was lost: see PostOnce). */
  const sayOnce = (step: JobContext['step'], name: string, chat: ChatPort, hotfix: Hotfix, text: string, card?: Card) =>
    step(name, async (once) => {
      await chat.post(hotfix.roomId, channelReply(text, card), { once });
      return null;
    });

  return {
    async [HOTFIX_CREATE](payload, { step }) {
      const { hotfix, chat, git, repo, service } = await load(payload);
      if (hotfix.status !== 'creating') return;
      const key = hotfixKey(hotfix.id);
      let base: { name: string; sha: string };
      try {
        base = await step('base', async () => {
          if (hotfix.baseRef === '') {
            const tag = await git.latestSemverTag(repo);
            if (!tag)
              throw gitHostError(
                'not_found',
                `${hotfix.repo} has no release tag (vX.Y.Z) to branch from; use --from=${service.productionBranch}`,
              );
            return tag;
          }
          const ref = await git.resolveRef(repo, hotfix.baseRef);
          if (!ref) throw gitHostError('not_found', `${hotfix.repo} has no branch or tag named ${hotfix.baseRef}`);
          return { name: ref.name, sha: ref.sha };
        });
        await step('branch', async () => {
          await git.createBranch(repo, hotfix.branch, base.sha);
          return null;
        });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        const reason =
          error.reason === 'exists' ? `the branch ${hotfix.branch} already exists in ${hotfix.repo}` : error.message;
        await record(hotfix, ['creating'], { status: 'failed', reason }, 'failed', `${key} failed: ${reason}`, payload);
        await sayOnce(
          step,
          'said-failed',
          chat,
          hotfix,
          `❌ ${key}: could not create \`${hotfix.branch}\`: ${reason}.`,
        );
        return;
      }
      await record(
        hotfix,
        ['creating'],
        { status: 'open', baseRef: base.name, baseSha: base.sha },
        'created',
        `${key}: branch ${hotfix.branch} created in ${hotfix.repo} from ${base.name} (${short(base.sha)})`,
        payload,
      );
      await sayOnce(
        step,
        'said-created',
        chat,
        hotfix,
        `🩹 ${key}: branch \`${hotfix.branch}\` created in ${hotfix.repo} from ${base.name} (${short(base.sha)})${hotfix.incidentId !== null ? ` for ${incidentKey(hotfix.incidentId)}` : ''}. Push the fix to it, then run /hotfix pr.`,
      );
    },

    async [HOTFIX_PR](payload, { step }) {
      const { hotfix, chat, git, repo, service } = await load(payload);
      const key = hotfixKey(hotfix.id);
      if (hotfix.status !== 'open' || hotfix.prNumber !== null) return;
      const noCommits = `No commits on \`${hotfix.branch}\` that ${service.productionBranch} lacks yet: push the fix to the branch first, then run /hotfix pr again.`;
      const comparison = await step('compare', async () => {
        const c = await git.compare(repo, service.productionBranch, hotfix.branch);
        return { aheadBy: c.aheadBy };
      });
      if (comparison.aheadBy === 0)
        return void (await sayOnce(step, 'said-no-commits', chat, hotfix, `ℹ️ ${key}: ${noCommits}`));
      const incident = hotfix.incidentId !== null ? await store.incidents.get(hotfix.incidentId) : undefined;
      let pull: { number: number; url: string };
      try {
        pull = await step('pull', async () => {
          const title = hotfixPullTitle(hotfix, incident);
          const body = hotfixPullBody({ hotfix, incident, productionBranch: service.productionBranch });
          try {
            const created = await git.createPull(repo, {
              head: hotfix.branch,
              base: service.productionBranch,
              title,
              body,
              labels: ['hotfix'],
            });
            return { number: created.number, url: created.url };
          } catch (error) {
            if (gitHostErrorKind(error) !== 'pull_exists') throw error;
            const open = await git.findOpenPull(repo, hotfix.branch, service.productionBranch);
            if (!open) throw error;
            return { number: open.number, url: open.url };
          }
        });
      } catch (error) {
        if (!isRefusal(error)) throw error;
        const text = error.reason === 'no_commits' ? noCommits : `GitHub refused the pull request: ${error.message}`;
        return void (await sayOnce(step, 'said-refused', chat, hotfix, `❌ ${key}: ${text}`));
      }
      await record(
        hotfix,
        ['open'],
        { prNumber: pull.number, prUrl: pull.url },
        'pr_opened',
        `${key}: pull request #${pull.number} opened from ${hotfix.branch} into ${service.productionBranch}: ${pull.url}`,
        payload,
      );
      await sayOnce(
        step,
        'said-pr',
        chat,
        hotfix,
        `🔀 ${key}: pull request #${pull.number} opened into ${service.productionBranch}, labelled hotfix: ${pull.url}\nSee its checks with /hotfix status; merge with /hotfix finish.`,
      );
    },

    async [HOTFIX_STATUS](payload, { step }) {
      const { hotfix, chat, git, repo, service } = await load(payload);
      if (hotfix.prNumber === null) return;
      const key = hotfixKey(hotfix.id);
      const facts = await step('read', async () => {
        const pull = await git.getPull(repo, hotfix.prNumber!);
        const [checks, required, reviews] = await Promise.all([
          git.checks(repo, pull.head.sha),
          git.requiredChecks(repo, service.productionBranch),
          git.reviews(repo, pull.number),
        ]);
        return { pull, checks, required: required ?? null, reviews };
      });
      const { pull, checks, reviews } = facts;
      const required = facts.required ?? undefined;
      const gate = checkGate(checks, required);
      const state = pull.merged
        ? 'merged'
        : pull.state === 'closed'
          ? 'closed'
          : pull.mergeable === false
            ? 'has conflicts'
            : pull.mergeable === null
              ? 'mergeability not known yet'
              : 'open, no conflicts';
      await sayOnce(step, 'said-status', chat, hotfix, `${key}: #${pull.number} ${state}`, {
        title: `🔎 ${key}: ${hotfix.branch} → ${service.productionBranch} (#${pull.number})`,
        text: gate.ok ? '✅ Required checks pass' : `⛔ Not ready to merge: ${gate.blocking.join('; ')}`,
        accent: gate.ok && pull.mergeable !== false ? 'good' : 'warning',
        fields: [
          { label: 'Pull request', value: pull.url },
          { label: 'State', value: state },
          { label: 'Head', value: short(pull.head.sha) },
          { label: 'Checks', value: checkLines(checks, required) },
          {
            label: 'Required',
            value: required ? required.join(', ') || 'none' : 'every check (the branch declares none)',
          },
          {
            label: 'Reviews',
            value: reviews.length
              ? reviews.map((r) => `${r.user}: ${r.state.toLowerCase().replace('_', ' ')}`).join(', ')
              : 'none yet',
          },
        ],
      });
    },

    async [HOTFIX_FINISH](payload, { step }) {
      const { hotfix, chat, git, repo, service } = await load(payload);
      if (hotfix.prNumber === null || hotfix.status === 'finished') return;
      const key = hotfixKey(hotfix.id);
      const refuse = (text: string) => sayOnce(step, 'said-refused', chat, hotfix, `⛔ ${key}: not merged: ${text}`);

      // 1. Merge, only when the required checks of the head pass (skipped when already merged).
      let mergeSha = hotfix.mergeSha;
      if (mergeSha === null) {
        const pull = await git.getPull(repo, hotfix.prNumber);
        if (pull.merged)
          mergeSha = await step(
            'merged-before',
            async () => (await git.resolveRef(repo, service.productionBranch))?.sha ?? pull.head.sha,
          );
        else {
          if (pull.state === 'closed')
            return void (await refuse(`#${pull.number} is closed; reopen it on GitHub first.`));
          const [checks, required] = await Promise.all([
            git.checks(repo, pull.head.sha),
            git.requiredChecks(repo, service.productionBranch),
          ]);
          const gate = checkGate(checks, required);
          if (!gate.ok)
            return void (await refuse(
              `required checks do not pass: ${gate.blocking.join('; ')}. Run /hotfix finish again when they do.`,
            ));
          if (pull.mergeable === false)
            return void (await refuse(
              `#${pull.number} has merge conflicts with ${service.productionBranch}; resolve them on GitHub first.`,
            ));
          try {
            mergeSha = await step(
              'merge',
              async () =>
                (
                  await git.merge(repo, pull.number, pull.head.sha, {
                    method: 'merge',
                    title: hotfixMergeTitle(hotfix, pull.number),
                  })
                ).sha,
            );
          } catch (error) {
            if (!isRefusal(error)) throw error;
            const why =
              error.reason === 'conflict'
                ? `the branch moved while firelane checked it (${error.message}); run /hotfix finish again`
                : `GitHub refused the merge: ${error.message}`;
            return void (await refuse(why));
          }
        }
        await record(
          hotfix,
          ['open'],
          { status: 'merged', mergeSha },
          'merged',
          `${key}: #${hotfix.prNumber} merged into ${service.productionBranch} (${short(mergeSha)})`,
          payload,
        );
      }
      const merged = mergeSha!;

      // 2. Tag the next patch version and publish its release.
      const tag = await step('tag', async () => {
        const newest = await git.latestSemverTag(repo);
        if (newest?.sha === merged) return newest.name; // tagged by an earlier attempt or by hand
        const name = nextPatch(newest?.name);
        await git.createTag(repo, name, merged);
        return name;
      });
      const incident = hotfix.incidentId !== null ? await store.incidents.get(hotfix.incidentId) : undefined;
      const release = await step('release', async () => {
        const notes = hotfixReleaseNotes(hotfix, incident);
        try {
          return (await git.createRelease(repo, { tag, name: tag, body: notes })).url;
        } catch (error) {
          if (gitHostErrorKind(error) === 'exists') return null;
          throw error;
        }
      });

      // 3. Back-merge into the develop branch; a conflict there is reported, not hidden.
      const back = await step('back-merge', async (): Promise<{ url: string | null; note: string }> => {
        const { title, body } = backMergePull(tag, hotfix, service.developBranch);
        try {
          const pull = await git.createPull(repo, {
            head: service.productionBranch,
            base: service.developBranch,
            title,
            body,
            labels: ['hotfix'],
          });
          const read = await git.getPull(repo, pull.number);
          return {
            url: pull.url,
            note:
              read.mergeable === false
                ? `#${pull.number} has merge conflicts with ${service.developBranch}: resolve them on GitHub`
                : `#${pull.number} opened`,
          };
        } catch (error) {
          if (gitHostErrorKind(error) === 'no_commits')
            return { url: null, note: `${service.developBranch} already has everything` };
          if (gitHostErrorKind(error) === 'pull_exists') {
            const open = await git.findOpenPull(repo, service.productionBranch, service.developBranch);
            return {
              url: open?.url ?? null,
              note: `a back-merge pull request was already open${open ? ` (#${open.number})` : ''}`,
            };
          }
          if (isRefusal(error))
            return { url: null, note: `GitHub refused the back-merge pull request: ${error.message}` };
          throw error;
        }
      });

      await record(
        (await store.hotfixes.get(hotfix.id))!,
        ['merged'],
        { status: 'finished', tag, releaseUrl: release, backMergeUrl: back.url },
        'finished',
        `${key} finished: ${tag} tagged on ${service.productionBranch}${release ? `, release ${release}` : ''}; back-merge: ${back.note}`,
        payload,
      );
      await sayOnce(step, 'said-finished', chat, hotfix, `${key} finished: ${tag}`, {
        title: `✅ ${key} finished: ${hotfix.service} ${tag}`,
        text: `Merged into ${service.productionBranch} (${short(merged)}) and tagged ${tag}. Deploy it with /deploy ${hotfix.service} ${tag}.`,
        accent: back.note.includes('conflict') ? 'warning' : 'good',
        fields: [
          { label: 'Release', value: release ?? 'already published' },
          { label: 'Back-merge', value: back.url ? `${back.note}: ${back.url}` : back.note },
          ...(incident ? [{ label: 'Incident', value: incidentKey(incident.id) }] : []),
          { label: 'Finished by', value: mention(by(hotfix, 'finished', payload).actor) },
        ],
      });
    },
  };
}

// GitHub's side of a deploy, when GitHub is set up and the service has a `repo`: the go/no-go facts
// on the request card (the checks of the commit behind the version, the commits since the running
// version), and a GitHub Deployment per rollout with its statuses, so GitHub shows what runs where.
// GitHub never blocks a deploy: what cannot be read becomes a note on the card, and a Deployment
// that cannot be recorded is logged.
import { cutText } from '../domain/clean-text.js';
import type { Logger } from 'pino';
import { githubDeploymentJobKey } from '../flows/change-request.js';
import type { FileConfig } from '../config.js';
import type { ServiceConfig } from '../config/types.js';
import { toPlainText } from '../ports/reply.js';
import { checkGate, isPassing } from '../domain/checks.js';
import { inertForGitHub } from '../domain/github-text.js';
import {
  imageTag,
  REQUEST_STATUSES,
  requestKey,
  versionTag,
  type DeployRequest,
  type GoNoGo,
} from '../domain/deploy-request.js';
import { parseRepoName, type DeploymentState, type GitHost, type RepoName } from '../ports/git-host.js';
import { FirelaneError } from '../errors.js';
import type { Store } from '../ports/store.js';
import { PermanentJobError, RetryLater } from './worker.js';
import { GITHUB_DEPLOYMENT, type JobHandlers } from '../ports/jobs.js';

const MAX_TITLES = 5;

/** A deployment description as GitHub should show it: chat mentions as plain `@id`, made inert like every text firelane sends GitHub; at most 140 characters. */
export const githubText = (text: string) => cutText(inertForGitHub(toPlainText(text)), 140);

/** The repository of a service, when it has one and GitHub is set up. */
export function repoOf(git: GitHost | undefined, service: ServiceConfig | undefined): RepoName | undefined {
  return git && service?.repo ? parseRepoName(service.repo) : undefined;
}

/** The facts an approver should see before approving `version`, with `runningImage` running now. */
export async function readGoNoGo(
  git: GitHost,
  repo: RepoName,
  service: ServiceConfig,
  version: string,
  runningImage: string,
): Promise<GoNoGo> {
  const where = `${repo.owner}/${repo.repo}`;
  try {
    const ref = await git.resolveRef(repo, version);
    if (!ref) return { note: `${where} has no tag or branch named ${version}, so its checks are unknown` };
    const [checks, required] = await Promise.all([
      git.checks(repo, ref.sha),
      git.requiredChecks(repo, service.productionBranch),
    ]);
    const gate = checkGate(checks, required);
    const facts: GoNoGo = {
      sha: ref.sha,
      checks: {
        passed: checks.filter(isPassing).length,
        total: checks.length,
        blocking: gate.blocking,
        requiredFailed: gate.failed,
      },
    };
    const running = imageTag(runningImage);
    const since = running && (await git.resolveRef(repo, running));
    if (since) {
      const comparison = await git.compare(repo, since.name, ref.name);
      facts.changes = {
        since: running!,
        count: comparison.aheadBy,
        titles: comparison.commits.slice(-MAX_TITLES).map((c) => c.title),
      };
    } else if (running)
      facts.note = `the running version ${running} is not a tag or branch in ${where}, so the changes since it are unknown`;
    return facts;
  } catch (error) {
    return { note: `GitHub could not be read (${error instanceof Error ? error.message : String(error)})` };
  }
}

export interface GitHubDeployDeps {
  store: Store;
  config: FileConfig;
  logger: Logger;
  git?: GitHost;
}

/** The GitHub Deployment status of a request's state: in_progress while it runs, then success, failure or inactive (rolled back, or stopped by a rollback). */
const STATE: Partial<Record<DeployRequest['status'], DeploymentState>> = {
  executing: 'in_progress',
  succeeded: 'success',
  failed: 'failure',
  rolled_back: 'inactive',
  superseded: 'inactive',
};

export function createGitHubDeployJobs(deps: GitHubDeployDeps): Pick<JobHandlers, typeof GITHUB_DEPLOYMENT> {
  const { store, config, logger, git } = deps;
  return {
    async [GITHUB_DEPLOYMENT](payload, { step }) {
      const request = await store.deploys.get(Number(payload.requestId));
      if (!request) throw new PermanentJobError(`request ${String(payload.requestId)} does not exist`);
      const status = String(payload.status) as DeployRequest['status'];
      const state = STATE[status];
      const service = Object.hasOwn(config.services, request.service) ? config.services[request.service] : undefined;
      const repo = repoOf(git, service);
      if (!state || !repo || !git || !request.plan) return;
      const key = requestKey(request.id);
      // The version as GitHub knows it: the tag asked for, or the tag of the image a rollback returns to.
      const ref =
        (request.kind === 'deploy' && request.target !== null
          ? versionTag(request.target)
          : imageTag(request.plan.toImage)) ?? request.plan.toImage;
      try {
        // Made by the in_progress job; a later status waits for it rather than making a second one
        // (and reads the id only after that job has finished).
        if (status !== 'executing') {
          const first = await store.jobs.state(githubDeploymentJobKey(request.id, 'executing'));
          if (first === 'queued' || first === 'running')
            throw new RetryLater(`the GitHub Deployment of ${key} is not created yet`, 1_000);
        }
        let id = (await store.deploys.get(request.id))!.githubDeploymentId;
        if (id === null) {
          id = await step(
            'create',
            async () =>
              (
                await git.createDeployment(repo, {
                  ref,
                  environment: request.environment,
                  description: githubText(`${key}: ${request.kind} ${request.service} ${ref}`),
                  payload: { request: key, image: request.plan!.toImage },
                })
              ).id,
          );
          await store.transaction(
            async () =>
              await store.deploys.transition(
                request.id,
                { from: REQUEST_STATUSES },
                { githubDeploymentId: id },
                { actor: 'firelane', platform: request.platform, action: `${request.kind}.github_deployment` },
              ),
          );
        }
        await step('status', async () => {
          await git.setDeploymentStatus(repo, id!, state, {
            description: githubText(`${key} ${status.replace('_', ' ')}${request.reason ? `: ${request.reason}` : ''}`),
          });
          return null;
        });
      } catch (error) {
        if (error instanceof FirelaneError && !error.retryable) {
          logger.warn(
            { request: key, err: error },
            'GitHub refused to record the deployment; the rollout is not affected',
          );
          throw new PermanentJobError(error.message);
        }
        throw error;
      }
    },
  };
}

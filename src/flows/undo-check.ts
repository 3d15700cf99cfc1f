// Whether a deploy can still be rolled back as such ("undo REQ-n"): only while nothing else has
// changed its target since. Otherwise the answer says what happened since, so a stale Rollback
// button never rolls forward to a version someone already rolled back from.
import { imageTag, isRunning, requestKey, type DeployRequest } from '../domain/deploy-request.js';
import type { Store } from '../ports/store.js';

const shortImage = (image: string) => imageTag(image) ?? image;

/** What the target runs since `latest` changed it, in plain words ("payments is at v2.1.0 since REQ-3"). */
export function sinceText(latest: DeployRequest): string {
  const key = requestKey(latest.id);
  const where = `${latest.service} (${latest.environment})`;
  const plan = latest.plan;
  if (!plan) return `${where} was last changed by ${key}`;
  switch (latest.status) {
    case 'approved':
    case 'executing':
      return `${where} is being ${latest.kind === 'rollback' ? 'rolled back' : 'deployed'} to ${shortImage(plan.toImage)} by ${key} right now`;
    case 'succeeded':
      return `${where} is at ${shortImage(plan.toImage)} since ${key}`;
    case 'rolled_back':
      return `${where} is back at ${shortImage(plan.fromImage)} since ${key} was rolled back automatically${latest.reason ? ` (${latest.reason})` : ''}`;
    case 'superseded':
      return `${key} was stopped before it finished${latest.reason ? ` (${latest.reason})` : ''}`;
    default:
      return `${where} was last changed by ${key}, which ${latest.status === 'failed' ? `failed${latest.reason ? `: ${latest.reason}` : ''}` : `is ${latest.status}`}`;
  }
}

/** Why `undone` cannot be rolled back as such now, or undefined when it can. */
export async function undoProblem(store: Store, undone: DeployRequest): Promise<string | undefined> {
  const key = requestKey(undone.id);
  if (undone.kind !== 'deploy')
    return `${key} is itself a rollback; to go further back, use /rollback ${undone.service} --env=${undone.environment} --to=<version>`;
  if (!isRunning(undone.status) && undone.startedAt === null)
    return `${key} never ran (it is ${undone.status}), so there is nothing to roll back`;
  if (undone.status === 'rolled_back') return `${key} was already rolled back automatically: ${sinceText(undone)}`;
  const latest = await store.deploys.lastStarted(undone.service, undone.environment);
  if (latest && latest.id !== undone.id) return `${key} is out of date: ${sinceText(latest)}`;
  if (undone.status === 'superseded') return `${key} was already stopped${undone.reason ? ` (${undone.reason})` : ''}`;
  return undefined;
}

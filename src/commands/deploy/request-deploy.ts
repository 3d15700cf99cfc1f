// /deploy <service> <version>: checks the input, records a pending request and queues its card.
// Reading the cluster is an external call, so the card (with the plan) is posted by a job.
import { parseVersion, requestKey, versionText } from '../../domain/deploy-request.js';
import { conflict, invalidInput } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { tokenText } from '../parse-command.js';
import { privateReply, type Reply } from '../../ports/reply.js';
import { DEPLOY_USAGE } from './deploy-usage.js';
import { busyDeployText, createRequest, requestBasics } from './new-request.js';

export async function requestDeploy(ctx: HandlerContext): Promise<Reply> {
  const usage = DEPLOY_USAGE.deploy;
  const [serviceToken, versionToken, ...extra] = ctx.args;
  if (!versionToken) {
    if (serviceToken) await requestBasics(ctx, serviceToken, usage); // an unknown service is the first thing to hear about
    throw invalidInput('Give the version to deploy (the image tag, or a digest @sha256:…).', usage);
  }
  const typed = tokenText(versionToken);
  const parsed = versionToken.kind === 'word' ? parseVersion(typed) : { problem: `"${typed}" is not an image tag` };
  if ('problem' in parsed) throw invalidInput(`${parsed.problem}.`, usage);
  if (extra.length) throw invalidInput(`Unexpected "${tokenText(extra[0]!)}" after the version.`, usage);
  const basics = await requestBasics(ctx, serviceToken, usage);
  if (basics.running) throw conflict(busyDeployText(basics, basics.running));
  const version = versionText(parsed.version);
  const request = await createRequest(
    ctx,
    'deploy',
    basics,
    version,
    `deploy of ${basics.service} ${version} to ${basics.environment}`,
  );
  return privateReply(
    `${requestKey(request.id)}: deploy of ${basics.service} ${version} to ${basics.environment} requested. The card with Approve and Reject follows once firelane has read the cluster.`,
  );
}

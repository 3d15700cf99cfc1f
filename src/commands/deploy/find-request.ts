// Which request a command is about: REQ-n, as on the card's buttons.
import { parseRequestKey, requestKey, type DeployRequest } from '../../domain/deploy-request.js';
import type { ApprovalPolicy } from '../../config/types.js';
import { conflict, invalidInput, notFound } from '../../errors.js';
import type { HandlerContext } from '../context.js';
import { tokenText, type Token } from '../parse-command.js';

export async function takeRequest(
  ctx: HandlerContext,
  usage: string,
): Promise<{ request: DeployRequest; policy: ApprovalPolicy; args: Token[] }> {
  const [first, ...rest] = ctx.args;
  if (!first) throw invalidInput('Name the request (REQ-<n>, as on its card).', usage);
  const id = parseRequestKey(tokenText(first));
  const request = id === undefined ? undefined : await ctx.deps.store.deploys.get(id);
  if (!request)
    throw notFound(
      `${id === undefined ? `"${tokenText(first)}" is not a request id` : `${requestKey(id)} does not exist`}.`,
      usage,
    );
  ctx.concerns(request.incidentId);
  const approvals = ctx.deps.config.approvals;
  const policy = Object.hasOwn(approvals, request.environment) ? approvals[request.environment] : undefined;
  if (!policy)
    throw conflict(
      `${requestKey(request.id)} is for ${request.environment}, which no longer has an approval policy in firelane.yaml.`,
    );
  return { request, policy, args: rest };
}

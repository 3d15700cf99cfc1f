// The /deploy and /rollback families: a service as the first word asks for a new request;
// `approve` and `reject` are what the card's buttons run (and may be typed).
import { helpSubcommand, type CommandFamily, type Subcommand } from '../router.js';
import { approveRequest } from './approve-request.js';
import { DEPLOY_USAGE, deployHelp } from './deploy-usage.js';
import { rejectRequest } from './reject-request.js';
import { requestDeploy } from './request-deploy.js';
import { requestRollback } from './request-rollback.js';

const help = helpSubcommand(deployHelp, DEPLOY_USAGE.help);

const shared: Record<string, Subcommand> = {
  approve: { run: approveRequest, usage: DEPLOY_USAGE.approve, flags: [] },
  reject: { run: rejectRequest, usage: DEPLOY_USAGE.reject, flags: [] },
  help,
};

/** `/deploy` and `/rollback`: the same subcommands (approve, reject, help); a first word that is none of them is a new request. */
function requestFamily(name: string, request: Subcommand): CommandFamily {
  return {
    name,
    help: deployHelp,
    subcommands: shared,
    fallback: (first) => (first === undefined ? help : request),
  };
}

export const deployCommands = requestFamily('deploy', {
  name: 'request',
  run: requestDeploy,
  usage: DEPLOY_USAGE.deploy,
  flags: ['strategy', 'env', 'incident'],
});
export const rollbackCommands = requestFamily('rollback', {
  name: 'request',
  run: requestRollback,
  usage: DEPLOY_USAGE.rollback,
  flags: ['to', 'env', 'incident', 'undo'],
});

// Usage lines of /deploy and /rollback, shown with every error and by `help`.
import { helpText } from '../usage.js';
export const DEPLOY_USAGE = {
  deploy:
    '/deploy <service> <version> [--strategy=rolling|blue-green|canary] [--env=<environment>] [--incident=INC-n]   e.g. /deploy payments v2.1.1',
  rollback:
    '/rollback <service> [--to=<version or revision>] [--env=<environment>] [--incident=INC-n]   e.g. /rollback payments --to=3',
  approve: '/deploy approve REQ-n   (what the Approve button runs)',
  reject: '/deploy reject REQ-n [reason]   (what the Reject button runs)',
  help: '/deploy help · /rollback help',
} as const;

export function deployHelp(): string {
  return helpText('firelane deploy commands', DEPLOY_USAGE, [
    'A request posts a card with *Approve* and *Reject*; an approver listed for the environment approves it, and firelane rolls it out.',
    'The requester cannot approve their own request unless the environment allows it; requests expire when not approved in time.',
    "The incident is the war room's when run there, else the only open incident, else the one given with --incident.",
  ]);
}

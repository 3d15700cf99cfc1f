// The command families every platform routes: one list, so the Slack and Teams app manifests can be
// checked against exactly what the router knows.
import { deployCommands, rollbackCommands } from './deploy/index.js';
import { hotfixCommands } from './hotfix/index.js';
import { incidentCommands } from './incident/index.js';
import type { CommandFamily } from './router.js';

export const COMMAND_FAMILIES: readonly CommandFamily[] = [
  incidentCommands,
  deployCommands,
  rollbackCommands,
  hotfixCommands,
];

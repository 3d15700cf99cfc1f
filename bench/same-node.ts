// The bench's child processes run on the Node running the bench: tsx's shim in node_modules/.bin
// would start whichever `node` is first on PATH, and RESULTS.md names one Node for the whole run.
import { join, resolve } from 'node:path';

const TSX_CLI = join(resolve(import.meta.dirname, '..'), 'node_modules/tsx/dist/cli.mjs');

/** Command and arguments that run a TypeScript file under tsx on this process's Node. */
export function tsxCommand(script: string, args: string[] = []): [string, string[]] {
  return [process.execPath, [TSX_CLI, script, ...args]];
}

// The one place a test decides to skip for a missing system tool: locally it skips with a printed
// reason, but under CI it fails the run, so a broken CI image cannot turn into a green run that
// tested nothing.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Tool {
  /** The executable looked for first, and the name messages use. */
  name: string;
  /** Other executable names that will do (Ubuntu calls chromium chromium-browser). */
  aliases?: string[];
  /** How to install it, as a command or a pointer. */
  install: string;
}

/** The tools tests use today; .ci/run installs or checks each of them. */
export const TOOLS = {
  kubectl: {
    name: 'kubectl',
    install:
      "Kubernetes' own kubectl package (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/); not Debian's kubernetes-client, which is too old and conflicts with it",
  },
  chromium: {
    name: 'chromium',
    aliases: ['chromium-browser'],
    install: 'apt-get install -y chromium fonts-noto-color-emoji',
  },
  /** util-linux's `script`: runs a command with a pseudo-terminal as its output, as a person's shell does. */
  script: { name: 'script', install: 'apt-get install -y bsdutils' },
} satisfies Record<string, Tool>;

/** CI=true (or 1): what CI services and .ci/run set; CI=false or 0 is a way to say "not CI". */
function inCi(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

function findExecutable(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * The tool's path on PATH, or undefined for the caller to skip with (`describe.skipIf(!path)`), after
 * printing why. Under CI it throws instead: called at a test file's top level, that fails the file.
 */
export function requireTool(
  tool: Tool,
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.warn,
): string | undefined {
  for (const name of [tool.name, ...(tool.aliases ?? [])]) {
    const found = findExecutable(name, env.PATH ?? '');
    if (found) return found;
  }
  const what = tool.aliases?.length ? `${tool.name} (or ${tool.aliases.join(', ')})` : tool.name;
  return unavailable(`${what} is not on PATH`, tool.install, env, print);
}

/**
 * For a test that needs something this machine lacks (`reason`): undefined after printing why, so
 * the caller skips; under CI it throws instead, failing the file.
 */
export function unavailable(
  reason: string,
  install: string,
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.warn,
): undefined {
  if (inCi(env)) {
    throw new Error(
      `${reason}, and CI is set: the tests that need it fail instead of skipping. Install it: ${install}`,
    );
  }
  print(`${reason}: the tests that need it are skipped (install it: ${install})`);
  return undefined;
}

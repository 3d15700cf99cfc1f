/**
 * The Dockerfile cannot be built on these machines (no Docker engine), so its promises are checked by reading it
 * (issue 8): a build stage with dev dependencies and the native better-sqlite3 addon built, a runtime stage on the
 * same base image (the addon's ABI and glibc) with production dependencies only, a non-root user, the database on
 * a volume, a HEALTHCHECK on /healthz, and `npm start`'s command as the entry point. Every `npm run` names a
 * package.json script and everything copied from the build context exists and is not in .dockerignore. The base
 * image is Node 24 LTS, the major .ci/run also runs the suite on (issue 25).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  steps: Instruction[];
}

/** Instructions with line continuations joined and comments dropped, grouped by stage. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, steps: [] });
    } else {
      expect(stages.length, `${op} before any FROM`).toBeGreaterThan(0);
      stages.at(-1)!.steps.push({ op: op.toUpperCase(), args: args.replace(/\s+/g, ' ') });
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
const build = stages.find((s) => s.name === 'build')!;
const runtime = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.steps.filter((s) => s.op === op).map((s) => s.args);
const runs = (stage: Stage) => all(stage, 'RUN').flatMap((r) => r.split(/\s*&&\s*/));
/** An exec-form argument list (["a", "b"]) as an array. */
const exec = (args: string) => JSON.parse(args) as string[];
const env = (stage: Stage) =>
  Object.fromEntries(
    all(stage, 'ENV').flatMap((args) =>
      [...args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
    ),
  );

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage on the same Node 24 LTS base image, the Node CI tests', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(runtime).not.toBe(build);
    expect(build.from).toMatch(/^node:24[\w.-]*$/);
    // The native addon is compiled in the build stage: the runtime must have the same Node ABI and libc.
    expect(runtime.from).toBe(build.from);
    // .ci/run runs the suite on this major besides the machine's Node.
    const ciMajor = /^NODE_TARGET_MAJOR=(\d+)$/m.exec(readFileSync(path.join(ROOT, '.ci/run'), 'utf8'))?.[1];
    expect(build.from.split(/[:.-]/)[1]).toBe(ciMajor);
  });

  it('builds with dev dependencies, compiles better-sqlite3, and prunes dev dependencies after the build', () => {
    const commands = runs(build);
    const ci = commands.findIndex((c) => /^npm ci\b/.test(c));
    expect(ci, 'npm ci in the build stage').toBeGreaterThanOrEqual(0);
    expect(commands[ci]).not.toMatch(/--omit=dev|--production/);
    // Scripts skipped at install time means the addon is built explicitly.
    if (/--ignore-scripts/.test(commands[ci]!))
      expect(commands.some((c) => /^npm rebuild better-sqlite3\b/.test(c))).toBe(true);
    const buildAt = commands.findIndex((c) => c === 'npm run build');
    const pruneAt = commands.findIndex((c) => /^npm prune --omit=dev\b/.test(c));
    expect(buildAt).toBeGreaterThan(ci);
    expect(pruneAt).toBeGreaterThan(buildAt);
    // What tsc needs is in the stage before it runs.
    const copied = all(build, 'COPY').join(' ');
    for (const needed of ['tsconfig.json', 'tsconfig.build.json', 'src', 'package.json', 'package-lock.json'])
      expect(copied).toContain(needed);
  });

  it('every npm run names a package.json script, and the compiler is the build script', () => {
    const named = stages.flatMap(runs).flatMap((c) => [...c.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!));
    expect(named.length).toBeGreaterThan(0);
    for (const script of named) expect(pkg.scripts, `npm run ${script}`).toHaveProperty(script);
    expect(pkg.scripts.build).toMatch(/^tsc -p tsconfig\.build\.json$/);
  });

  it("runs `npm start`'s command as a non-root user with production files only", () => {
    expect(exec(all(runtime, 'CMD').at(-1)!)).toEqual(pkg.scripts.start!.split(' '));
    const user = all(runtime, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(env(runtime).NODE_ENV).toBe('production');
    // No installs in the runtime stage: it takes the pruned node_modules from the build.
    expect(runs(runtime).filter((c) => /\bnpm (ci|install|i)\b/.test(c))).toEqual([]);
    const fromBuild = all(runtime, 'COPY')
      .filter((c) => c.startsWith('--from=build'))
      .map((c) => c.split(' ')[1]);
    expect(fromBuild).toEqual(
      expect.arrayContaining(['/app/node_modules', '/app/dist', '/app/migrations', '/app/package.json']),
    );
  });

  it('keeps the database on a volume, exposes PORT and checks /healthz', () => {
    const variables = env(runtime);
    const volumes = all(runtime, 'VOLUME');
    expect(volumes).toContain(path.posix.dirname(variables.DATABASE_PATH!));
    expect(all(runtime, 'EXPOSE')).toContain(variables.PORT);
    const health = all(runtime, 'HEALTHCHECK').at(-1)!;
    expect(health).toMatch(/\bCMD\b.*\/healthz/);
    // Slim images have no curl or wget: the probe must use something the image has.
    expect(health).not.toMatch(/\b(curl|wget)\b/);
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const fromContext = stages.flatMap((s) => all(s, 'COPY')).filter((c) => !c.startsWith('--from='));
    const sources = fromContext.flatMap((c) => c.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(path.join(ROOT, source)), source).toBe(true);
      expect(
        ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)),
        `${source} is in .dockerignore`,
      ).toBe(false);
    }
    // The web console's static files ship in the image (it serves them from web/).
    expect(sources).toContain('web');
    for (const secret of ['.env', '*.db', 'node_modules']) expect(ignored).toContain(secret);
  });
});

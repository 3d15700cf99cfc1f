// Boundary rules of the source tree, checked by reading the files: the core (domain, commands)
// stays free of vendor SDKs and environment access, and each SDK stays in its adapter.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

interface SourceFile {
  /** Relative to the repository, with forward slashes: `src/domain/incident.ts`. */
  path: string;
  text: string;
  /** Code with comments removed (strings kept). */
  code: string;
}

/** Removes // and /* comments, leaving string literals alone (good enough for our own sources). */
function stripComments(text: string): string {
  return text.replace(
    /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g,
    (match, literal: string | undefined) => literal ?? match.replace(/[^\n]/g, ' '),
  );
}

const FILES: SourceFile[] = walk(SRC).map((abs) => {
  const text = readFileSync(abs, 'utf8');
  return { path: relative(ROOT, abs).split(sep).join('/'), text, code: stripComments(text) };
});

interface Import {
  specifier: string;
  /** `import type ...` / `export type ...`: erased at compile time. */
  typeOnly: boolean;
  statement: string;
}

function importsOf(file: SourceFile): Import[] {
  const found: Import[] = [];
  const fromClause = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?([^;'"`]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of file.code.matchAll(fromClause))
    found.push({ specifier: m[4]!, typeOnly: Boolean(m[2]), statement: m[0].trim() });
  for (const m of file.code.matchAll(/(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g))
    found.push({ specifier: m[1]!, typeOnly: false, statement: m[0].trim() });
  for (const m of file.code.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g))
    found.push({ specifier: m[1]!, typeOnly: false, statement: m[0].trim() });
  return found;
}

const VENDOR_SDKS = ['@slack/', '@microsoft/agents', '@octokit/', '@kubernetes/', 'drizzle-orm', 'better-sqlite3'];
const isVendor = (specifier: string) =>
  VENDOR_SDKS.some((sdk) => specifier === sdk.replace(/\/$/, '') || specifier.startsWith(sdk));
const under = (file: SourceFile, ...folders: string[]) => folders.some((folder) => file.path.startsWith(`${folder}/`));
const core = FILES.filter((f) => under(f, 'src/domain', 'src/commands'));

describe('architecture', () => {
  it('finds the source tree', () => {
    expect(core.length).toBeGreaterThan(10);
    expect(FILES.map((f) => f.path)).toContain('src/config.ts');
    // The scanner itself sees imports, type imports and re-exports.
    const sample = {
      path: 'x.ts',
      text: '',
      code: "import type { A } from 'pino';\nimport {\n  b,\n} from '@slack/bolt';\nexport * from './x.js';\nconst m = await import('better-sqlite3');",
    };
    expect(importsOf(sample).map((i) => [i.specifier, i.typeOnly])).toEqual([
      ['pino', true],
      ['@slack/bolt', false],
      ['./x.js', false],
      ['better-sqlite3', false],
    ]);
  });

  it('src/domain and src/commands import no vendor SDK', () => {
    const offences = core.flatMap((f) =>
      importsOf(f)
        .filter((i) => isVendor(i.specifier))
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });

  it('src/domain and src/commands use pino only as `import type`', () => {
    const offences = core.flatMap((f) =>
      importsOf(f)
        .filter((i) => /^pino(\/|$)/.test(i.specifier) && !i.typeOnly)
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });

  it('src/domain imports only from src/domain', () => {
    const offences = FILES.filter((f) => under(f, 'src/domain')).flatMap((f) =>
      importsOf(f)
        .filter((i) => !i.specifier.startsWith('./'))
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });

  it('src/commands reaches adapters, jobs and config only through types', () => {
    const offences = FILES.filter((f) => under(f, 'src/commands')).flatMap((f) =>
      importsOf(f)
        .filter((i) => !i.typeOnly && /\/(adapters|jobs)\/|\/(config|main|app|cli)\.js$/.test(i.specifier))
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });

  it('the layers below commands (flows, views, ports) and the jobs never import a command', () => {
    const offences = FILES.filter((f) => under(f, 'src/flows', 'src/views', 'src/ports', 'src/jobs')).flatMap((f) =>
      importsOf(f)
        .filter((i) => /(^|\/)commands\//.test(i.specifier))
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });

  it('src/domain and src/commands never touch process.env', () => {
    expect(core.filter((f) => /process\s*\.\s*env|process\s*\[\s*['"]env/.test(f.code)).map((f) => f.path)).toEqual([]);
  });

  it('only the edge (config.ts, and main.ts / cli.ts handing process.env to it) mentions process.env', () => {
    const mentions = FILES.filter((f) => /process\s*\.\s*env|process\s*\[\s*['"]env/.test(f.code)).map((f) => f.path);
    expect(mentions.filter((p) => !['src/config.ts', 'src/main.ts', 'src/cli.ts'].includes(p))).toEqual([]);
    expect(mentions).toContain('src/config.ts');
  });

  it.each([
    ['@slack/', 'src/adapters/slack'],
    ['@kubernetes/', 'src/adapters/k8s'],
    ['@octokit/', 'src/adapters/github'],
    ['@microsoft/agents', 'src/adapters/teams'],
  ])('%s is imported only under %s/', (sdk, folder) => {
    const offences = FILES.filter((f) => !under(f, folder)).flatMap((f) =>
      importsOf(f)
        .filter(
          (i) =>
            i.specifier === sdk ||
            i.specifier.startsWith(sdk.endsWith('/') ? sdk : `${sdk}/`) ||
            i.specifier.startsWith(`${sdk}-`),
        )
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });

  it('the database drivers and dialects are imported only under src/adapters/db/ and src/adapters/postgres/; drizzle-orm itself only under src/adapters/', () => {
    const driver = /^(better-sqlite3|pg|drizzle-orm\/[a-z-]+)(\/|$)/;
    const offences = FILES.flatMap((f) =>
      importsOf(f)
        .filter((i) => !i.typeOnly)
        .filter((i) =>
          driver.test(i.specifier)
            ? !under(f, 'src/adapters/db', 'src/adapters/postgres')
            : /^drizzle-orm$/.test(i.specifier) && !under(f, 'src/adapters'),
        )
        .map((i) => `${f.path}: ${i.statement}`),
    );
    expect(offences).toEqual([]);
  });
});

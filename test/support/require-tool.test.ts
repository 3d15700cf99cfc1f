// requireTool decides whether a test that needs a system tool runs, skips (locally) or fails the run (CI).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTool, type Tool } from './require-tool.js';

const bin = mkdtempSync(join(tmpdir(), 'require-tool-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));
function executable(name: string): string {
  const file = join(bin, name);
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}
const present = executable('firelane-present-tool');
const alias = executable('firelane-tool-alias');
// A file that is there but cannot be run does not count.
writeFileSync(join(bin, 'firelane-unrunnable-tool'), '');

const tool = (name: string, aliases?: string[]): Tool => ({ name, aliases, install: `apt-get install -y ${name}` });

/** requireTool with PATH set to the test's bin folder, its printed lines collected. */
function check(t: Tool, ci: string | undefined) {
  const printed: string[] = [];
  const env = { PATH: bin, ...(ci !== undefined && { CI: ci }) };
  const run = () => requireTool(t, env, (line) => printed.push(line));
  return { run, printed };
}

describe('requireTool', () => {
  it.each([undefined, 'true'])('a tool on PATH is returned as its path, silently (CI=%s)', (ci) => {
    const { run, printed } = check(tool('firelane-present-tool'), ci);
    expect(run()).toBe(present);
    expect(printed).toEqual([]);
  });

  it('finds a tool under another of its names (chromium-browser for chromium)', () => {
    const { run } = check(tool('firelane-missing-tool', ['firelane-tool-alias']), 'true');
    expect(run()).toBe(alias);
  });

  it.each([undefined, '', 'false', '0'])(
    'outside CI (CI=%s) a missing tool is undefined, with the reason and the install hint printed',
    (ci) => {
      const { run, printed } = check(tool('firelane-unrunnable-tool'), ci);
      expect(run()).toBeUndefined();
      expect(printed).toEqual([
        'firelane-unrunnable-tool is not on PATH: the tests that need it are skipped (install it: apt-get install -y firelane-unrunnable-tool)',
      ]);
    },
  );

  it.each(['true', '1'])('under CI (CI=%s) a missing tool throws, naming the tool and how to install it', (ci) => {
    const { run, printed } = check(tool('firelane-missing-tool', ['firelane-other-name']), ci);
    expect(run).toThrow(
      'firelane-missing-tool (or firelane-other-name) is not on PATH, and CI is set: the tests that need it fail instead of skipping. Install it: apt-get install -y firelane-missing-tool',
    );
    expect(printed).toEqual([]);
  });
});

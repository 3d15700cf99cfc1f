// `node dist/cli.js manifest slack` as a child process, from another working directory and with no
// configuration: the manifest on standard output and nothing else, or one line on stderr and exit 2.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../support/process.js';

const elsewhere = mkdtempSync(join(tmpdir(), 'firelane-manifest-'));
afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));

describe('firelane manifest slack (process)', () => {
  it('prints the manifest for the address and exits 0, with nothing on stderr', async () => {
    const result = await runCli(
      ['manifest', 'slack', '--url=https://firelane.acme.example'],
      { LOG_LEVEL: 'info' },
      elsewhere,
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const manifest = parse(result.stdout) as {
      features: { slash_commands: Array<{ url: string }> };
      settings: { interactivity: { request_url: string } };
    };
    expect(manifest.settings.interactivity.request_url).toBe('https://firelane.acme.example/slack/events');
    expect(manifest.features.slash_commands.map((c) => c.url)).toEqual(
      Array(manifest.features.slash_commands.length).fill('https://firelane.acme.example/slack/events'),
    );
  });

  it('a missing or bad --url: one line on stderr, nothing on stdout, exit 2', async () => {
    for (const args of [
      ['manifest', 'slack'],
      ['manifest', 'slack', '--url=http://firelane.acme.example'],
    ]) {
      const result = await runCli(args, {}, elsewhere);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^firelane: manifest slack[^\n]*\n$/);
    }
  });

  it('is in the usage', async () => {
    const result = await runCli(['help'], {}, elsewhere);
    expect(result.stdout).toContain('firelane manifest slack --url=<public URL>');
  });
});

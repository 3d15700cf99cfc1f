// `firelane manifest slack --url=...` without a process: the printed manifest passes the same Slack manifest
// rules as the checked-in one, differs from it only in its addresses and header, and a bad or missing --url
// is one line and exit 2. The real process: test/integration/manifest-cli.test.ts.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  PLACEHOLDER_URL,
  SLACK_MANIFEST_FILE,
  publicBaseUrl,
  runManifestCommand,
  slackManifest,
} from '../../src/manifest-cli.js';
import { describeSlackManifestRules } from '../support/slack-manifest-rules.js';

const TEMPLATE = readFileSync(SLACK_MANIFEST_FILE, 'utf8');

function run(args: string[], template?: string) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = runManifestCommand(args, {
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    ...(template !== undefined && { template }),
  });
  return { code, stdout, stderr };
}

const printed = run(['slack', '--url=https://ops.acme.example/firelane/']);

describeSlackManifestRules(
  'the printed manifest (firelane manifest slack --url=https://ops.acme.example/firelane/)',
  () => parse(printed.stdout) as Record<string, any>,
  'https://ops.acme.example/firelane/slack/events',
);

describe('firelane manifest slack', () => {
  it('prints YAML only, with the given address wherever the placeholder was, and exits 0', () => {
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    expect(printed.stdout).not.toContain('firelane.example.com');
    // Apart from the header comment, the file is the checked-in one with its addresses replaced.
    const body = (text: string) => text.replace(/^(?:#[^\n]*\n)+/, '');
    expect(body(printed.stdout)).toBe(body(TEMPLATE).replaceAll(PLACEHOLDER_URL, 'https://ops.acme.example/firelane'));
    expect(printed.stdout.split('\n')[0]).toBe(
      '# Slack app manifest for firelane at https://ops.acme.example/firelane, printed by `firelane manifest slack`.',
    );
    // Comments (why each scope is there) stay.
    expect(printed.stdout).toMatch(/- chat:write +# cards/);
  });

  it('takes --url with a space too, and a host with a port', () => {
    const { code, stdout } = run(['slack', '--url', 'https://Firelane.Acme.example:8443']);
    expect(code).toBe(0);
    expect(
      (parse(stdout) as { settings: { interactivity: { request_url: string } } }).settings.interactivity.request_url,
    ).toBe('https://firelane.acme.example:8443/slack/events');
  });

  it.each([
    ['https://firelane.acme.example', 'https://firelane.acme.example'],
    ['https://firelane.acme.example/', 'https://firelane.acme.example'],
    [' https://firelane.acme.example/chat/ops// ', 'https://firelane.acme.example/chat/ops'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000'],
  ])('accepts %j as %j', (given, base) => {
    expect(publicBaseUrl(given)).toBe(base);
  });

  it.each([
    [['slack'], /^firelane: manifest slack needs --url=<public URL>, the https address Slack reaches firelane at/],
    [['slack', '--url='], /^firelane: manifest slack needs --url=<public URL>/],
    [['slack', '--url'], /^firelane: manifest slack needs --url=<public URL>/],
    [
      ['slack', '--url=firelane.acme.example'],
      /^firelane: manifest slack: --url "firelane.acme.example" is not a URL \(e\.g\. --url=https:\/\/firelane\.example\.com\)$/,
    ],
    [
      ['slack', '--url=http://firelane.acme.example'],
      /^firelane: manifest slack: --url "http:\/\/firelane\.acme\.example" must be https: Slack posts only to https addresses/,
    ],
    [['slack', '--url=ftp://firelane.acme.example'], /must be an https address/],
    [['slack', '--url=https://bot:secret@firelane.acme.example'], /must not contain a user name or password$/],
    [['slack', '--url=https://firelane.acme.example/?x=1'], /must not have a query or fragment/],
    [['slack', '--url=https://firelane.acme.example/#top'], /must not have a query or fragment/],
    // A line break in the value is quoted, so the message stays one line.
    [
      ['slack', '--url=https://firelane.acme.example\nrm -rf /'],
      /^firelane: manifest slack: --url "https:\/\/firelane\.acme\.example\\nrm -rf \/" is not a URL/,
    ],
    [['slack', '--uri=https://firelane.acme.example'], /^firelane: manifest slack takes only --url=<public URL>$/],
    [
      ['slack', 'extra', '--url=https://firelane.acme.example'],
      /^firelane: manifest slack takes only --url=<public URL> \(unexpected "extra"\)$/,
    ],
    [['teams', '--url=https://firelane.acme.example'], /^firelane: unknown manifest "teams" \(there is: slack\)$/],
    [[], /^firelane: manifest needs a platform: firelane manifest slack --url=<public URL>$/],
  ])('%j: one line on stderr, nothing on stdout, exit 2', (args, message) => {
    const result = run(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.endsWith('\n')).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
  });

  it('rewrites every address on the placeholder, whatever its key, and fails on a template with none', () => {
    const template = `# header\na:\n  url: ${PLACEHOLDER_URL}/slack/events # c\n  other: "${PLACEHOLDER_URL}/x"\n  list: [${PLACEHOLDER_URL}]\n  kept: https://firelane.example.community/y\n`;
    expect(parse(slackManifest('https://ops.acme.example', template))).toEqual({
      a: {
        url: 'https://ops.acme.example/slack/events',
        other: 'https://ops.acme.example/x',
        list: ['https://ops.acme.example'],
        kept: 'https://firelane.example.community/y',
      },
    });
    expect(() => slackManifest('https://ops.acme.example', 'a: 1\n')).toThrow(/names no address/);
  });
});

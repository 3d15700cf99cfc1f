// `firelane manifest slack --url=<public URL>`: the checked-in Slack app manifest with its placeholder
// host replaced by the address Slack reaches firelane at, ready to paste into api.slack.com/apps.
// The functions take text and streams, so they are testable without a process; runManifestCommand is
// the part src/cli.ts dispatches to.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseDocument, visit } from 'yaml';
import { FirelaneError, invalidInput } from './errors.js';

export const MANIFEST_USAGE = `  firelane manifest slack --url=<public URL>
                                        print the Slack app manifest for that address (YAML)`;

/** The host the checked-in manifest names wherever an address goes. */
export const PLACEHOLDER_URL = 'https://firelane.example.com';
/** The one endpoint slash commands, interactivity and events all go to. */
export const SLACK_EVENTS_PATH = '/slack/events';
/** manifests/slack/manifest.yaml, from src/ (tsx, tests) and from dist/ alike. */
export const SLACK_MANIFEST_FILE = resolve(import.meta.dirname, '../manifests/slack/manifest.yaml');

/** Hosts where plain http is accepted: a local trial behind a tunnel, never a real workspace's address. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

/**
 * The public URL as the base every address is built on: `https://host[:port][/path]` with no trailing
 * slash. https is required except for http://localhost and http://127.0.0.1; user info, a query or a
 * fragment cannot be part of an address Slack posts to.
 */
export function publicBaseUrl(text: string): string {
  const given = `--url ${JSON.stringify(text)}`;
  const example = `e.g. --url=${PLACEHOLDER_URL}`;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw invalidInput(`${given} is not a URL (${example})`);
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw invalidInput(
      `${given} must be https: Slack posts only to https addresses (plain http is accepted for localhost and 127.0.0.1 only)`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalidInput(`${given} must be an https address (${example})`);
  if (url.username || url.password) throw invalidInput(`${given} must not contain a user name or password`);
  if (url.search || url.hash || /[?#]/.test(text))
    throw invalidInput(
      `${given} must not have a query or fragment: give the address firelane is served at (${example})`,
    );
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The manifest for `baseUrl` (from publicBaseUrl): every string on the placeholder's origin (slash command
 * urls, interactivity and event subscription request_url) is rewritten in place, the rest of the file
 * (comments, layout) is kept, and the header comment names the address instead of the placeholder.
 */
export function slackManifest(baseUrl: string, template: string = readFileSync(SLACK_MANIFEST_FILE, 'utf8')): string {
  const rewrite = (value: unknown) =>
    typeof value === 'string' && (value === PLACEHOLDER_URL || value.startsWith(`${PLACEHOLDER_URL}/`))
      ? `${baseUrl}${value.slice(PLACEHOLDER_URL.length)}`
      : undefined;
  const doc = parseDocument(template);
  const ranges: Array<[number, number, string]> = [];
  visit(doc, {
    Scalar(_key, node) {
      const value = rewrite(node.value);
      if (value !== undefined && node.range) ranges.push([node.range[0], node.range[1], value]);
    },
  });
  if (ranges.length === 0) throw new Error(`the Slack manifest template names no address on ${PLACEHOLDER_URL}`);
  // A validated URL has no spaces, quotes that matter, or '#' after a space, so it is a valid plain scalar.
  let text = template;
  for (const [start, end, value] of ranges.sort((a, b) => b[0] - a[0]))
    text = text.slice(0, start) + value + text.slice(end);
  const body = text.replace(/^(?:#[^\n]*\n)+/, '');
  const header = [
    `# Slack app manifest for firelane at ${baseUrl}, printed by \`firelane manifest slack\`.`,
    '# Create the app: api.slack.com/apps -> Create New App -> From an app manifest, then paste this.',
    `# The slash commands, interactivity and events all go to the one endpoint ${baseUrl}${SLACK_EVENTS_PATH}.`,
  ];
  const manifest = `${header.join('\n')}\n${body}`;
  // The rewrite must leave the same document with only the addresses changed.
  const expected = JSON.stringify(doc.toJS(), (_key, value: unknown) => rewrite(value) ?? value);
  if (JSON.stringify(parse(manifest)) !== expected)
    throw new Error('rewriting the Slack manifest changed more than its addresses');
  return manifest;
}

export interface ManifestCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The template's text (tests); manifests/slack/manifest.yaml by default. */
  template?: string;
}

/** `manifest slack --url=<public URL>`: writes the manifest and returns 0, or one line on stderr and 2. */
export function runManifestCommand(args: string[], io: ManifestCommandIo): number {
  const problem = (message: string) => {
    io.stderr.write(`firelane: ${message}\n`);
    return 2;
  };
  const [platform, ...rest] = args;
  if (platform !== 'slack') {
    return problem(
      platform === undefined
        ? 'manifest needs a platform: firelane manifest slack --url=<public URL>'
        : `unknown manifest ${JSON.stringify(platform)} (there is: slack)`,
    );
  }
  let url: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { url: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw invalidInput(`unexpected ${JSON.stringify(positionals.join(' '))}`);
    url = values.url;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') url = '';
    else
      return problem(
        `manifest slack takes only --url=<public URL>${error instanceof FirelaneError ? ` (${error.message})` : ''}`,
      );
  }
  if (url === undefined || url.trim() === '')
    return problem(
      `manifest slack needs --url=<public URL>, the https address Slack reaches firelane at (e.g. --url=${PLACEHOLDER_URL})`,
    );
  let base: string;
  try {
    base = publicBaseUrl(url);
  } catch (error) {
    if (error instanceof FirelaneError) return problem(`manifest slack: ${error.message}`);
    throw error;
  }
  io.stdout.write(io.template === undefined ? slackManifest(base) : slackManifest(base, io.template));
  return 0;
}

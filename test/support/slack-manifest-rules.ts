/**
 * Slack's manifest rules as firelane applies them, to the checked-in manifest (test/unit/slack-manifest.test.ts)
 * and to what `firelane manifest slack --url=...` prints (test/unit/manifest-cli.test.ts). Offline checks:
 *
 * 1. The slash commands are exactly the command families the router knows, each with escaping on (the contract:
 *    mentions arrive as <@U123|name>), the one endpoint URL, and a usage hint naming every subcommand a person types.
 * 2. Every Slack Web API method called anywhere in src/ (read from the source: `client.<family>.<method>(`,
 *    `filesUploadV2`, `apiCall('...')`) has its bot scopes declared; a method missing from the table below fails,
 *    so a new call cannot slip in without its scope. Conversely every declared scope is needed by some call, by the
 *    slash commands or by a subscribed event: "the scopes firelane needs and no more".
 * 3. Interactivity and event subscriptions point at POST /slack/events, the events are the ones the Bolt app
 *    listens to, and the fields stay within Slack's manifest schema limits (slackapi/manifest-schema 1.0.0).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_FAMILIES } from '../../src/commands/families.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Bot scopes per Web API method, from each method's page on api.slack.com/methods ("Required scopes", bot token).
 * Public war rooms: conversations.* on public channels need the channels:* scopes.
 */
const METHOD_SCOPES: Record<string, string[]> = {
  'auth.test': [], // Bolt checks the token at start-up; no scope needed
  'chat.postMessage': ['chat:write'], // also a DM to a user id (the app's Messages tab)
  'chat.update': ['chat:write'],
  'conversations.create': ['channels:manage'],
  'conversations.invite': ['channels:manage'],
  'conversations.setTopic': ['channels:manage'],
  'conversations.setPurpose': ['channels:manage'],
  'users.conversations': ['channels:read'], // the bot's public channels only (types: public_channel)
  'conversations.join': ['channels:join'],
  'conversations.history': ['channels:history'],
  'conversations.info': ['channels:read'],
  'pins.add': ['pins:write'],
  // filesUploadV2 = files.getUploadURLExternal + files.completeUploadExternal
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  'views.open': [], // needs a trigger_id from a command, no scope
};
/** Scopes a feature needs rather than a call. */
const FEATURE_SCOPES: Record<string, string> = {
  commands: 'the slash commands',
  'reactions:read': 'the reaction_added event',
};
/** Events the Bolt app listens to, and the scope each needs. */
const EVENT_SCOPES: Record<string, string> = { reaction_added: 'reactions:read' };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

/** Every Web API method the code calls, with where. */
function calledMethods(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (method: string, where: string) => found.set(method, [...(found.get(method) ?? []), where]);
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const where = path.relative(ROOT, file);
    for (const m of text.matchAll(
      /\bclient\.(chat|conversations|pins|files|views|reactions|users|usergroups|auth|bookmarks|team|im|dnd|search|reminders)\.(\w+)\s*\(/g,
    ))
      add(`${m[1]}.${m[2]}`, where);
    for (const m of text.matchAll(/\bapiCall\(\s*['"`]([\w.]+)['"`]/g)) add(m[1]!, where);
    if (/\bfilesUploadV2\s*\(/.test(text)) {
      add('files.getUploadURLExternal', where);
      add('files.completeUploadExternal', where);
    }
  }
  // Bolt's own start-up call (tokenVerificationEnabled, the default).
  add('auth.test', '@slack/bolt App');
  return found;
}

/**
 * Registers the checks of Slack's manifest rules for `manifest` (a parsed manifest, read when the tests run),
 * whose slash commands, interactivity and events must all go to exactly `endpoint`.
 */
export function describeSlackManifestRules(title: string, load: () => Record<string, any>, endpoint: string): void {
  describe(title, () => {
    let manifest: Record<string, any> = {};
    let commands: Array<Record<string, any>> = [];
    let scopes: string[] = [];
    beforeAll(() => {
      manifest = load();
      commands = (manifest.features?.slash_commands ?? []) as Array<Record<string, any>>;
      scopes = (manifest.oauth_config?.scopes?.bot ?? []) as string[];
    });

    it('declares exactly the commands the router knows, escaped, at the one endpoint, with every typed subcommand in the hint', () => {
      expect(commands.map((c) => c.command).sort()).toEqual(COMMAND_FAMILIES.map((f) => `/${f.name}`).sort());
      for (const family of COMMAND_FAMILIES) {
        const entry = commands.find((c) => c.command === `/${family.name}`)!;
        expect(entry.should_escape, `${entry.command} should_escape`).toBe(true);
        expect(entry.url, entry.command).toBe(endpoint);
        expect(entry.description.length, `${entry.command} description`).toBeGreaterThan(0);
        expect(entry.description.length).toBeLessThanOrEqual(2000);
        expect(entry.usage_hint.length, `${entry.command} usage_hint`).toBeLessThanOrEqual(1000);
        // What a person types: everything but what a button runs (its usage says so).
        const typed = Object.entries(family.subcommands)
          .filter(([, sub]) => !/button runs/.test(sub.usage))
          .map(([name]) => name);
        const hinted = new Set(
          String(entry.usage_hint)
            .split('|')
            .map((part) => part.trim().split(/\s+/)[0]),
        );
        expect(
          typed.filter((name) => !hinted.has(name)),
          `${entry.command} subcommands missing from its usage_hint`,
        ).toEqual([]);
      }
    });

    it('every Web API method firelane calls is covered by a declared bot scope', () => {
      const called = calledMethods();
      expect(called.size).toBeGreaterThan(5); // the scan found the adapter's calls
      const unknown = [...called.keys()].filter((method) => !Object.hasOwn(METHOD_SCOPES, method));
      expect(
        unknown,
        `methods called with no entry in METHOD_SCOPES (add the method's required bot scopes): ${unknown.map((m) => `${m} in ${called.get(m)!.join(', ')}`).join('; ')}`,
      ).toEqual([]);
      const missing = [...called.keys()].flatMap((method) =>
        METHOD_SCOPES[method]!.filter((s) => !scopes.includes(s)).map((s) => `${method} needs ${s}`),
      );
      expect(missing).toEqual([]);
    });

    it('declares no scope that nothing needs', () => {
      const needed = new Set([...calledMethods().keys()].flatMap((method) => METHOD_SCOPES[method] ?? []));
      for (const scope of Object.keys(FEATURE_SCOPES)) needed.add(scope);
      expect(scopes.filter((s) => !needed.has(s))).toEqual([]);
      expect(new Set(scopes).size).toBe(scopes.length);
    });

    it('sends interactivity and the events the app listens to to POST /slack/events, with their scopes', () => {
      expect(manifest.settings.interactivity).toMatchObject({ is_enabled: true });
      expect(manifest.settings.interactivity.request_url).toBe(endpoint);
      expect(manifest.settings.event_subscriptions.request_url).toBe(endpoint);
      const events = manifest.settings.event_subscriptions.bot_events as string[];
      // What src/adapters/slack/slack-app.ts registers with app.event(...).
      const listened = [
        ...readFileSync(path.join(ROOT, 'src/adapters/slack/slack-app.ts'), 'utf8').matchAll(/app\.event\(\s*'(\w+)'/g),
      ].map((m) => m[1]);
      expect(events.sort()).toEqual(listened.sort());
      for (const event of events)
        expect(scopes, `${event} needs ${EVENT_SCOPES[event]}`).toContain(EVENT_SCOPES[event]);
      expect(manifest.settings.socket_mode_enabled).toBe(false);
    });

    it('names no address but the endpoint, an https URL ending in /slack/events', () => {
      expect(endpoint).toMatch(/^https:\/\/[^/?#@\s]+(\/[^?#\s]*)?\/slack\/events$/);
      const addresses: string[] = [];
      const walk = (value: unknown): void => {
        if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) addresses.push(value);
        else if (value && typeof value === 'object') Object.values(value).forEach(walk);
      };
      walk(manifest);
      expect(addresses.length).toBeGreaterThanOrEqual(commands.length + 2);
      expect(addresses.filter((address) => address !== endpoint)).toEqual([]);
    });

    it('stays within the manifest schema limits', () => {
      expect(Object.keys(manifest).sort()).toEqual([
        '_metadata',
        'display_information',
        'features',
        'oauth_config',
        'settings',
      ]);
      expect(manifest._metadata).toMatchObject({ major_version: 1 });
      const info = manifest.display_information;
      expect(info.name.length).toBeLessThanOrEqual(35);
      expect(info.description.length).toBeLessThanOrEqual(140);
      expect(info.long_description.length).toBeGreaterThanOrEqual(175);
      expect(info.long_description.length).toBeLessThanOrEqual(4000);
      expect(manifest.features.bot_user.display_name.length).toBeLessThanOrEqual(80);
      for (const c of commands) {
        expect(
          Object.keys(c).every((k) => ['command', 'url', 'description', 'usage_hint', 'should_escape'].includes(k)),
          c.command,
        ).toBe(true);
        expect(c.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
      }
    });
  });
}

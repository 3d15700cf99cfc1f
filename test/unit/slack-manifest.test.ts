/**
 * manifests/slack/manifest.yaml: creating the Slack app is one paste, so the manifest must say exactly what firelane
 * does (issue 8). The checked-in file names the placeholder host wherever an address goes; `firelane manifest
 * slack --url=...` prints it for a real address (issue 25). The rules: test/support/slack-manifest-rules.ts.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { PLACEHOLDER_URL, SLACK_EVENTS_PATH, SLACK_MANIFEST_FILE } from '../../src/manifest-cli.js';
import { describeSlackManifestRules } from '../support/slack-manifest-rules.js';

describeSlackManifestRules(
  'manifests/slack/manifest.yaml',
  () => parse(readFileSync(SLACK_MANIFEST_FILE, 'utf8')) as Record<string, any>,
  `${PLACEHOLDER_URL}${SLACK_EVENTS_PATH}`,
);

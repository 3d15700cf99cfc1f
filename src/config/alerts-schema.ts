// The `alerts:` section: what /alerts/* do with an alert (declare, or triage with a Declare button).
import { z } from 'zod';
import { parseSeverity } from '../domain/severity.js';
import { boolean, duration, section, text, value, word } from './leaf-schemas.js';
import type { AlertsConfig } from './types.js';
import { show } from './values.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value to equal, or `/regex/` (anchored, as Alertmanager's `=~` matchers are). */
const matchValue = value(
  (v): string | undefined => {
    if (typeof v !== 'string') return undefined;
    const regex = /^\/(.*)\/$/s.exec(v);
    if (!regex) return v;
    try {
      new RegExp(`^(?:${regex[1]})$`, 'u');
      return v;
    } catch {
      return undefined;
    }
  },
  (v) =>
    typeof v === 'string'
      ? `${show(v)} is not a valid /regex/`
      : `${show(v)} is not a label value (write it in quotes)`,
);

const severity = value(
  (v) => (typeof v === 'string' ? parseSeverity(v) : undefined),
  (v) => `${show(v)} is not a severity (sev0..sev3)`,
);

const ruleSchema = z.strictObject({
  match: section(
    z.record(z.string().regex(LABEL_NAME, { error: 'invalid label name (letters, digits and "_")' }), matchValue),
  ),
  service: text('a service name or "{{ labels.<name> }}"').optional(),
  declare: severity.optional(),
});

export const alertsSchema = section(
  z.strictObject({
    triageChannel: word('a channel id').optional(),
    attachWindow: duration.optional(),
    deployWindow: duration.optional(),
    autoResolve: boolean.optional(),
    rules: z.array(ruleSchema).optional(),
  }),
);

export function buildAlertsConfig(raw: z.output<typeof alertsSchema>): AlertsConfig {
  return {
    ...(raw.triageChannel !== undefined && { triageChannel: raw.triageChannel }),
    ...(raw.attachWindow !== undefined && { attachWindowMs: raw.attachWindow }),
    ...(raw.deployWindow !== undefined && { deployWindowMs: raw.deployWindow }),
    autoResolve: raw.autoResolve ?? false,
    rules: (raw.rules ?? []).map((rule) => ({
      match: rule.match,
      ...(rule.service !== undefined && { service: rule.service }),
      ...(rule.declare !== undefined && { declare: rule.declare }),
    })),
  };
}

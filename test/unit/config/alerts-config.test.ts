// The `alerts:` section: rules with label equality and /regex/ values, a service, a severity to declare.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseFileConfig } from '../../../src/config.js';

const parse = (yaml: string) => parseFileConfig(yaml, 'firelane.yaml');
const errorOf = (yaml: string) => {
  try {
    parse(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('loaded');
};

describe('alerts config', () => {
  it('is empty by default', () => {
    expect(parse('').alerts).toEqual({ rules: [], autoResolve: false });
  });

  it('reads the contract example', () => {
    const alerts = parse(`alerts:
  triageChannel: C0TRIAGE
  attachWindow: 30m
  deployWindow: 30m
  rules:
    - match: { severity: critical, alertname: "/Probe.*/" }
      service: "{{ labels.service }}"
      declare: sev1
    - match: { team: payments }
`).alerts;
    expect(alerts).toEqual({
      triageChannel: 'C0TRIAGE',
      attachWindowMs: 30 * 60_000,
      deployWindowMs: 30 * 60_000,
      autoResolve: false,
      rules: [
        {
          match: { severity: 'critical', alertname: '/Probe.*/' },
          service: '{{ labels.service }}',
          declare: 'sev1',
        },
        { match: { team: 'payments' } },
      ],
    });
  });

  it('reads autoResolve (an addition beyond the contract example)', () => {
    expect(parse('alerts:\n  autoResolve: true\n').alerts.autoResolve).toBe(true);
    expect(errorOf('alerts:\n  autoResolve: yes please\n')).toContain('alerts.autoResolve');
  });

  it.each([
    [
      'alerts:\n  rules:\n    - match: { severity: critical }\n      declare: sev9\n',
      'alerts.rules[0].declare: "sev9" is not a severity (sev0..sev3)',
    ],
    [
      'alerts:\n  rules:\n    - match: { alertname: "/(unclosed/" }\n',
      'alerts.rules[0].match.alertname: "/(unclosed/" is not a valid /regex/',
    ],
    ['alerts:\n  attachWindow: soon\n', 'alerts.attachWindow: "soon" is not a duration (use 90s, 15m, 2h)'],
    ['alerts:\n  rules:\n    - match: {}\n      page: true\n', 'alerts.rules[0].page: unknown key'],
    ['alerts:\n  triage: C0\n', 'alerts.triage: unknown key'],
  ])('%j stops start-up naming the key', (yaml, expected) => {
    expect(errorOf(yaml)).toContain(`firelane.yaml: ${expected}`);
  });
});

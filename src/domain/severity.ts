// Severities sev0 (worst) .. sev3 and the lenient spellings users type under pressure.
export const SEVERITIES = ['sev0', 'sev1', 'sev2', 'sev3'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Accepts `sev1`, `SEV1`, `Sev1`, `sev-1`, `sev_1`; returns undefined for anything else. */
export function parseSeverity(text: string): Severity | undefined {
  const match = /^sev[-_ ]?([0-3])$/i.exec(text.trim());
  return match ? (`sev${match[1]}` as Severity) : undefined;
}

/** Looks like an attempt at a severity (so "sev7" is reported as unknown, not taken as a title). */
export function looksLikeSeverity(text: string): boolean {
  return /^sev[-_ ]?\d+$/i.test(text.trim());
}

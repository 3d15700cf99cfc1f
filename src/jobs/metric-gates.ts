// One look at a deploy's metric gates (healthCheck.prometheus): every query evaluated at the same
// time, each value held to its bounds. A query with several series passes only if every series does,
// and is shown by its worst one (the least room left to a bound, or the furthest beyond it). A gate
// that cannot be evaluated (an error answer, no answer, NaN or ±Inf) counts as failed: a gate that
// was not judged never lets a deploy through.
import type { MetricGate, PrometheusGates } from '../config/types.js';
import type { MetricSource, Sample } from '../ports/metric-source.js';
import { stripTokens } from '../ports/reply.js';
import type { HealthResult } from './health-check.js';

/** The result of one look: the health verdict, and a line per gate for the card (in config order). */
export type GateCheck = HealthResult & { readings: string[] };

interface Reading {
  ok: boolean;
  text: string;
}

/** External text (labels, error messages) as one short line with nothing a renderer could take for a token. */
function oneLine(text: string, max = 200): string {
  const line = stripTokens(text)
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The series as Prometheus writes it: `name{label="value", ...}`, or `{}` for none. */
function seriesText(labels: Record<string, string>): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return oneLine(`${name}{${pairs.join(', ')}}`, 120);
}

/** Room left below max and above min (negative: outside by that much). */
const margin = (gate: MetricGate, value: number) =>
  Math.min(gate.max === undefined ? Infinity : gate.max - value, gate.min === undefined ? Infinity : value - gate.min);

/**
 * A value short enough to read (4 significant digits, whole numbers from 1000 on), but never so short
 * that a failing value reads as its bound (`0.05 > max 0.05`).
 */
export function formatValue(value: number, bound?: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  const whole = Math.round(value);
  if (Math.abs(value) >= 1000 && (whole !== bound || value === bound)) return String(whole);
  for (let digits = 4; digits < 17; digits++) {
    const shown = Number(value.toPrecision(digits));
    if (bound === undefined || value === bound || shown !== bound) return String(shown);
  }
  return String(value);
}

const boundsText = (gate: MetricGate) =>
  [gate.min !== undefined && `min ${gate.min}`, gate.max !== undefined && `max ${gate.max}`].filter(Boolean).join(', ');

/** Judges one query's samples against its gate. */
export function judge(gate: MetricGate, samples: Sample[], onNoData: PrometheusGates['onNoData']): Reading {
  const name = oneLine(gate.name, 80);
  if (samples.length === 0)
    return onNoData === 'ignore'
      ? { ok: true, text: `${name}: no data (ignored: onNoData is ignore)` }
      : { ok: false, text: `${name}: no data (the query returned no series; onNoData is fail)` };
  const several = samples.length > 1;
  const unjudged = samples.find((s) => !Number.isFinite(s.value));
  if (unjudged)
    return {
      ok: false,
      text: `${name} could not be evaluated, which counts as failed: ${several ? `${seriesText(unjudged.labels)} is` : 'the value is'} ${formatValue(unjudged.value)}`,
    };
  const worst = samples.reduce((a, b) => (margin(gate, b.value) < margin(gate, a.value) ? b : a));
  const where = several ? ` in ${seriesText(worst.labels)} (worst of ${samples.length} series)` : '';
  if (gate.max !== undefined && worst.value > gate.max)
    return { ok: false, text: `${name} ${formatValue(worst.value, gate.max)} > max ${gate.max}${where}` };
  if (gate.min !== undefined && worst.value < gate.min)
    return { ok: false, text: `${name} ${formatValue(worst.value, gate.min)} < min ${gate.min}${where}` };
  return {
    ok: true,
    text: `${name} ${formatValue(worst.value)} (${boundsText(gate)}${several ? `; worst of ${samples.length} series` : ''})`,
  };
}

/** Every gate at `at`; the first failing one (in config order) is the verdict's reason. */
export async function checkGates(
  source: MetricSource | undefined,
  gates: PrometheusGates,
  at: number,
): Promise<GateCheck> {
  const readings = await Promise.all(
    gates.queries.map(async (gate): Promise<Reading> => {
      const result = source
        ? await source.instant(gates.url, gate.query, at)
        : { ok: false as const, problem: 'no Prometheus client is configured' };
      if (result.ok) return judge(gate, result.samples, gates.onNoData);
      return {
        ok: false,
        text: `${oneLine(gate.name, 80)} could not be evaluated, which counts as failed: ${oneLine(result.problem, 300)}`,
      };
    }),
  );
  const texts = readings.map((r) => r.text);
  const failed = readings.find((r) => !r.ok);
  return failed ? { healthy: false, reason: failed.text, readings: texts } : { healthy: true, readings: texts };
}

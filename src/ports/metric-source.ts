// What a deploy's metric gates ask of Prometheus (or any API with its /api/v1/query): the value of
// one instant query at a point in time, per series, or why there is none. The adapter is
// adapters/prometheus/prometheus-source.ts; the loopback fake, test/fakes/fake-prometheus.ts.
export interface Sample {
  /** The series' labels; a scalar result has none. */
  labels: Record<string, string>;
  /** NaN and ±Infinity are kept as such: a gate reports them as values it cannot judge. */
  value: number;
}

/** No series at all (`samples: []`) is an answer too: "no data". */
export type InstantResult = { ok: true; samples: Sample[] } | { ok: false; problem: string };

export interface MetricSource {
  /** Evaluates `query` at `at` (ms since the epoch) on the API under `baseUrl`; never throws. */
  instant(baseUrl: string, query: string, at: number): Promise<InstantResult>;
}

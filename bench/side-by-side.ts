// Issue 27: SQLite and PostgreSQL side by side. Each section that measures both returns its rows and
// its verdicts beside its Markdown; bench/run.ts puts them in one table at the top of RESULTS.md.
// Pure functions (no I/O), so a unit test can check them.

export interface SideBySide {
  figure: string;
  sqlite: string;
  /** The figure, or why there is none ("skipped: ..."). */
  postgres: string;
  /** PostgreSQL ÷ SQLite, from the same run. */
  ratio?: number | undefined;
  /** The target, when the issue sets one. */
  target?: string;
}

export interface SectionResult {
  markdown: string;
  sideBySide?: SideBySide[];
  /** Lines `- <what>: met` or `- <what>: missed` for the summary. */
  verdicts?: string[];
}

export const verdictWord = (ok: boolean) => (ok ? 'met' : 'missed');

/** A ratio as RESULTS.md writes it ("1.37x"), or "–" when either figure is missing. */
export const ratioText = (ratio: number | undefined) =>
  ratio === undefined || !Number.isFinite(ratio) ? '–' : `${ratio.toFixed(2)}x`;

export function sideBySideSection(
  rows: SideBySide[],
  verdicts: string[],
  postgres: { description: string } | { missing: string },
): string {
  const server =
    'description' in postgres
      ? `PostgreSQL: ${postgres.description}.`
      : `PostgreSQL: **skipped** (${postgres.missing}); its column says so, the SQLite figures are measured all the same.`;
  return `## SQLite and PostgreSQL side by side (issue 27)

${server}
SQLite: the file firelane opens by default (\`DATABASE_PATH\`, WAL, synchronous NORMAL), on the same disk.
Both are measured in this run, alternating where the section allows it (each section says how), so the
ratio (PostgreSQL ÷ SQLite) compares figures of one run on one machine; the server shares the two cores with
everything else. Details, baselines and the rest of each figure: the sections below.

| figure | SQLite | PostgreSQL | PostgreSQL ÷ SQLite | target |
|---|---|---|---|---|
${rows.map((r) => `| ${r.figure} | ${r.sqlite} | ${r.postgres} | ${ratioText(r.ratio)} | ${r.target ?? 'none; reported'} |`).join('\n')}

${verdicts.length ? verdicts.join('\n') : '- no target measured in this run'}
`;
}

/** Gaps between consecutive times (sorted), ms. */
export function gaps(times: number[]): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.slice(1).map((t, i) => t - sorted[i]!);
}

/**
 * The reminders around a kill: the longest gap between consecutive reminders over the whole run, and
 * the gap that spans the kill (the last reminder before it to the first after it; undefined when none
 * came after).
 */
export function failoverGaps(times: number[], killedAt: number): { longest: number; acrossKill: number | undefined } {
  const sorted = [...times].sort((a, b) => a - b);
  const before = sorted.filter((t) => t <= killedAt).at(-1);
  const after = sorted.find((t) => t > killedAt);
  return {
    longest: Math.max(0, ...gaps(sorted)),
    acrossKill: before === undefined || after === undefined ? undefined : after - before,
  };
}

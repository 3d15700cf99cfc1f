// The summary of issue 27 (SQLite and PostgreSQL side by side) and the failover gaps: the full bench
// takes over ten minutes, so these check its arithmetic and its table, not its figures.
import { describe, expect, it } from 'vitest';
import { failoverGaps, gaps, ratioText, sideBySideSection } from '../../../bench/side-by-side.js';

describe('bench: SQLite and PostgreSQL side by side', () => {
  const rows = [
    {
      figure: 'acknowledgement p99',
      sqlite: '20.00 ms',
      postgres: '27.00 ms',
      ratio: 27 / 20,
      target: 'under 50 ms',
    },
    { figure: 'failover gap', sqlite: 'n/a: one process', postgres: '3.0 s' },
  ];

  it('puts both figures, their ratio and the target on one row', () => {
    const markdown = sideBySideSection(rows, ['- something: met'], { description: 'PostgreSQL 15.18, fsync on' });
    expect(markdown).toContain('PostgreSQL: PostgreSQL 15.18, fsync on.');
    expect(markdown).toContain('| acknowledgement p99 | 20.00 ms | 27.00 ms | 1.35x | under 50 ms |');
    expect(markdown).toContain('| failover gap | n/a: one process | 3.0 s | – | none; reported |');
    expect(markdown.trimEnd().split('\n').at(-1)).toBe('- something: met');
  });

  it('says why PostgreSQL was skipped, and keeps the SQLite figures', () => {
    const markdown = sideBySideSection(
      [{ figure: 'acknowledgement p99', sqlite: '20.00 ms', postgres: 'skipped: initdb not found' }],
      [],
      { missing: 'initdb and pg_ctl not found' },
    );
    expect(markdown).toContain('PostgreSQL: **skipped** (initdb and pg_ctl not found)');
    expect(markdown).toContain('| acknowledgement p99 | 20.00 ms | skipped: initdb not found | – | none; reported |');
  });

  it('writes a ratio with two decimals, and a dash when a figure is missing', () => {
    expect(ratioText(1.5)).toBe('1.50x');
    expect(ratioText(undefined)).toBe('–');
    expect(ratioText(NaN)).toBe('–');
  });
});

describe('bench: failover gaps', () => {
  it('measures the gaps between reminders in time order', () => {
    expect(gaps([6000, 0, 3000, 13000])).toEqual([3000, 3000, 7000]);
    expect(gaps([5])).toEqual([]);
  });

  it('finds the longest gap and the one across the kill', () => {
    // Reminders every 3 s, a kill at 7 s, the next reminder at 15 s.
    expect(failoverGaps([0, 3000, 6000, 15000, 18000], 7000)).toEqual({ longest: 9000, acrossKill: 9000 });
    // Another replica kept posting: the gap across the kill is the cadence, the longest too.
    expect(failoverGaps([0, 3000, 6000, 9000], 7000)).toEqual({ longest: 3000, acrossKill: 3000 });
  });

  it('has no gap across the kill when no reminder came after it', () => {
    expect(failoverGaps([0, 3000], 4000)).toEqual({ longest: 3000, acrossKill: undefined });
  });
});

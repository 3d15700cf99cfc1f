// /metrics stays bounded whatever people type: thousands of made-up commands and subcommands, sent
// as signed Slack commands and button clicks through the real app, are counted as `unknown`, and
// the scrape is exactly as large after thousands of them as after ten.
import { afterEach, describe, expect, it } from 'vitest';
import { buttonClick, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
afterEach(async () => h?.close());

async function scrape(): Promise<{ text: string; bytes: number; series: number }> {
  const response = await fetch(`${h.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return {
    text,
    bytes: Buffer.byteLength(text),
    series: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
  };
}

/** The value of one sample line, e.g. sample(text, 'x_total{a="b"}'); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every label value in the scrape, e.g. all `command="..."` values. */
function labelValues(text: string, label: string): Set<string> {
  return new Set([...text.matchAll(new RegExp(`[{,]${label}="([^"]*)"`, 'g'))].map((m) => m[1]!));
}

/** One round of made-up input, four kinds per round: unknown /incident and /hotfix subcommands, an unknown command and an unreadable one (the last two as button values, which carry any text). */
async function madeUp(i: number): Promise<void> {
  const word = `zq${i.toString(36)}x`;
  const results = await Promise.all([
    h.command(`${word} please`, { command: '/incident' }),
    h.command(`${word}`, { command: '/hotfix' }),
    h.interaction(
      buttonClick({
        user: 'U0ALICE',
        channel: 'C0GENERAL',
        messageTs: `1.${i}`,
        actionId: `firelane:cmd:${i}`,
        value: `/${word} now`,
        responseUrl: h.slack.responseUrl(`a-${i}`),
      }),
    ),
    h.interaction(
      buttonClick({
        user: 'U0ALICE',
        channel: 'C0GENERAL',
        messageTs: `2.${i}`,
        actionId: `firelane:cmd:${i}`,
        value: `/${word} "unbalanced`,
        responseUrl: h.slack.responseUrl(`b-${i}`),
      }),
    ),
  ]);
  for (const r of results) expect(r.status).toBe(200);
}

describe('metrics labels come from a fixed set', () => {
  it('thousands of distinct made-up commands and subcommands count as unknown and do not grow /metrics', async () => {
    h = await startHarness();
    // Known commands first, so their series exist before and after.
    expect((await h.command('sev2 Search is slow')).status).toBe(200);
    expect((await h.command('list')).status).toBe(200);

    for (let i = 0; i < 10; i++) await madeUp(i);
    const afterTen = await scrape();

    const rounds = 1000; // 4,000 distinct made-up inputs in all (before the fix: 4.3 MB and 51,571 series here)
    for (let start = 10; start < rounds; start += 30)
      await Promise.all(Array.from({ length: Math.min(30, rounds - start) }, (_, k) => madeUp(start + k)));
    const afterMany = await scrape();

    // Exactly the same series (the counts changed, the label sets did not); the size differs only by digits of the counts.
    expect(afterMany.series).toBe(afterTen.series);
    expect(afterMany.bytes - afterTen.bytes).toBeLessThan(200);
    expect(afterMany.bytes).toBeLessThan(64 * 1024);

    // No made-up word reached a label; every command label is a known one or `unknown`.
    expect(afterMany.text).not.toMatch(/zq[0-9a-z]+x/);
    for (const command of labelValues(afterMany.text, 'command'))
      expect(command).toMatch(/^(?:unknown|(?:incident|deploy|rollback|hotfix)(?: [a-z-]+)?)$/);

    // The made-up ones were counted, as unknown.
    const invalid = (command: string) =>
      sample(afterMany.text, `firelane_commands_total{platform="slack",command="${command}",outcome="invalid"}`);
    expect(invalid('incident unknown')).toBe(rounds);
    expect(invalid('hotfix unknown')).toBe(rounds);
    expect(invalid('unknown')).toBe(2 * rounds);
    expect(
      sample(afterMany.text, 'firelane_commands_total{platform="slack",command="incident declare",outcome="ok"}'),
    ).toBe(1);
    expect(
      sample(afterMany.text, 'firelane_commands_total{platform="slack",command="incident list",outcome="ok"}'),
    ).toBe(1);
  }, 120_000);
});

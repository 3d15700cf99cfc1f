// `firelane run "<command>"` as a child process (node dist/cli.js) on a fresh database: the reply is
// plain text for a terminal, and standard error speaks of follow-up jobs only when this command left some.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUtc } from '../../src/ports/reply.js';
import { runCli, type CliResult } from '../support/process.js';
import { databaseEnv, dropDatabase } from '../support/test-store.js';

describe('firelane run', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-cli-run-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(dir);
  });

  const run = async (text: string) => runCli(['run', text, '--user=alice'], await databaseEnv(dir), dir);
  /** A command that worked and left no job behind: standard error is empty. */
  async function ok(text: string): Promise<string> {
    const result: CliResult = await run(text);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    // No *bold* or `code` markers, no Slack mention, channel or date markup.
    expect(result.stdout).not.toMatch(/[*`]|<[@#!]/);
    return result.stdout;
  }

  it('prints replies without chat markup, and says nothing of jobs it finished', async () => {
    expect(await ok('/incident sev1 Checkout is down')).toMatch(/^🚨 INC-1 declared \(SEV1\): Checkout is down\. /);
    await ok('/incident update INC-1 identified bad config --eta=30m');
    expect(await ok('/incident list')).toMatch(
      /^1 open incident\nINC-1 SEV1 · Identified · Checkout is down · #inc-1-checkout-is-down · /,
    );
    const shown = await ok('/incident show INC-1');
    expect(shown).toMatch(/^Timeline \(3 events\) · #inc-1-checkout-is-down$/m);
    expect(shown).toMatch(/ · @alice · IDENTIFIED: bad config \(ETA 30m\)$/m);
    expect(await ok('/incident checklist INC-1')).toMatch(/^INC-1 checklist: 0 of \d+ done\.$/m);
    expect(await ok('/incident help')).toMatch(
      /^firelane incident commands\n\/incident <sev0\|sev1\|sev2\|sev3> <title>/,
    );
  });

  it('a reminder it leaves for later is named, with when it is due and who runs it; later commands do not count it again', async () => {
    const before = Date.now();
    const resolved = await run('/incident resolve INC-1 --root-cause="a bad config push"');
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.stdout).toMatch(/^INC-1 resolved after /);
    // The postmortem reminder, due in 48 hours (the default).
    const due = /the first at (\d{4}-\d\d-\d\d \d\d:\d\d UTC)/.exec(resolved.stderr)?.[1];
    expect([formatUtc(before + 48 * 3_600_000), formatUtc(Date.now() + 48 * 3_600_000)]).toContain(due);
    expect(resolved.stderr).toBe(
      `firelane: 1 job is scheduled for later (the first at ${due}); the server (firelane serve) on this database runs it when it is due.\n`,
    );
    await ok('/incident list');
  });

  it('drops the control characters of a command (a terminal escape) before anything is stored or printed', async () => {
    const declared = await ok('/incident sev2 "Check\u001b[2Jout slow\u0007"');
    expect(declared).toMatch(/^🚨 INC-2 declared \(SEV2\): Check\[2Jout slow\. /);
    expect(await ok('/incident show INC-2')).toMatch(/ · @alice · Declared SEV2: Check\[2Jout slow$/m);
  });
});

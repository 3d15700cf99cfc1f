// /incident postmortem over Slack (ephemeral draft, .md file shared in the war room through the
// files.uploadV2 flow) and through `firelane run` (the Markdown on standard output).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { runCli } from '../support/process.js';
import { databaseEnv, dropDatabase, queryDatabase } from '../support/test-store.js';
import { declare, drainUntilSettled, shownText } from './slack-helpers.js';

const TITLE = '# Postmortem: INC-1 — Payment gateway down';

describe('/incident postmortem over Slack', () => {
  let h: Harness;
  let room: string;
  beforeEach(async () => {
    h = await startHarness();
    room = (await declare(h, 'sev1 Payment gateway down')).roomId!;
  });
  afterEach(async () => h?.close());

  const inRoom = (text: string) => h.command(text, { channel: room, user: 'U0ALICE' });
  const uploads = () => h.slack.files.filter((f) => f.filename === 'INC-1-postmortem.md');

  it('answers privately with the draft, then shares INC-1-postmortem.md in the war room', async () => {
    await inRoom('note "Failover started"');
    const ack = await inRoom('postmortem');
    expect(ack.status).toBe(200);
    expect(ack.body.response_type).toBe('ephemeral');
    expect(shownText(ack.body)).toContain(TITLE);
    expect(shownText(ack.body)).toContain('## Timeline');
    expect(uploads()).toHaveLength(0); // the upload runs after the acknowledgement

    await h.drain();
    expect(uploads()).toHaveLength(1);
    const file = uploads()[0]!;
    expect(file.channels).toEqual([room]);
    expect(file.title).toBe('Postmortem draft: INC-1 — Payment gateway down');
    expect(file.content.split('\n')[0]).toBe(TITLE);
    expect(file.content).toContain('## Timeline');
    expect(file.content).toContain('— @U0ALICE — Failover started');
    // Shared as a message with the file in the war room, and nothing left to do.
    expect(h.slack.messagesIn(room).filter((m) => m.files?.length)).toHaveLength(1);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 0, dead: 0 });
  });

  it('twice with no new events uploads once; a new event makes the next one upload again', async () => {
    await inRoom('postmortem');
    await h.drain();
    const again = await h.command('postmortem INC-1', { user: 'U0BOB' });
    expect(shownText(again.body)).toContain(TITLE);
    await h.drain();
    expect(uploads()).toHaveLength(1);
    expect(h.slack.callsTo('files.completeUploadExternal')).toHaveLength(1);

    await inRoom('note "Root cause found"');
    await inRoom('postmortem');
    await h.drain();
    expect(uploads()).toHaveLength(2);
    expect(uploads()[1]!.content).toContain('Root cause found');
  });

  it('a failed upload is retried without a second file', async () => {
    h.slack.failNext('files.completeUploadExternal', { status: 500 });
    await inRoom('postmortem');
    const key = `postmortem:1:${(await h.firelane.store.incidents.timeline(1)).length}`;
    expect(await drainUntilSettled(h, key)).toBe('done');
    expect(h.slack.callsTo('files.completeUploadExternal').map((c) => c.status)).toEqual([500, 200]);
    expect(uploads()).toHaveLength(1);
    expect(h.slack.messagesIn(room).filter((m) => m.files?.length)).toHaveLength(1);
    expect(await h.firelane.store.jobs.depth()).toMatchObject({ queued: 0, dead: 0 });
  });
});

describe('firelane run "/incident postmortem INC-1"', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'firelane-pm-'));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(dir);
  });

  const run = async (text: string) => runCli(['run', text, '--user=alice'], await databaseEnv(dir), dir);

  it('prints the Markdown document on standard output and shares it in the console war room', async () => {
    expect((await run('/incident sev2 Search is slow')).code).toBe(0);
    expect((await run('/incident note "Index rebuild started"')).code).not.toBe(0); // no war room implied on the CLI
    expect((await run('/incident note INC-1 "Index rebuild started"')).code).toBe(0);
    // An update's timeline entry carries *IDENTIFIED* emphasis: the printed document keeps it as written.
    expect((await run('/incident update INC-1 identified "the `search-7` index is corrupt"')).code).toBe(0);
    const result = await run('/incident postmortem INC-1');
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('# Postmortem: INC-1 — Search is slow');
    for (const heading of [
      '## Summary',
      '## Impact',
      '## Timeline',
      '## Root cause',
      '## Action items',
      '## Follow-ups',
    ])
      expect(lines).toContain(heading);
    expect(result.stdout).toContain('— @alice — Index rebuild started');
    expect(result.stdout).toContain('— @alice — *IDENTIFIED*: the `search-7` index is corrupt');
    expect(result.stdout).toContain('- **Resolved:** still open');

    // As text on both (PostgreSQL keeps the body as jsonb).
    const rows = await queryDatabase<{ body: string }>(
      { dir },
      "SELECT CAST(body AS TEXT) AS body FROM console_messages WHERE room_id LIKE 'inc-1-%'",
    );
    const files = rows
      .map((r) => JSON.parse(r.body) as { text: string; file?: { filename: string; content: string } })
      .filter((b) => b.file);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ text: '📄 INC-1-postmortem.md', file: { filename: 'INC-1-postmortem.md' } });
    expect(files[0]!.file!.content).toBe(result.stdout.replace(/\n$/, ''));
  });
});

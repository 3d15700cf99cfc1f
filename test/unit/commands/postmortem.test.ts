// /incident postmortem: a scripted incident through the real router, checked section by section.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleChat, type ConsoleChat } from '../../../src/adapters/console/console-chat.js';
import { createSqliteConsoleStore } from '../../../src/adapters/db/console-store.js';
import { postmortemMarkdown } from '../../../src/views/postmortem-markdown.js';
import { DEFAULT_FILE_CONFIG, type FileConfig } from '../../../src/config.js';
import type { Incident } from '../../../src/domain/incident.js';
import { createIncidentJobs } from '../../../src/jobs/incident-jobs.js';
import { createPostmortemJobs } from '../../../src/jobs/postmortem-jobs.js';
import { createWorker, type Worker } from '../../../src/jobs/worker.js';
import type { TimelineEvent } from '../../../src/ports/store.js';
import { createIncidentFixture, type IncidentFixture } from './incident-fixture.js';

const SECTIONS = ['Summary', 'Impact', 'Timeline', 'Root cause', 'Action items', 'Follow-ups'];
const ROOM = 'inc-1-checkout-errors';
const at = (hhmm: string) => Date.parse(`2026-11-21T${hhmm}:00Z`);
const PLAYBOOK = ['Assign an incident commander', 'Post a first status update', 'Check recent deploys'];
const CONFIG: FileConfig = {
  ...DEFAULT_FILE_CONFIG,
  incidents: {
    ...DEFAULT_FILE_CONFIG.incidents,
    playbooks: { ...DEFAULT_FILE_CONFIG.incidents.playbooks, sev2: PLAYBOOK, sev3: [] },
  },
};

/** The document's `## ` sections: heading -> non-empty lines, in order. */
function sections(doc: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of doc.split('\n')) {
    if (line.startsWith('## ')) out.set(line.slice(3), (current = []));
    else if (current && line.trim() !== '') current.push(line);
  }
  return out;
}

/** Lines that Markdown reads as headings (ATX at the start of a line, or a setext underline). */
const headingLines = (doc: string) =>
  doc
    .split('\n')
    .filter(
      (line, i, all) =>
        /^ {0,3}#{1,6}(\s|$)/.test(line) || (/^ {0,3}(=+|-+)\s*$/.test(line) && (all[i - 1] ?? '').trim() !== ''),
    );

let fx: IncidentFixture;
let chat: ConsoleChat;
let worker: Worker;

beforeEach(() => {
  fx = createIncidentFixture(CONFIG);
  fx.clock.set(at('13:05'));
  chat = createConsoleChat(createSqliteConsoleStore(fx.handle, fx.store.gate), fx.clock);
  const deps = {
    store: fx.store,
    chats: { console: chat.chat },
    config: CONFIG,
    clock: fx.clock,
    logger: pino({ level: 'silent' }),
  };
  worker = createWorker({
    store: fx.store.jobs,
    handlers: { ...createIncidentJobs(deps), ...createPostmortemJobs(deps) },
    logger: deps.logger,
    now: fx.clock.now,
  });
});
afterEach(async () => {
  await worker.stop(0);
  fx.close();
});

async function step(hhmm: string, text: string, user = 'alice') {
  fx.clock.set(at(hhmm));
  const result = await fx.run(text, { user, roomId: ROOM });
  expect(result.outcome, result.reply.text).toBe('ok');
  return result;
}

/** Until `resolve` lands: what it records (status, time, root cause, action items, an event), written through the store. */
async function resolveByHand(hhmm: string, rootCause: string, actionItems: string[]) {
  fx.clock.set(at(hhmm));
  const by = { actor: 'alice', platform: 'console' };
  await fx.store.transaction(async () => {
    await fx.store.incidents.update(
      1,
      { status: 'resolved', resolvedAt: at(hhmm), rootCause },
      { ...by, action: 'incident.resolved' },
    );
    await fx.store.incidents.addActionItems(1, actionItems, by, at(hhmm));
    await fx.store.incidents.addEvent({
      incidentId: 1,
      at: at(hhmm),
      ...by,
      kind: 'resolved',
      text: 'Resolved',
      data: { rootCause },
    });
  });
}

/** Declares INC-1 at 13:05 and lets the war-room job open its war room (`inc-1-checkout-errors`) at 13:06. */
async function declare(
  title = 'Checkout errors',
  extra = ' --description="Card payments fail for EU customers"',
  room = ROOM,
) {
  const declared = await fx.run(`/incident sev2 ${title}${extra}`, { user: 'alice' });
  expect(declared.outcome, declared.reply.text).toBe('ok');
  fx.clock.set(at('13:06'));
  await worker.drain();
  expect((await fx.store.incidents.get(1))?.roomId).toBe(room);
}

describe('/incident postmortem of a resolved incident', () => {
  let doc: string;
  beforeEach(async () => {
    await declare();
    await step('13:08', '/incident lead @me');
    // Until /incident check is wired into the router: what it stores.
    await fx.store.playbooks.tick(1, 1, { actor: 'alice', platform: 'console' }, at('13:08'));
    await step('13:09', '/incident comms @carol');
    await step('13:10', '/incident update investigating "Looking at the payment provider"');
    await step('13:20', '/incident note "Provider status page is green"', 'bob');
    await step('13:25', '/incident severity sev1');
    await step('13:50', '/incident update monitoring "Rolled back deploy 4711; errors back to baseline"');
    await resolveByHand('14:35', 'A config push disabled 3-D Secure for EU cards.', [
      'Alert on the checkout error rate',
      'Canary config pushes',
    ]);
    fx.clock.set(at('15:00'));
    const result = await fx.run('/incident postmortem INC-1', { user: 'dave' });
    expect(result).toMatchObject({ outcome: 'ok', command: 'incident postmortem' });
    expect(result.reply.visibility).toBe('private');
    doc = result.reply.text;
  });

  it('has the incident id in the title and the six sections in order', () => {
    const lines = doc.split('\n');
    expect(lines[0]).toBe('# Postmortem: INC-1 — Checkout errors');
    expect(lines[2]).toBe(
      '_Draft generated 2026-11-21 15:00 UTC from the firelane timeline of INC-1; edit it before you share it._',
    );
    expect([...sections(doc).keys()]).toEqual(SECTIONS);
    expect(headingLines(doc)).toEqual(['# Postmortem: INC-1 — Checkout errors', ...SECTIONS.map((s) => `## ${s}`)]);
  });

  it('Summary: severity, status, times, roles and durations', () => {
    expect(sections(doc).get('Summary')).toEqual([
      '- **Severity:** SEV1 (declared as SEV2)',
      '- **Status:** Resolved',
      '- **Declared:** 2026-11-21 13:05 UTC by @alice',
      '- **Resolved:** 2026-11-21 14:35 UTC',
      '- **Commander:** @alice',
      '- **Comms lead:** @carol',
      `- **War room:** #${ROOM}`,
      '- **Time to mitigate:** 45m (declared to the first monitoring update)',
      '- **Time to resolve:** 1h 30m',
    ]);
  });

  it('Impact: the description, severity and duration, and a line for the author', () => {
    expect(sections(doc).get('Impact')).toEqual([
      'Card payments fail for EU customers',
      '- **Severity:** SEV1 (declared as SEV2)',
      '- **Duration:** 1h 30m (declared to resolved)',
      '_Describe who was affected and how._',
    ]);
  });

  it('Timeline: every event oldest first, in UTC to the minute, mentions as @id', () => {
    expect(sections(doc).get('Timeline')).toEqual([
      '- 2026-11-21 13:05 UTC — @alice — Declared SEV2: Checkout errors',
      `- 2026-11-21 13:06 UTC — firelane — War room ${ROOM} opened`,
      '- 2026-11-21 13:08 UTC — @alice — @alice is now the incident commander',
      '- 2026-11-21 13:09 UTC — @alice — @carol is now the communications lead (assigned by @alice)',
      '- 2026-11-21 13:10 UTC — @alice — *INVESTIGATING*: Looking at the payment provider',
      '- 2026-11-21 13:20 UTC — @bob — Provider status page is green',
      '- 2026-11-21 13:25 UTC — @alice — Severity changed from SEV2 to SEV1',
      '- 2026-11-21 13:50 UTC — @alice — *MONITORING*: Rolled back deploy 4711; errors back to baseline',
      '- 2026-11-21 14:35 UTC — @alice — Resolved',
    ]);
  });

  it('Root cause, Action items as a task list, Follow-ups with the times repeated', () => {
    const s = sections(doc);
    expect(s.get('Root cause')).toEqual(['A config push disabled 3-D Secure for EU cards.']);
    expect(s.get('Action items')).toEqual(['- [ ] Alert on the checkout error rate', '- [ ] Canary config pushes']);
    expect(s.get('Follow-ups')).toEqual([
      'Playbook checklist:',
      '- [x] Assign an incident commander — @alice, 2026-11-21 13:08 UTC',
      '- [ ] Post a first status update (skipped)',
      '- [ ] Check recent deploys (skipped)',
      '- **Time to mitigate:** 45m (declared to the first monitoring update)',
      '- **Time to resolve:** 1h 30m',
    ]);
  });

  it('uploads the same document to the war room once the job runs', async () => {
    await worker.drain();
    const files = (await chat.messages(ROOM)).filter((m) => m.body.file);
    expect(files).toHaveLength(1);
    expect(files[0]!.body).toMatchObject({
      visibility: 'channel',
      text: '📄 INC-1-postmortem.md',
      file: { filename: 'INC-1-postmortem.md', content: doc },
    });
    expect(files[0]!.body.file!.title).toBe('Postmortem draft: INC-1 — Checkout errors');
  });
});

describe('/incident postmortem of an open incident', () => {
  it('says still open and not yet, and counts the duration to now', async () => {
    await declare();
    await step('13:30', '/incident update identified "Bad config push"');
    fx.clock.set(at('14:05'));
    const { reply } = await fx.run('/incident postmortem', { roomId: ROOM });
    const s = sections(reply.text);
    expect([...s.keys()]).toEqual(SECTIONS);
    expect(s.get('Summary')).toEqual(
      expect.arrayContaining([
        '- **Status:** Identified',
        '- **Resolved:** still open',
        '- **Commander:** unassigned',
        '- **Time to mitigate:** not yet',
        '- **Time to resolve:** not yet',
      ]),
    );
    expect(s.get('Impact')).toContain('- **Duration:** 1h so far (still open)');
    expect(s.get('Root cause')).toEqual(['_To be written._']);
    expect(s.get('Action items')).toEqual(['_None recorded._']);
  });

  it('once monitoring, the time to mitigate is known while the time to resolve is not', async () => {
    await declare();
    await step('13:25', '/incident update monitoring "Looks better"');
    fx.clock.set(at('13:40'));
    const s = sections((await fx.run('/incident postmortem INC-1')).reply.text);
    expect(s.get('Follow-ups')).toEqual([
      'Playbook checklist:',
      ...PLAYBOOK.map((text) => `- [ ] ${text} (not done yet)`),
      '- **Time to mitigate:** 20m (declared to the first monitoring update)',
      '- **Time to resolve:** not yet',
    ]);
  });
});

describe('user text cannot change the structure of the document', () => {
  it('a # in the title and headings, fences and underlines in notes, description and root cause stay text', async () => {
    await declare(
      '"# Not a heading"',
      ' --description="Line one\n# Impact injected\n===\n<!-- hidden"',
      'inc-1-not-a-heading',
    );
    await step('13:10', '/incident note INC-1 "first line\n# Injected heading\n## another\n- # in a list"');
    await step('13:11', '/incident note INC-1 "```\nnot closed"');
    await resolveByHand('13:30', 'Cause\n> # quoted heading\nunderlined\n---\n```sh\nrm -rf /', []);
    const { reply } = await fx.run('/incident postmortem INC-1');
    const doc = reply.text;
    expect(headingLines(doc)).toEqual(['# Postmortem: INC-1 — # Not a heading', ...SECTIONS.map((s) => `## ${s}`)]);
    const s = sections(doc);
    expect([...s.keys()]).toEqual(SECTIONS);
    expect(s.get('Timeline')).toContain(
      '- 2026-11-21 13:10 UTC — @alice — first line # Injected heading ## another - # in a list',
    );
    expect(s.get('Impact')!.slice(0, 4)).toEqual(['Line one', '\\# Impact injected', '\\===', '\\<!-- hidden']);
    // The open fence of the root cause is closed before the next section.
    expect(s.get('Root cause')).toEqual([
      'Cause',
      '> \\# quoted heading',
      'underlined',
      '\\---',
      '```sh',
      'rm -rf /',
      '```',
    ]);
  });
});

describe('the upload to the war room', () => {
  it('is keyed by the number of events: asking again with nothing new uploads nothing new', async () => {
    await declare();
    const events = async () => (await fx.store.incidents.timeline(1)).length;
    const uploads = () => fx.jobs().filter((j) => j.kind === 'incident.upload-postmortem');
    const n = await events();
    await fx.run('/incident postmortem', { roomId: ROOM });
    await fx.run('/incident postmortem INC-1', { user: 'bob' });
    expect(uploads().map((j) => j.key)).toEqual([`postmortem:1:${n}`]);
    await worker.drain();
    await fx.run('/incident postmortem', { roomId: ROOM });
    await worker.drain();
    expect((await chat.messages(ROOM)).filter((m) => m.body.file)).toHaveLength(1);

    await step('13:30', '/incident note "More news"');
    await fx.run('/incident postmortem', { roomId: ROOM });
    expect(uploads().map((j) => j.key)).toEqual([`postmortem:1:${n}`, `postmortem:1:${n + 1}`]);
    await worker.drain();
    const files = (await chat.messages(ROOM)).filter((m) => m.body.file);
    expect(files).toHaveLength(2);
    expect(files[1]!.body.file!.content).toContain('More news');
  });

  it('is not queued when the incident has no war room yet; the draft is still shown', async () => {
    await fx.run('/incident sev3 Slow search', { user: 'alice' });
    const result = await fx.run('/incident postmortem INC-1');
    expect(result.outcome).toBe('ok');
    expect(result.reply.text.split('\n')[0]).toBe('# Postmortem: INC-1 — Slow search');
    expect(sections(result.reply.text).get('Follow-ups')?.[0]).toBe('_No playbook checklist._');
    expect(fx.jobs().filter((j) => j.kind === 'incident.upload-postmortem')).toEqual([]);
  });

  it('refuses extra words, an unknown incident, and no incident outside a war room', async () => {
    await declare();
    const before = fx.counts();
    const extra = await fx.run('/incident postmortem INC-1 now');
    expect(extra.outcome).toBe('invalid');
    expect(extra.reply.text).toContain('/incident postmortem [INC-n]');
    expect((await fx.run('/incident postmortem INC-9')).reply.text).toContain('INC-9 does not exist');
    expect((await fx.run('/incident postmortem')).reply.text).toContain('Name the incident');
    expect((await fx.run('/incident postmortem --format=pdf')).outcome).toBe('invalid');
    expect(fx.counts()).toEqual(before);
  });
});

describe('postmortemMarkdown (pure)', () => {
  // A stored incident (so the test follows the Incident type), resolved at 12:15 with bob in command.
  let incident: Incident;
  beforeEach(async () => {
    const created = await fx.store.incidents.create({
      title: 'DNS outage',
      description: null,
      severity: 'sev1',
      platform: 'console',
      declaredBy: 'alice',
      declaredAt: at('10:00'),
      nextReminderAt: at('10:15'),
    });
    incident = { ...created, status: 'resolved', commander: 'bob', resolvedAt: at('12:15') };
  });
  const declared: TimelineEvent = {
    id: 1,
    incidentId: 7,
    at: at('10:00'),
    actor: 'alice',
    platform: 'console',
    kind: 'declared',
    text: 'Declared SEV1: DNS outage',
    data: null,
  };
  const playbook = [
    { position: 2, text: 'Check recent deploys', doneBy: null, doneAt: null },
    { position: 1, text: 'Assign an incident commander', doneBy: 'bob', doneAt: at('10:04') },
  ];

  it('lists the playbook: done items with who and when, the rest as skipped; no monitoring update means mitigated at resolution', () => {
    const doc = postmortemMarkdown({ incident, timeline: [declared], actionItems: [], playbook, now: at('13:00') });
    expect(sections(doc).get('Follow-ups')).toEqual([
      'Playbook checklist:',
      '- [x] Assign an incident commander — @bob, 2026-11-21 10:04 UTC',
      '- [ ] Check recent deploys (skipped)',
      '- **Time to mitigate:** 2h 15m (declared to resolution; no monitoring update)',
      '- **Time to resolve:** 2h 15m',
    ]);
  });

  it('while the incident is open, unticked items are not done yet rather than skipped', () => {
    const doc = postmortemMarkdown({
      incident: { ...incident, status: 'monitoring', resolvedAt: null },
      timeline: [declared],
      actionItems: [],
      playbook,
      now: at('13:00'),
    });
    expect(sections(doc).get('Follow-ups')).toContain('- [ ] Check recent deploys (not done yet)');
  });

  it('is deterministic and orders the timeline by time whatever order it is given in', () => {
    const later: TimelineEvent = { ...declared, id: 2, at: at('10:30'), kind: 'note', text: 'later' };
    const input = {
      incident,
      timeline: [later, declared],
      actionItems: [{ text: 'x' }],
      playbook: [],
      now: at('13:00'),
    };
    const doc = postmortemMarkdown(input);
    expect(postmortemMarkdown(input)).toBe(doc);
    expect(sections(doc).get('Timeline')).toEqual([
      '- 2026-11-21 10:00 UTC — @alice — Declared SEV1: DNS outage',
      '- 2026-11-21 10:30 UTC — @alice — later',
    ]);
  });
});

// Teams rendering and command text: Adaptive Cards from the neutral model, typed text kept literal,
// mentions only for users firelane has seen, and commands read from mentions or card submits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelReply, mention, privateReply, timeToken } from '../../../../src/ports/reply.js';
import { escapeMarkdown, renderTeams, SUBMIT_KEY } from '../../../../src/adapters/teams/render.js';
import { commandText } from '../../../../src/adapters/teams/teams-app.js';

const FAMILIES = ['incident', 'deploy', 'rollback', 'hotfix'];
const names: Record<string, string> = { 'aad-lead': 'Lea Lead' };
const nameOf = (id: string) => names[id];

describe('renderTeams', () => {
  it('a card becomes an Adaptive Card with facts and Submit buttons carrying the command', () => {
    const message = renderTeams(
      channelReply('', {
        title: 'INC-1: Payments down',
        text: 'declared by ' + mention('aad-lead'),
        accent: 'danger',
        fields: [
          { label: 'Severity', value: 'SEV1' },
          { label: 'Commander', value: mention('aad-unknown') },
        ],
        buttons: [
          { label: 'Approve', command: 'deploy approve REQ-1', style: 'primary' },
          { label: 'Reject', command: 'deploy reject REQ-1', style: 'danger' },
        ],
        footer: 'since ' + timeToken(Date.parse('2026-11-21T10:00:00Z')),
      }),
      nameOf,
    );
    const card = message.attachments![0]!;
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const content = card.content as {
      body: Array<Record<string, unknown>>;
      actions: Array<Record<string, unknown>>;
      msteams: { entities: unknown[] };
    };
    expect(content.body[0]).toMatchObject({
      type: 'TextBlock',
      text: 'INC-1: Payments down',
      weight: 'Bolder',
      color: 'Attention',
    });
    expect(content.body[1]).toMatchObject({ text: 'declared by <at>Lea Lead</at>' });
    expect(content.body[2]).toMatchObject({
      type: 'FactSet',
      facts: [
        { title: 'Severity', value: 'SEV1' },
        { title: 'Commander', value: '@aad-unknown' },
      ],
    });
    expect(content.body[3]).toMatchObject({
      text: 'since {{DATE(2026-11-21T10:00:00Z, SHORT)}} {{TIME(2026-11-21T10:00:00Z)}}',
      isSubtle: true,
    });
    expect(content.actions).toEqual([
      { type: 'Action.Submit', title: 'Approve', style: 'positive', data: { [SUBMIT_KEY]: 'deploy approve REQ-1' } },
      { type: 'Action.Submit', title: 'Reject', style: 'destructive', data: { [SUBMIT_KEY]: 'deploy reject REQ-1' } },
    ]);
    expect(content.msteams.entities).toEqual([
      { type: 'mention', text: '<at>Lea Lead</at>', mentioned: { id: 'aad-lead', name: 'Lea Lead' } },
    ]);
  });

  it('text people typed stays literal: no links, images or formatting sneak in', () => {
    const message = renderTeams(privateReply('title: [click](https://evil.example) ![x](y) **boom** <at>CEO</at>'));
    // (*bold* stays bold, as in Slack: `**boom**` shows as *boom* between two literal stars.)
    expect(message.text).toBe(
      'title: \\[click\\]\\(https://evil.example\\) \\!\\[x\\]\\(y\\) \\***boom**\\* \\<at\\>CEO\\</at\\>',
    );
    expect(message.entities).toBeUndefined();
    // Handler formatting (*bold*) is kept.
    expect(renderTeams(privateReply('*INC-1* is open')).text).toBe('**INC-1** is open');
  });

  it('property: escaped text never contains an unescaped markdown link or mention tag', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const out = escapeMarkdown(text);
        expect(out).not.toMatch(/(^|[^\\])\[[^\]]*(^|[^\\])\]\(/);
        expect(out).not.toMatch(/(^|[^\\])<at>/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('commandText', () => {
  const bot = { id: '28:bot', name: 'firelane' };
  it('drops the bot mention, turns other mentions into @<AAD id>, adds the slash', () => {
    const activity = {
      text: '<at>firelane</at> incident lead <at>Lea Lead</at>',
      recipient: bot,
      entities: [
        { type: 'mention', text: '<at>firelane</at>', mentioned: { id: '28:bot', name: 'firelane' } },
        {
          type: 'mention',
          text: '<at>Lea Lead</at>',
          mentioned: { id: '29:lea', name: 'Lea Lead', aadObjectId: 'aad-lead' },
        },
      ],
    };
    expect(commandText(activity as never, FAMILIES)).toBe('/incident lead @aad-lead');
    expect(commandText({ text: '/deploy payments v2.1.1', recipient: bot } as never, FAMILIES)).toBe(
      '/deploy payments v2.1.1',
    );
    expect(commandText({ text: 'Incident&nbsp;sev1 &quot;DB&quot; down', recipient: bot } as never, FAMILIES)).toBe(
      '/Incident sev1 "DB" down',
    );
  });
  it('a card Submit carries the command; unrelated chatter is no command', () => {
    expect(commandText({ value: { [SUBMIT_KEY]: 'deploy approve REQ-3' }, recipient: bot } as never, FAMILIES)).toBe(
      'deploy approve REQ-3',
    );
    expect(commandText({ text: 'thanks all!', recipient: bot } as never, FAMILIES)).toBeUndefined();
    expect(commandText({ text: '   ', recipient: bot } as never, FAMILIES)).toBeUndefined();
  });
});

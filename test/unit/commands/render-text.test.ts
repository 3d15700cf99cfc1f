// Neutral replies as the CLI prints them: readable text, no chat markup left in it.
import { describe, expect, it } from 'vitest';
import { renderText } from '../../../src/views/render-text.js';
import { channelReply, mention, privateReply, roomLink, timeToken } from '../../../src/ports/reply.js';

describe('renderText', () => {
  it('drops the *bold* and `code` markers handlers write, keeping the words', () => {
    const reply = privateReply(
      [
        '*2 open incidents*',
        '🚨 *INC-3* declared (SEV1): Checkout down.',
        '*IDENTIFIED*: bad config',
        'Usage: `/incident show [INC-n]`',
      ].join('\n'),
    );
    expect(renderText(reply)).toBe(
      [
        '2 open incidents',
        '🚨 INC-3 declared (SEV1): Checkout down.',
        'IDENTIFIED: bad config',
        'Usage: /incident show [INC-n]',
      ].join('\n'),
    );
  });

  it('renders mentions, room links and times as plain words, not Slack markup', () => {
    const reply = channelReply(
      `⏰ ${mention('U123')}: *INC-3* in ${roomLink('C9', 'inc-3-db')} since ${timeToken(Date.UTC(2026, 10, 21, 13, 5))}`,
    );
    const text = renderText(reply, (id) => (id === 'U123' ? 'alice' : id));
    expect(text).toBe('⏰ @alice: INC-3 in #inc-3-db since 2026-11-21 13:05 UTC');
    expect(text).not.toMatch(/[*<>`]/);
  });

  it('a card: title, text, fields and footer without markers', () => {
    const reply = privateReply('*INC-1* checklist: 0 of 2 done.', {
      title: '*INC-1*: Checkout down',
      text: '*Timeline* (1 event)',
      fields: [{ label: 'Status', value: '*Investigating*' }],
      buttons: [{ label: 'Resolve', command: 'incident resolve INC-1' }],
      footer: 'Update: `/incident update <status> <text>`',
    });
    expect(renderText(reply)).toBe(
      [
        'INC-1 checklist: 0 of 2 done.',
        '',
        '== INC-1: Checkout down ==',
        'Timeline (1 event)',
        'Status: Investigating',
        '[Resolve: incident resolve INC-1]',
        'Update: /incident update <status> <text>',
      ].join('\n'),
    );
  });

  it('leaves asterisks that are not emphasis alone: arithmetic, globs, Markdown **strong** in a document', () => {
    const text = ['error rate 2*3 = 6 per *', 'restart pods web-*', '- **Resolved:** still open'].join('\n');
    expect(renderText(privateReply(text))).toBe(text);
  });

  it('a Markdown document (the postmortem draft) is printed as written, its markers included', () => {
    const markdown = [
      '# Postmortem: INC-1',
      '',
      '- **Severity:** SEV1',
      '- 09:11 UTC — @alice — *IDENTIFIED*: `db-1` failed over',
    ].join('\n');
    expect(renderText({ ...privateReply(markdown), markdown: true })).toBe(markdown);
  });
});

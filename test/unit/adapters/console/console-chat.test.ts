// The console's stored chat: private answers live among a room's messages, for one reader only.
import { describe, expect, it } from 'vitest';
import { createConsoleChat } from '../../../../src/adapters/console/console-chat.js';
import { openDatabase } from '../../../../src/adapters/db/database.js';
import { channelReply, privateReply } from '../../../../src/ports/reply.js';
import { createManualClock } from '../../../../src/ports/clock.js';

describe('console chat', () => {
  it('shows a private answer only to its reader, in the order things were written', async () => {
    const consoleChat = createConsoleChat(openDatabase(':memory:'), createManualClock());
    consoleChat.tell('incidents', 'alice', privateReply('for alice'));
    consoleChat.say('incidents', 'bob', '/incident sev2 Search slow');
    await consoleChat.chat.post('incidents', channelReply('INC-1 declared'));
    consoleChat.tell('incidents', 'bob', privateReply('for bob'));
    consoleChat.tell('incidents', 'alice', channelReply('refused, for alice'));

    const texts = (viewer?: string) => consoleChat.messages('incidents', viewer).map((m) => m.body.text);
    expect(texts('alice')).toEqual(['for alice', '/incident sev2 Search slow', 'INC-1 declared', 'refused, for alice']);
    expect(texts('bob')).toEqual(['/incident sev2 Search slow', 'INC-1 declared', 'for bob']);
    expect(texts()).toEqual(['/incident sev2 Search slow', 'INC-1 declared']);
  });

  it('never lets a private answer out: not read back for a pin, not opening a room', async () => {
    const consoleChat = createConsoleChat(openDatabase(':memory:'), createManualClock());
    consoleChat.tell('incidents', 'alice', privateReply('for alice'));
    const [message] = consoleChat.messages('incidents', 'alice');
    expect(await consoleChat.chat.readMessage('incidents', String(message!.id))).toBeUndefined();

    consoleChat.tell('nowhere', 'alice', privateReply('for alice'));
    expect(consoleChat.rooms().map((r) => r.id)).not.toContain('nowhere');
  });
});

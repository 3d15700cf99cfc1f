// The console's stored chat, on each database: private answers live among a room's messages, for one
// reader only; rooms, members, cards and files as the console and the CLI see them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleChat } from '../../../../src/adapters/console/console-chat.js';
import { RoomNameTaken } from '../../../../src/ports/chat.js';
import { channelReply, privateReply } from '../../../../src/ports/reply.js';
import { consoleStoreOf, openTransaction } from '../../../support/chat-stores.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

for (const dialect of dialects()) {
  describe(`console chat on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let changes: string[];
    beforeEach(async () => {
      t = await dialect.open();
      changes = [];
    });
    afterEach(() => t.close());

    const open = (store = t) => createConsoleChat(consoleStoreOf(store), t.clock, { onChange: (r) => changes.push(r) });

    it('shows a private answer only to its reader, in the order things were written', async () => {
      const consoleChat = open();
      await consoleChat.tell('incidents', 'alice', privateReply('for alice'));
      await consoleChat.say('incidents', 'bob', '/incident sev2 Search slow');
      await consoleChat.chat.post('incidents', channelReply('INC-1 declared'));
      await consoleChat.tell('incidents', 'bob', privateReply('for bob'));
      await consoleChat.tell('incidents', 'alice', channelReply('refused, for alice'));

      const texts = async (viewer?: string) =>
        (await consoleChat.messages('incidents', viewer)).map((m) => m.body.text);
      expect(await texts('alice')).toEqual([
        'for alice',
        '/incident sev2 Search slow',
        'INC-1 declared',
        'refused, for alice',
      ]);
      expect(await texts('bob')).toEqual(['/incident sev2 Search slow', 'INC-1 declared', 'for bob']);
      expect(await texts()).toEqual(['/incident sev2 Search slow', 'INC-1 declared']);
    });

    it('never lets a private answer out: not read back for a pin, not opening a room', async () => {
      const consoleChat = open();
      await consoleChat.tell('incidents', 'alice', privateReply('for alice'));
      const [message] = await consoleChat.messages('incidents', 'alice');
      expect(await consoleChat.chat.readMessage('incidents', String(message!.id))).toBeUndefined();

      await consoleChat.tell('nowhere', 'alice', privateReply('for alice'));
      expect((await consoleChat.rooms()).map((r) => r.id)).not.toContain('nowhere');
      expect(changes).toEqual(['incidents']);
    });

    it('has the shared rooms from the start, then the rooms made later, oldest first', async () => {
      const t0 = t.clock.now();
      const consoleChat = open();
      t.clock.advance(1000);
      expect(await consoleChat.chat.createRoom('inc-2-b')).toEqual({ id: 'inc-2-b', name: 'inc-2-b' });
      await consoleChat.chat.createRoom('inc-1-a'); // same millisecond: by name
      t.clock.advance(1000);
      await consoleChat.chat.setTopic('inc-0-topic', 'SEV2 · investigating'); // a topic opens its room
      await expect(consoleChat.chat.createRoom('inc-1-a')).rejects.toBeInstanceOf(RoomNameTaken);
      expect(await consoleChat.rooms()).toEqual([
        { id: 'incidents', name: 'incidents', topic: null, createdAt: t0 },
        { id: 'escalations', name: 'escalations', topic: null, createdAt: t0 },
        { id: 'inc-1-a', name: 'inc-1-a', topic: null, createdAt: t0 + 1000 },
        { id: 'inc-2-b', name: 'inc-2-b', topic: null, createdAt: t0 + 1000 },
        { id: 'inc-0-topic', name: 'inc-0-topic', topic: 'SEV2 · investigating', createdAt: t0 + 2000 },
      ]);
      expect(changes).toEqual(['inc-2-b', 'inc-1-a', 'inc-0-topic']);
    });

    it('invites people once each', async () => {
      const consoleChat = open();
      await consoleChat.chat.createRoom('inc-1-a');
      expect(await consoleChat.chat.invite('inc-1-a', ['carol', 'alice'])).toEqual({ failed: [] });
      await consoleChat.chat.invite('inc-1-a', ['alice', 'bob']);
      await consoleChat.chat.invite('inc-1-a', []);
      expect(await consoleChat.members('inc-1-a')).toEqual(['alice', 'bob', 'carol']);
      expect(await consoleChat.members('incidents')).toEqual([]);
    });

    it('posts, updates and pins a card, and reads it back; a message of another room or no message is not found', async () => {
      const consoleChat = open();
      const card = { title: 'INC-1', fields: [{ label: 'Severity', value: 'SEV1' }] };
      t.clock.set(5000);
      const id = await consoleChat.chat.post('inc-1-a', channelReply('declared', card)); // opens the room
      t.clock.set(6000);
      await consoleChat.chat.update('inc-1-a', id, channelReply('resolved', { ...card, accent: 'good' }));
      await consoleChat.chat.pin('inc-1-a', id);
      const [message] = await consoleChat.messages('inc-1-a');
      expect(message).toEqual({
        id: Number(id),
        roomId: 'inc-1-a',
        author: 'firelane',
        body: { visibility: 'channel', text: 'resolved', card: { ...card, accent: 'good' } },
        pinned: true,
        createdAt: 5000,
        updatedAt: 6000,
      });
      expect(await consoleChat.chat.readMessage('inc-1-a', id)).toEqual({ text: 'resolved', author: 'firelane' });

      for (const missing of ['999', 'x', '1.5', '99999999999', '-1']) {
        await expect(consoleChat.chat.update('inc-1-a', missing, channelReply('no'))).rejects.toThrow(
          `console message ${missing} not found in inc-1-a`,
        );
        expect(await consoleChat.chat.readMessage('inc-1-a', missing)).toBeUndefined();
        await consoleChat.chat.pin('inc-1-a', missing);
      }
      await expect(consoleChat.chat.update('incidents', id, channelReply('no'))).rejects.toThrow(/not found/);
      expect(await consoleChat.chat.readMessage('incidents', id)).toBeUndefined();
    });

    it('a post whose record was lost is found by its key when the job retries it; the key is not shown', async () => {
      const consoleChat = open();
      const once = { key: 'remind:1:900000@5000/post', retried: false };
      const first = await consoleChat.chat.post('inc-1-a', channelReply('⏰ first try'), { once });
      // The process died before the job recorded the id: the retry gets that message, and writes nothing.
      const retried = { ...once, retried: true };
      expect(await consoleChat.chat.post('inc-1-a', channelReply('⏰ second try'), { once: retried })).toBe(first);
      // Another key, or the same key in another room, is another post; a first try looks for nothing.
      const other = await consoleChat.chat.post('inc-1-a', channelReply('⏰ next'), {
        once: { key: 'remind:1:1800000@5000/post', retried: true },
      });
      const elsewhere = await consoleChat.chat.post('incidents', channelReply('announced'), { once: retried });
      expect(new Set([first, other, elsewhere]).size).toBe(3);
      expect((await consoleChat.messages('inc-1-a')).map((m) => [String(m.id), m.body])).toEqual([
        [first, { visibility: 'channel', text: '⏰ first try' }],
        [other, { visibility: 'channel', text: '⏰ next' }],
      ]);
    });

    it('keeps a shared file whole', async () => {
      const consoleChat = open();
      const file = { filename: 'inc-1-postmortem.md', title: 'Postmortem', content: '# INC-1\n\n“quoted” 🔥' };
      const id = await consoleChat.chat.uploadFile('inc-1-a', file);
      expect(await consoleChat.messages('inc-1-a')).toMatchObject([
        { id: Number(id), body: { visibility: 'channel', text: '📄 inc-1-postmortem.md', file } },
      ]);
    });

    it('writes outside a transaction another caller holds open: it lands after it, and stays when it rolls back', async () => {
      const consoleChat = open();
      await consoleChat.rooms();
      const other = await openTransaction(t);
      const posted = consoleChat.chat.post('incidents', channelReply('kept'));
      await other.rollBack();
      await posted;
      expect((await consoleChat.messages('incidents')).map((m) => m.body.text)).toEqual(['kept']);
    });

    it.runIf(dialect.name === 'postgres')(
      'replicas open the shared rooms together, and only one of them gets a room name',
      async () => {
        const other = await t.replica!();
        try {
          const here = open();
          const there = open(other);
          const made = await Promise.allSettled([here.chat.createRoom('inc-1-a'), there.chat.createRoom('inc-1-a')]);
          expect(made.map((m) => m.status).sort()).toEqual(['fulfilled', 'rejected']);
          expect(made.find((m) => m.status === 'rejected')).toMatchObject({ reason: expect.any(RoomNameTaken) });
          await Promise.all([here.chat.invite('inc-1-a', ['alice']), there.chat.invite('inc-1-a', ['alice'])]);
          expect((await there.rooms()).map((r) => r.id)).toEqual(['incidents', 'escalations', 'inc-1-a']);
          expect(await here.members('inc-1-a')).toEqual(['alice']);
        } finally {
          await other.close();
        }
      },
    );
  });
}

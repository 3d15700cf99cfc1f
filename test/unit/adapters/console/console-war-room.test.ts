// An incident's console room is made with the incident's mark as its topic, in one statement: a creation repeated
// after its record was lost gets that room back; any other room of the name (another incident's, one people opened
// by posting in it, one made without an incident) is still "name taken". On each database; on PostgreSQL also two
// replicas making the same incident's room at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleChat } from '../../../../src/adapters/console/console-chat.js';
import { RoomNameTaken, roomMark } from '../../../../src/ports/chat.js';
import { channelReply } from '../../../../src/ports/reply.js';
import { consoleStoreOf } from '../../../support/chat-stores.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

const INC_1 = { key: 'INC-1', declaredAt: Date.parse('2026-01-01T10:00:03.250Z') };

describe('the mark of a war room', () => {
  it('is the key and the declaration time to the second, in UTC', () => {
    expect(roomMark(INC_1)).toBe('War room of INC-1, declared 2026-01-01 10:00:03 UTC');
  });
});

for (const dialect of dialects()) {
  describe(`console war rooms on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    beforeEach(async () => {
      t = await dialect.open();
    });
    afterEach(() => t.close());

    const open = (store = t) => createConsoleChat(consoleStoreOf(store), t.clock);

    it('gives the incident’s room back when asked again, and nobody else’s', async () => {
      const consoleChat = open();
      const room = await consoleChat.chat.createRoom('inc-1-a', { incident: INC_1 });
      expect(room).toEqual({ id: 'inc-1-a', name: 'inc-1-a' });
      expect((await consoleChat.rooms()).find((r) => r.id === 'inc-1-a')?.topic).toBe(roomMark(INC_1));
      // Asked again (the first answer was lost): the same room.
      expect(await consoleChat.chat.createRoom('inc-1-a', { incident: INC_1 })).toEqual(room);
      // Another incident INC-1 (declared at another time), or a caller without an incident: taken.
      await expect(
        consoleChat.chat.createRoom('inc-1-a', { incident: { ...INC_1, declaredAt: INC_1.declaredAt + 60_000 } }),
      ).rejects.toBeInstanceOf(RoomNameTaken);
      await expect(consoleChat.chat.createRoom('inc-1-a')).rejects.toBeInstanceOf(RoomNameTaken);
      // Once the topic job has written the incident's topic, the room is recorded: the mark is gone with it.
      await consoleChat.chat.setTopic('inc-1-a', 'SEV1 · investigating');
      await expect(consoleChat.chat.createRoom('inc-1-a', { incident: INC_1 })).rejects.toBeInstanceOf(RoomNameTaken);
    });

    it('a room people opened by posting in it, or one made without an incident, is not the incident’s', async () => {
      const consoleChat = open();
      await consoleChat.say('inc-1-a', 'mallory', 'first!');
      await consoleChat.chat.post('inc-1-b', channelReply('hello'));
      await consoleChat.chat.createRoom('inc-1-c');
      for (const name of ['inc-1-a', 'inc-1-b', 'inc-1-c'])
        await expect(consoleChat.chat.createRoom(name, { incident: INC_1 }), name).rejects.toBeInstanceOf(
          RoomNameTaken,
        );
    });

    it.runIf(dialect.name === 'postgres')(
      'two replicas making the same incident’s room at once both get that one room',
      async () => {
        const other = await t.replica!();
        try {
          const here = open();
          const there = open(other);
          const made = await Promise.all([
            here.chat.createRoom('inc-1-a', { incident: INC_1 }),
            there.chat.createRoom('inc-1-a', { incident: INC_1 }),
          ]);
          expect(made).toEqual([
            { id: 'inc-1-a', name: 'inc-1-a' },
            { id: 'inc-1-a', name: 'inc-1-a' },
          ]);
          expect((await there.rooms()).map((r) => r.id)).toEqual(['incidents', 'escalations', 'inc-1-a']);
        } finally {
          await other.close();
        }
      },
    );
  });
}

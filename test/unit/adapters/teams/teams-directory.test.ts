// What the Teams adapter remembers, on each database: conversation references and users, written
// over when seen again; the names a reply's mentions need.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  namesFor,
  type KnownConversation,
  type TeamsDirectory,
} from '../../../../src/adapters/teams/teams-directory.js';
import { channelReply, mention } from '../../../../src/ports/reply.js';
import { openTransaction, teamsDirectoryOf } from '../../../support/chat-stores.js';
import { dialects, type StoreUnderTest } from '../../../support/stores.js';

const channel = (id: string, serviceUrl = 'https://smba.trafficmanager.net/emea/'): KnownConversation => ({
  id,
  kind: 'channel',
  channelId: id.split(';')[0]!,
  teamId: '19:team@thread.tacv2',
  reference: {
    serviceUrl,
    channelId: 'msteams',
    bot: { id: '28:bot', name: 'firelane' },
    conversation: { id, tenantId: 'tenant-1', conversationType: 'channel', isGroup: true },
  },
});

for (const dialect of dialects()) {
  describe(`Teams directory on ${dialect.name}`, () => {
    let t: StoreUnderTest;
    let directory: TeamsDirectory;
    beforeEach(async () => {
      t = await dialect.open();
      directory = teamsDirectoryOf(t);
    });
    afterEach(() => t.close());

    it('remembers a conversation, and what it last saw of it', async () => {
      expect(await directory.conversation('19:a@thread.tacv2')).toBeUndefined();
      expect(await directory.latest()).toBeUndefined();
      await directory.rememberConversation(channel('19:a@thread.tacv2'));
      t.clock.advance(1000);
      await directory.rememberConversation(channel('19:b@thread.tacv2'));
      expect(await directory.conversation('19:a@thread.tacv2')).toEqual(channel('19:a@thread.tacv2'));
      expect((await directory.latest())?.id).toBe('19:b@thread.tacv2');

      t.clock.advance(1000);
      const moved = channel('19:a@thread.tacv2', 'https://smba.trafficmanager.net/amer/');
      await directory.rememberConversation(moved);
      expect(await directory.conversation('19:a@thread.tacv2')).toEqual(moved);
      expect(await directory.latest()).toEqual(moved);
    });

    it('remembers a user; seeing them again keeps their personal chat', async () => {
      expect(await directory.user('aad-1')).toBeUndefined();
      await directory.setPersonalConversation('aad-1', 'a:personal'); // nobody to set it on
      expect(await directory.user('aad-1')).toBeUndefined();

      await directory.rememberUser({ aadObjectId: 'aad-1', teamsId: '29:one', name: 'Alice', tenantId: 'tenant-1' });
      await directory.setPersonalConversation('aad-1', 'a:personal');
      await directory.rememberUser({ aadObjectId: 'aad-1', teamsId: '29:one', name: 'Alice A.', tenantId: null });
      expect(await directory.user('aad-1')).toEqual({
        aadObjectId: 'aad-1',
        teamsId: '29:one',
        name: 'Alice A.',
        tenantId: null,
        personalConversationId: 'a:personal',
      });
    });

    it('names the people a reply mentions, as far as it has seen them', async () => {
      await directory.rememberUser({ aadObjectId: 'aad-1', teamsId: '29:one', name: 'Alice', tenantId: null });
      await directory.rememberUser({ aadObjectId: 'aad-2', teamsId: '29:two', name: null, tenantId: null });
      await directory.rememberUser({ aadObjectId: 'aad-3', teamsId: '29:three', name: 'Carol', tenantId: null });
      const reply = channelReply(`${mention('aad-1')} and ${mention('aad-2')}`, {
        title: 'INC-1',
        fields: [{ label: 'Commander', value: mention('aad-4') }],
      });
      const nameOf = await namesFor(directory, reply);
      expect(['aad-1', 'aad-2', 'aad-3', 'aad-4'].map(nameOf)).toEqual(['Alice', undefined, undefined, undefined]);
    });

    it('writes outside a transaction another caller holds open: after it, and kept when it rolls back', async () => {
      const other = await openTransaction(t);
      const remembered = directory.rememberConversation(channel('19:a@thread.tacv2'));
      await other.rollBack();
      await remembered;
      expect(await directory.conversation('19:a@thread.tacv2')).toEqual(channel('19:a@thread.tacv2'));
    });

    it.runIf(dialect.name === 'postgres')(
      'replicas remembering the same conversation and user at once both succeed',
      async () => {
        const other = await t.replica!();
        try {
          const there = teamsDirectoryOf(other);
          const user = { aadObjectId: 'aad-1', teamsId: '29:one', name: 'Alice', tenantId: null };
          await Promise.all(
            Array.from({ length: 5 }, () => [
              directory.rememberConversation(channel('19:a@thread.tacv2')),
              there.rememberConversation(channel('19:a@thread.tacv2')),
              directory.rememberUser(user),
              there.rememberUser(user),
            ]).flat(),
          );
          expect(await there.conversation('19:a@thread.tacv2')).toEqual(channel('19:a@thread.tacv2'));
          expect(await directory.user('aad-1')).toMatchObject(user);
        } finally {
          await other.close();
        }
      },
    );
  });
}

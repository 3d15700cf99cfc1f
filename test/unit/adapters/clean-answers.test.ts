// A port's answers and failures cleaned as they come in (adapters/clean-answers.ts).
import { describe, expect, it } from 'vitest';
import { cleanAnswers } from '../../../src/adapters/clean-answers.js';
import { DeliveryRefused } from '../../../src/ports/chat.js';

describe('cleanAnswers', () => {
  const port = {
    room: 'C0\u0000X',
    async readMessage(_room: string, id: string) {
      return { text: `said\u0000 ${id}`, author: 'U0\u001bBOB' };
    },
    count: () => ['a\u0000'],
    async post(): Promise<string> {
      throw new DeliveryRefused('C0X', 'channel\u0000_not_found');
    },
    fail(): never {
      throw new Error('bad\u0000 thing');
    },
  };

  it('cleans what methods answer, sync or async, and passes other properties through', async () => {
    const clean = cleanAnswers(port);
    expect(await clean.readMessage('C0X', '1.2')).toEqual({ text: 'said 1.2', author: 'U0BOB' });
    expect(clean.count()).toEqual(['a']);
    expect(clean.room).toBe('C0\u0000X');
  });

  it('cleans the message and string fields of a failure, keeping its type', async () => {
    const clean = cleanAnswers(port);
    const refused = await clean.post().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DeliveryRefused);
    expect(refused).toMatchObject({ reason: 'channel_not_found', message: 'cannot post in C0X: channel_not_found' });
    expect(() => clean.fail()).toThrow(/^bad thing$/);
  });

  it('uses a method replaced on the port after it was wrapped', async () => {
    const target = { ...port };
    const clean = cleanAnswers(target);
    target.readMessage = async () => ({ text: 'new\u0000', author: 'U0' });
    expect(await clean.readMessage('C0X', '1')).toEqual({ text: 'new', author: 'U0' });
  });
});

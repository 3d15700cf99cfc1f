// The ChatPort while Teams is off (no MICROSOFT_APP_ID outside local mode and without
// FIRELANE_TEAMS_EMULATOR): nothing is sent anywhere, every post is refused with the reason, and the
// SDK is never loaded.
import { DeliveryRefused, type ChatPort } from '../../ports/chat.js';

const REASON = 'Teams is off: MICROSOFT_APP_ID is not set';

export function createTeamsOffChat(rooms: {
  announceRoom?: string | undefined;
  escalationRoom?: string | undefined;
}): ChatPort {
  const refuse = async (roomId: string): Promise<never> => {
    throw new DeliveryRefused(roomId, REASON);
  };
  return {
    announceRoom: rooms.announceRoom,
    escalationRoom: rooms.escalationRoom,
    setTopic: refuse,
    createRoom: async (_name, options) => refuse(options?.origin ?? ''),
    invite: refuse,
    post: refuse,
    update: refuse,
    pin: refuse,
    readMessage: refuse,
    uploadFile: refuse,
  };
}

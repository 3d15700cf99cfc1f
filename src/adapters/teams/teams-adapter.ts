// Microsoft Teams as one piece for the composition root: which mode it runs in (tokens verified with
// an app id; the loopback Emulator in local mode or with FIRELANE_TEAMS_EMULATOR=1; off otherwise),
// the ChatPort, and the handler of POST /api/messages. The SDK is loaded at start-up with an app id
// and, in emulator mode, on the first request or Teams job: it is a quarter of a second to load.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Router } from '../../commands/router.js';
import type { TeamsAppType } from '../../config/types.js';
import type { Metrics } from '../../metrics.js';
import type { ChatPort } from '../../ports/chat.js';
import type { TeamsDirectory } from './teams-directory.js';
import type { TeamsAppOptions, TeamsHttp } from './teams-app.js';
import { createTeamsOffChat } from './teams-off.js';
import { refusedWithoutAppId, TEAMS_PATH } from './teams-path.js';

export { TEAMS_PATH };

export interface TeamsAdapterOptions {
  /** From MICROSOFT_APP_*; absent without an app id. */
  app?: { appId: string; appPassword?: string; tenantId?: string; appType?: TeamsAppType };
  /** No chat credentials at all: the Emulator may talk to firelane from this machine. */
  localMode: boolean;
  /** FIRELANE_TEAMS_EMULATOR=1. */
  emulator: boolean;
  /** Test overrides: the Bot Framework identity on loopback, tokens without a login, the fake Bot Connector's URL. */
  overrides?: Pick<TeamsAppOptions, 'identity' | 'tokenSource' | 'serviceUrls'>;
  announceChannel?: string;
  escalationChannel?: string;
  router: Router;
  directory: TeamsDirectory;
  logger: Logger;
  metrics: Metrics;
}

export interface TeamsAdapter {
  chat: ChatPort;
  /** POST /api/messages, or undefined when Teams is off (the path then answers 404). */
  handle?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

export async function createTeamsAdapter(options: TeamsAdapterOptions): Promise<TeamsAdapter> {
  const { app, logger } = options;
  const mode = app ? 'verified' : options.localMode || options.emulator ? 'emulator' : 'off';
  const rooms = { announceRoom: options.announceChannel, escalationRoom: options.escalationChannel };
  if (mode === 'verified' && options.emulator)
    logger.warn(
      "FIRELANE_TEAMS_EMULATOR=1 is ignored: MICROSOFT_APP_ID is set, so every Teams activity's token is verified",
    );
  if (mode === 'emulator' && options.emulator) {
    logger.warn(
      `FIRELANE_TEAMS_EMULATOR=1 (development only): no MICROSOFT_APP_ID, so POST ${TEAMS_PATH} accepts only loopback traffic (Bot Framework Emulator), unauthenticated`,
    );
  } else if (mode === 'emulator')
    logger.info(
      `Teams: no MICROSOFT_APP_ID, so POST ${TEAMS_PATH} accepts only loopback traffic (Bot Framework Emulator)`,
    );
  if (mode === 'off') {
    logger.info(`Teams: off (no MICROSOFT_APP_ID): POST ${TEAMS_PATH} answers 404`);
    return { chat: createTeamsOffChat(rooms) };
  }

  let teams: Promise<TeamsHttp> | undefined;
  const load = () =>
    (teams ??= import('./teams-app.js').then(({ createTeamsApp }) =>
      createTeamsApp({
        ...(app && { appId: app.appId }),
        ...(app?.appPassword && { appPassword: app.appPassword }),
        ...(app?.tenantId && { appTenantId: app.tenantId }),
        ...(app?.appType && { appType: app.appType }),
        ...options.overrides,
        router: options.router,
        directory: options.directory,
        logger,
        metrics: options.metrics,
        ...(options.announceChannel && { announceChannel: options.announceChannel }),
        ...(options.escalationChannel && { escalationChannel: options.escalationChannel }),
      }),
    ));
  if (mode === 'verified') await load();
  const chat = async () => (await load()).chat;
  return {
    chat: {
      ...rooms,
      setTopic: async (...args) => (await chat()).setTopic(...args),
      createRoom: async (...args) => (await chat()).createRoom(...args),
      invite: async (...args) => (await chat()).invite(...args),
      post: async (...args) => (await chat()).post(...args),
      update: async (...args) => (await chat()).update(...args),
      pin: async (...args) => (await chat()).pin(...args),
      readMessage: async (...args) => (await chat()).readMessage(...args),
      uploadFile: async (...args) => (await chat()).uploadFile(...args),
    },
    async handle(req, res) {
      // Refused before the SDK is loaded: traffic from elsewhere cannot make an emulator-only install load it.
      if (mode === 'emulator' && refusedWithoutAppId(req, res, logger)) return;
      await (await load()).handle(req, res);
    },
  };
}

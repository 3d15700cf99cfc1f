// The Microsoft 365 Agents SDK's CloudAdapter as firelane uses it: outbound credentials from
// MICROSOFT_APP_* only (never from the SDK's own environment variables), every Bot Connector client
// checked against firelane's service URL policy, and references stored in the Bot Framework wire
// shape (`bot`, as botbuilder stored them) converted to the SDK's (`agent`).
import {
  CloudAdapter,
  ConnectionManager,
  MsalConnectionManager,
  type AuthConfiguration,
  type AuthProvider,
  type Connections,
} from '@microsoft/agents-hosting';
import type { ConversationReference } from '@microsoft/agents-activity';
import type { StoredReference } from './teams-directory.js';
import type { ServiceUrlPolicy } from './service-urls.js';

/** Outbound tokens for a scope (tests: a fixed token instead of a login at Entra ID). */
export type TokenSource = (scope: string) => Promise<string>;

export interface BotAdapterOptions {
  /** MICROSOFT_APP_ID; none in emulator mode (then nothing is signed). */
  appId?: string;
  appPassword?: string;
  tenantId?: string;
  appType?: string;
  tokenSource?: TokenSource;
  policy: ServiceUrlPolicy;
}

/** The audience of every Bot Connector token. */
export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com';

const CONNECTION = 'serviceConnection';

/** An AuthProvider that only hands out Bot Connector tokens; firelane uses no user sign-in or agentic identities. */
function providerFrom(source: TokenSource): AuthProvider {
  const unsupported = async (): Promise<never> => {
    throw new Error('firelane uses Bot Connector tokens only');
  };
  return {
    getAccessToken: (configOrScope: AuthConfiguration | string, scope?: string) =>
      source(typeof configOrScope === 'string' ? configOrScope : (scope ?? BOT_FRAMEWORK_SCOPE)),
    getAgenticApplicationToken: unsupported,
    getAgenticInstanceToken: unsupported,
    getAgenticUserToken: unsupported,
    acquireTokenOnBehalfOf: unsupported,
  } as AuthProvider;
}

export function createBotAdapter(options: BotAdapterOptions): CloudAdapter {
  const settings: AuthConfiguration = {
    // The SDK refuses to start without a client id when NODE_ENV=production (the container); in
    // emulator mode nothing is signed, so a placeholder only satisfies that check.
    clientId: options.appId || 'firelane-emulator',
    ...(options.appPassword && { clientSecret: options.appPassword }),
    ...(options.tenantId && { tenantId: options.tenantId }),
    ...(options.appType === 'UserAssignedMSI' && { authType: 'UserManagedIdentity' as AuthConfiguration['authType'] }),
  };
  // Passing the connection explicitly keeps the SDK from reading Connections__* from the environment.
  const connections = new Map([[CONNECTION, settings]]);
  const connectionsMap = [{ serviceUrl: '*', connection: CONNECTION }];
  const adapter = new CloudAdapter(
    { ...settings, connections, connectionsMap },
    undefined,
    undefined,
    { emitStackTrace: false, validateServiceUrl: true },
    options.policy,
  );
  const source = options.tokenSource ?? (options.appId ? undefined : async () => '');
  const manager: Connections = source
    ? new ConnectionManager(() => providerFrom(source), connections, connectionsMap)
    : new MsalConnectionManager(connections, connectionsMap);
  adapter.connectionManager = manager;
  return adapter;
}

/** A stored reference (Bot Framework wire shape) as the SDK takes it. */
export function toSdkReference(stored: StoredReference): ConversationReference {
  const { bot, agent, ...rest } = stored as StoredReference & { agent?: ConversationReference['agent'] };
  return { ...(rest as Omit<ConversationReference, 'agent'>), agent: agent ?? bot ?? null };
}

/** The SDK's reference as stored: `bot`, the wire name, so older rows and new ones read the same. */
export function toStoredReference(reference: Partial<ConversationReference>): StoredReference {
  const { agent, activityId: _activityId, ...rest } = reference;
  return {
    ...(rest as StoredReference),
    ...(agent && { bot: { id: agent.id ?? '', ...(agent.name && { name: agent.name }) } }),
  };
}

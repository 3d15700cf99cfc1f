// Helpers for the Teams integration tests: a firelane with Teams on (emulator mode, or an app id against the
// loopback identity kit), the fake Bot Connector, and activities POSTed as Teams posts them.
import { expect } from 'vitest';
import type { Logger } from 'pino';
import {
  adaptiveCards,
  startFakeBotConnector,
  type FakeActivity,
  type FakeBotConnector,
} from '../fakes/fake-bot-connector.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { startBotAuthServer, type BotAuthKit } from '../support/bot-auth.js';
import { startHarness, type Harness } from '../support/harness.js';
import type { createManualClock } from '../../src/ports/clock.js';
import { IMAGE, PAYMENTS } from './deploy-config.js';

export const TENANT = 'tenant-1';
export const TEAM = '19:team-ops@thread.tacv2';
export const GENERAL = '19:general@thread.tacv2';
export const INCIDENTS = '19:incidents@thread.tacv2';
export const BOT = { id: '28:firelane-bot', name: 'firelane' };
export const APP_ID = 'app-123';
/** AAD object ids are GUIDs: a bare GUID in approvers and responders means a Teams user. */
export const AAD = {
  alice: '00000000-0000-4000-8000-0000000a11ce',
  lea: '00000000-0000-4000-8000-00000000001e',
  bob: '00000000-0000-4000-8000-000000000b0b',
  ghost: '00000000-0000-4000-8000-0000000000ff',
};
export const USERS = {
  alice: { id: '29:alice', aadObjectId: AAD.alice, name: 'Alice Dev' },
  lea: { id: '29:lea', aadObjectId: AAD.lea, name: 'Lea Lead' },
  bob: { id: '29:bob', aadObjectId: AAD.bob, name: 'Bob Bystander' },
};
export type User = (typeof USERS)[keyof typeof USERS];

export const YAML = `incidents:
  announceChannel: C0INCIDENTS
  teams:
    announceChannel: "${INCIDENTS}"
  severities:
    sev1: { reminderEvery: 15m, escalateAfterMissed: 2, responders: [${AAD.lea}, ${AAD.ghost}] }
services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ${IMAGE} }
    healthCheck: { window: 1s }
approvals:
  production: { approvers: [${AAD.lea}, ${AAD.alice}], required: 1 }
`;

export interface TeamsRig {
  h: Harness;
  connector: FakeBotConnector;
  /** The identity kit, in app-id mode. */
  auth?: BotAuthKit;
  send(options?: SendOptions): Promise<{ status: number; body: string; contentType: string | null }>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** MICROSOFT_APP_ID (with MICROSOFT_APP_PASSWORD); without it, emulator mode. */
  appId?: string;
  /** MICROSOFT_APP_TENANT_ID and MICROSOFT_APP_TYPE=SingleTenant. */
  tenantId?: string;
  /** Environment on top (e.g. FIRELANE_TEAMS_EMULATOR, or no Slack for local mode). Default: FIRELANE_TEAMS_EMULATOR=1 without an app id. */
  env?: Record<string, string>;
  /** false: do not allow the fake Bot Connector's URL explicitly (app-id mode). */
  allowConnector?: boolean;
  clock?: ReturnType<typeof createManualClock>;
  logger?: Logger;
  /** Skip the conversationUpdate that introduces the channel. */
  quiet?: boolean;
}

export interface SendOptions {
  type?: string;
  name?: string;
  text?: string;
  value?: Record<string, unknown>;
  from?: User;
  conversation?: string;
  personal?: boolean;
  id?: string;
  mentions?: User[];
  /** A token to send instead of a good one; null: no Authorization header. */
  token?: string | null;
  serviceUrl?: string;
  /** The tenant in channelData and conversation (default TENANT); null: none at all. */
  tenant?: string | null;
  /** A different tenant in conversation.tenantId only. */
  conversationTenant?: string;
  headers?: Record<string, string>;
  /** Merged over the activity. */
  extra?: Record<string, unknown>;
}

let n = 0;

export async function startTeams(options: StartOptions = {}): Promise<TeamsRig> {
  const connector = await startFakeBotConnector({ requireAuth: options.appId !== undefined });
  const cluster = createMemoryCluster({ rolloutPolls: 2 });
  cluster.addDeployment({
    ...PAYMENTS,
    name: 'payments',
    images: { app: `${IMAGE}:v2.1.0` },
    history: [{ app: `${IMAGE}:v2.0.0` }],
    replicas: 2,
  });
  const auth = options.appId !== undefined ? await startBotAuthServer() : undefined;
  const env: Record<string, string> = options.appId
    ? {
        MICROSOFT_APP_ID: options.appId,
        MICROSOFT_APP_PASSWORD: 'secret',
        ...(options.tenantId && { MICROSOFT_APP_TENANT_ID: options.tenantId, MICROSOFT_APP_TYPE: 'SingleTenant' }),
      }
    : { FIRELANE_TEAMS_EMULATOR: '1' };
  const h = await startHarness({
    configYaml: YAML,
    cluster,
    deploy: { pollIntervalMs: 5 },
    env: { ...env, ...options.env },
    ...(options.logger && { logger: options.logger }),
    ...(options.clock && { clock: options.clock, reminderTicker: false }),
    ...(auth && {
      teams: {
        identity: auth.identity,
        tokenSource: auth.tokenSource(),
        ...(options.allowConnector !== false && { serviceUrls: [connector.url] }),
      },
    }),
  });
  // The team's members, as the Bot Connector knows them (Lea is in the team; the ghost is not).
  for (const user of Object.values(USERS))
    connector.addMember(GENERAL, { id: user.id, name: user.name, aadObjectId: user.aadObjectId });

  async function send(o: SendOptions = {}) {
    const from = o.from ?? USERS.alice;
    const conversation = o.conversation ?? GENERAL;
    const serviceUrl = o.serviceUrl ?? connector.url;
    const tenant = o.tenant === undefined ? TENANT : o.tenant;
    const mentionEntities = [
      ...(o.text !== undefined && !o.personal ? [{ type: 'mention', text: '<at>firelane</at>', mentioned: BOT }] : []),
      ...(o.mentions ?? []).map((u) => ({
        type: 'mention',
        text: `<at>${u.name}</at>`,
        mentioned: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
      })),
    ];
    const tenantOfConversation = o.conversationTenant ?? tenant;
    const activity = {
      type: o.type ?? 'message',
      ...(o.name && { name: o.name }),
      id: o.id ?? `1700000000${String(++n).padStart(3, '0')}`,
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl,
      from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
      recipient: BOT,
      conversation: o.personal
        ? {
            id: `a:personal-${from.aadObjectId}`,
            conversationType: 'personal',
            ...(tenantOfConversation && { tenantId: tenantOfConversation }),
          }
        : {
            id: conversation,
            conversationType: 'channel',
            isGroup: true,
            ...(tenantOfConversation && { tenantId: tenantOfConversation }),
          },
      channelData: o.personal
        ? { ...(tenant && { tenant: { id: tenant } }) }
        : {
            ...(tenant && { tenant: { id: tenant } }),
            team: { id: TEAM, name: 'Ops' },
            channel: { id: conversation.split(';')[0] },
          },
      ...(o.text !== undefined && { text: o.personal ? o.text : `<at>firelane</at> ${o.text}`, textFormat: 'plain' }),
      ...(o.value && { value: o.value }),
      entities: mentionEntities,
      ...o.extra,
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
    if (o.token !== null && auth)
      headers.authorization = `Bearer ${o.token ?? auth.signActivityToken({ appId: options.appId ?? APP_ID, serviceUrl })}`;
    const response = await fetch(`${h.url}/api/messages`, { method: 'POST', headers, body: JSON.stringify(activity) });
    return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
  }

  // The channel the bot was added to (Teams sends conversationUpdate), so it knows the service URL and team.
  if (!options.quiet) expect((await send({ type: 'conversationUpdate', conversation: GENERAL })).status).toBe(200);
  return {
    h,
    connector,
    ...(auth && { auth }),
    send,
    async close() {
      await h.close();
      await connector.close();
      await auth?.close();
    },
  };
}

export const texts = (activities: FakeActivity[]) => activities.map((a) => a.text ?? JSON.stringify(adaptiveCards(a)));
export const cardText = (activity: FakeActivity) => JSON.stringify(adaptiveCards(activity));
/** Everything the bot said in personal (1:1) chats. */
export const personalMessages = (connector: FakeBotConnector) =>
  connector
    .conversations()
    .filter((c) => c.kind === 'personal')
    .flatMap((c) => connector.messagesIn(c.id));
export const submit = (activity: FakeActivity, title: string) => {
  const action = (adaptiveCards(activity)[0]!.actions as Array<{ title: string; data: Record<string, unknown> }>).find(
    (a) => a.title === title,
  );
  expect(action, `a ${title} button`).toBeDefined();
  return action!.data;
};

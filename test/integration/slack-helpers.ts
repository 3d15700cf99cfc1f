// Helpers for the Slack integration tests: read what reached the fake Slack and what firelane stored.
import { expect } from 'vitest';
import { signedHeaders } from '../support/slack-signing.js';
import { SIGNING_SECRET, type Harness } from '../support/harness.js';
import type { FakeMessage } from '../fakes/fake-slack.js';
import type { Incident } from '../../src/domain/incident.js';
import { queryOne } from '../support/test-store.js';

const count = async (h: Harness, table: string): Promise<number> =>
  (await queryOne<{ n: number }>(h.firelane, `select count(*) n from ${table}`))!.n;

/** Everything a bad request must leave alone: stored rows, queued work, Slack traffic. */
export async function snapshot(h: Harness) {
  const { queued, running, dead } = await h.firelane.store.jobs.depth();
  return {
    incidents: await count(h, 'incidents'),
    timeline: await count(h, 'timeline_events'),
    jobs: await count(h, 'jobs'),
    receipts: await count(h, 'receipts'),
    depth: { queued, running, dead },
    slackCalls: h.slack.calls.length,
    channels: h.slack.channels.size,
    messages: h.slack.messages.length,
  };
}

export const timelineCount = (h: Harness) => count(h, 'timeline_events');

/** The one incident with this number, as stored. */
export async function incident(h: Harness, id: number): Promise<Incident> {
  const found = await h.firelane.store.incidents.get(id);
  expect(found, `INC-${id} is stored`).toBeDefined();
  return found!;
}

/** Every string inside a Block Kit tree (mrkdwn and plain_text alike). */
export function blockTexts(blocks: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string') return;
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'text' && typeof v === 'string') out.push(v);
        else walk(v);
      }
    }
  };
  walk(blocks);
  return out;
}

/** Text and blocks of a message as one searchable string. */
export const messageJson = (m: { text?: string | undefined; blocks?: unknown[] | undefined }) =>
  JSON.stringify({ text: m.text, blocks: m.blocks });

/** The value of a card field (`*Label*\nvalue`) in posted blocks. */
export function cardField(blocks: unknown[] | undefined, label: string): string | undefined {
  const prefix = `*${label}*\n`;
  return blockTexts(blocks)
    .find((t) => t.startsWith(prefix))
    ?.slice(prefix.length);
}

/** The buttons of posted blocks. */
export function buttons(
  blocks: unknown[] | undefined,
): Array<{ action_id: string; value: string; text: { text: string } }> {
  return (blocks ?? []).flatMap((b) => {
    const block = b as { type?: string; elements?: unknown[] };
    return block.type === 'actions'
      ? ((block.elements ?? []) as Array<{ action_id: string; value: string; text: { text: string } }>)
      : [];
  });
}

/** The incident card as it is in the war room now (the fake applies chat.update in place). */
export async function cardMessage(h: Harness, id: number): Promise<FakeMessage> {
  const inc = await incident(h, id);
  expect(inc.roomId, `INC-${id} has a war room`).toBeTruthy();
  expect(inc.cardRef, `INC-${id} has a card`).toBeTruthy();
  const card = h.slack.messages.find((m) => m.channel === inc.roomId && m.ts === inc.cardRef);
  expect(card, 'the card message exists in the war room').toBeDefined();
  return card!;
}

/** The whole visible content of an ack or response body (fallback text plus blocks). */
export const ackText = (body: { text?: string; blocks?: unknown[] }) =>
  [body.text ?? '', ...blockTexts(body.blocks)].join('\n');

/** Declares, drains, and returns the stored incident. */
export async function declare(
  h: Harness,
  text: string,
  options: Parameters<Harness['command']>[1] = {},
): Promise<Incident> {
  const ack = await h.command(text, options);
  expect(ack.status).toBe(200);
  expect(ack.body.response_type, ackText(ack.body)).toBe('in_channel');
  const id = Number(/INC-(\d+)/.exec(ack.body.text)?.[1]);
  await h.drain();
  return await incident(h, id);
}

/** A slash-command form body as Slack sends it. */
export function commandForm(text: string, fields: Record<string, string> = {}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0001',
    team_domain: 'acme',
    channel_id: 'C0GENERAL',
    channel_name: 'general',
    user_id: 'U0ALICE',
    user_name: 'alice',
    command: '/incident',
    text,
    api_app_id: 'A0FIRELANE',
    response_url: 'http://127.0.0.1:9/response/x',
    trigger_id: `trigger-${Math.random().toString(36).slice(2)}`,
    ...fields,
  }).toString();
}

/** POSTs a signed form with extra headers (Slack retries carry X-Slack-Retry-Num). */
export async function postSigned(h: Harness, form: string, extraHeaders: Record<string, string> = {}) {
  const res = await h.post(form, { ...signedHeaders(SIGNING_SECRET, form), ...extraHeaders });
  return {
    status: res.status,
    body: res.text
      ? (JSON.parse(res.text) as { response_type?: string; text?: string; blocks?: unknown[] })
      : undefined,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Drains until the job with this key is finished (done or dead), waiting out its backoff; bounded. */
export async function drainUntilSettled(h: Harness, key: string, timeoutMs = 4000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await h.drain();
    const job = await h.firelane.store.jobs.get(key);
    if (!job || job.status === 'done' || job.status === 'dead' || Date.now() > deadline)
      return job?.status ?? 'missing';
    await sleep(Math.max(1, Math.min(job.runAt - Date.now(), deadline - Date.now())) + 2);
  }
}

/** A view_submission of firelane's declare modal, shaped like Slack's (Bolt's ViewSubmitAction). */
export function declareSubmission(options: {
  viewId: string;
  title: string;
  description?: string | null;
  severity?: string;
  channel?: string;
  user?: string;
}) {
  return {
    type: 'view_submission',
    team: { id: 'T0001', domain: 'acme' },
    user: { id: options.user ?? 'U0ALICE', name: 'alice', team_id: 'T0001' },
    api_app_id: 'A0FIRELANE',
    token: 'deprecated',
    trigger_id: `trigger-${options.viewId}`,
    is_enterprise_install: false,
    response_urls: [],
    view: {
      id: options.viewId,
      team_id: 'T0001',
      type: 'modal',
      callback_id: 'firelane:declare',
      private_metadata: options.channel ?? 'C0GENERAL',
      app_id: 'A0FIRELANE',
      bot_id: 'BBOT',
      hash: '1712345678.abcdef',
      title: { type: 'plain_text', text: 'Declare an incident' },
      submit: { type: 'plain_text', text: 'Declare' },
      close: { type: 'plain_text', text: 'Cancel' },
      blocks: [],
      root_view_id: options.viewId,
      previous_view_id: null,
      clear_on_close: false,
      notify_on_close: false,
      state: {
        values: {
          severity: {
            value: {
              type: 'static_select',
              selected_option: { text: { type: 'plain_text', text: 'SEV1' }, value: options.severity ?? 'sev1' },
            },
          },
          title: { value: { type: 'plain_text_input', value: options.title } },
          description: { value: { type: 'plain_text_input', value: options.description ?? null } },
        },
      },
    },
  };
}

/** What a person sees of a Slack response: the text of its blocks (the `text` field is only the notification fallback). */
export function shownText(body: { blocks?: unknown[] }): string {
  return blockTexts(body.blocks ?? []).join('\n');
}

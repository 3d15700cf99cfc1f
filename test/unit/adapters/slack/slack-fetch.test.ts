// The WebClient on firelane's fetch (undici request()) against the loopback fake Slack: answers,
// API errors, rate limits, HTTP errors, timeouts and file uploads behave as with the global fetch.
import { ErrorCode, LogLevel, WebClient, type WebAPIHTTPError, type WebAPIRateLimitedError } from '@slack/web-api';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackFetch } from '../../../../src/adapters/slack/slack-fetch.js';
import { startFakeSlack, type FakeSlack } from '../../../fakes/fake-slack.js';

let slack: FakeSlack;
let client: WebClient;
/** Requests that went through firelane's undici pool (not the global fetch). */
let pooled: string[] = [];

beforeAll(async () => {
  slack = await startFakeSlack({ token: 'xoxb-test-token', channels: [{ id: 'C0GENERAL', name: 'general' }] });
  const counting = new Agent().compose((dispatch) => (options, handler) => {
    pooled.push(options.path);
    return dispatch(options, handler);
  });
  client = new WebClient('xoxb-test-token', {
    slackApiUrl: slack.apiUrl,
    fetch: createSlackFetch(counting),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
});
afterAll(() => slack.close());
beforeEach(() => {
  slack.reset();
  pooled = [];
});

describe("firelane's fetch for the Slack Web API", () => {
  it('sends the form body and token, and reads the answer with its headers', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'Payments *down*' } }];
    const result = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'Payments down', blocks });
    expect(result.ok).toBe(true);
    expect(result.ts).toMatch(/^\d+\.\d+$/);
    expect(slack.messagesIn('C0GENERAL')).toEqual([
      expect.objectContaining({ ts: result.ts, text: 'Payments down', blocks }),
    ]);
    expect(pooled).toEqual(['/api/chat.postMessage']);
  });

  it('turns {ok:false} into the platform error WebClient throws', async () => {
    await expect(client.chat.postMessage({ channel: 'C0NOWHERE', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'channel_not_found' },
    });
    const wrongToken = new WebClient('xoxb-wrong', {
      slackApiUrl: slack.apiUrl,
      fetch: createSlackFetch(),
      retryConfig: { retries: 0 },
    });
    await expect(wrongToken.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('passes a 429 with its Retry-After on, and an HTTP 500 with its status text', async () => {
    slack.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
    const limited = (await client.chat
      .postMessage({ channel: 'C0GENERAL', text: 'x' })
      .catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(limited.code).toBe(ErrorCode.RateLimitedError);
    expect(limited.retryAfter).toBe(7);
    slack.failNext('chat.postMessage', { status: 500 });
    const failed = (await client.chat
      .postMessage({ channel: 'C0GENERAL', text: 'x' })
      .catch((e: unknown) => e)) as WebAPIHTTPError;
    expect(failed.code).toBe(ErrorCode.HTTPError);
    expect(failed.statusCode).toBe(500);
    expect(failed.statusMessage).toBe('Internal Server Error');
  });

  it("gives up when the call takes longer than the client's timeout", async () => {
    const slow = await startFakeSlack({ token: 'xoxb-test-token', latencyMs: 500 });
    try {
      const impatient = new WebClient('xoxb-test-token', {
        slackApiUrl: slow.apiUrl,
        fetch: createSlackFetch(),
        timeout: 50,
        retryConfig: { retries: 0 },
        logLevel: LogLevel.ERROR,
      });
      const started = Date.now();
      await expect(impatient.auth.test()).rejects.toMatchObject({ code: ErrorCode.RequestError });
      expect(Date.now() - started).toBeLessThan(400);
    } finally {
      await slow.close();
    }
  });

  it('answers with what a Response offers WebClient: status, headers by any case, one read of the body', async () => {
    const slackFetch = createSlackFetch();
    const url = `${slack.apiUrl}auth.test`;
    const response = await slackFetch(url, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-test-token', 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect([response.status, response.statusText, response.ok, response.url]).toEqual([200, 'OK', true, url]);
    expect(response.headers.get('Content-Type')).toBe(response.headers.get('content-type'));
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-not-sent')).toBeNull();
    expect(Object.fromEntries(response.headers.entries())).toHaveProperty('content-type');
    expect(response.bodyUsed).toBe(false);
    expect(JSON.parse(await response.text())).toMatchObject({ ok: true, user_id: 'UBOT' });
    expect(response.bodyUsed).toBe(true);
    await expect(response.arrayBuffer()).rejects.toThrow(/already been read/);
  });

  it('uploads a file (multipart, through the global fetch)', async () => {
    const result = await client.filesUploadV2({
      channel_id: 'C0GENERAL',
      filename: 'postmortem.md',
      title: 'Postmortem',
      content: '# INC-1\nPayments down',
    });
    expect(result.ok).toBe(true);
    expect(slack.files).toEqual([
      expect.objectContaining({
        filename: 'postmortem.md',
        content: '# INC-1\nPayments down',
        channels: ['C0GENERAL'],
      }),
    ]);
    expect(pooled).toEqual(['/api/files.getUploadURLExternal', '/api/files.completeUploadExternal']);
  });
});

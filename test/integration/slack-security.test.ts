// Only requests signed by Slack, recently, over exactly this body get in; the probes and metrics answer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, startHarness, type Harness } from '../support/harness.js';
import { signedHeaders, slackSignature } from '../support/slack-signing.js';
import { commandForm, snapshot } from './slack-helpers.js';

const now = () => Math.floor(Date.now() / 1000);
const FORM = 'application/x-www-form-urlencoded';

describe('request signing', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => h?.close());

  const declareForm = (text = 'sev1 Payment gateway down') => commandForm(text);

  const refused: Array<{ name: string; request: () => { body: string; headers: Record<string, string> } }> = [
    {
      name: 'a bad signature',
      request: () => {
        const body = declareForm();
        return {
          body,
          headers: { ...signedHeaders(SIGNING_SECRET, body), 'x-slack-signature': `v0=${'0'.repeat(64)}` },
        };
      },
    },
    {
      name: 'a signature made with another secret',
      request: () => {
        const body = declareForm();
        return { body, headers: signedHeaders('not-the-signing-secret', body) };
      },
    },
    {
      name: 'no signature headers at all',
      request: () => ({ body: declareForm(), headers: { 'content-type': FORM } }),
    },
    {
      name: 'a timestamp but no signature',
      request: () => ({
        body: declareForm(),
        headers: { 'content-type': FORM, 'x-slack-request-timestamp': String(now()) },
      }),
    },
    {
      name: 'a signature but no timestamp',
      request: () => {
        const body = declareForm();
        return {
          body,
          headers: { 'content-type': FORM, 'x-slack-signature': slackSignature(SIGNING_SECRET, now(), body) },
        };
      },
    },
    {
      name: 'a correctly signed request 6 minutes old (replay)',
      request: () => {
        const body = declareForm();
        return { body, headers: signedHeaders(SIGNING_SECRET, body, now() - 6 * 60) };
      },
    },
    {
      name: 'a correctly signed request 6 minutes in the future',
      request: () => {
        const body = declareForm();
        return { body, headers: signedHeaders(SIGNING_SECRET, body, now() + 6 * 60) };
      },
    },
    {
      name: 'a valid signature over a different body',
      request: () => {
        const signed = declareForm('sev3 harmless');
        const headers = signedHeaders(SIGNING_SECRET, signed);
        return { body: declareForm('sev0 everything is on fire'), headers };
      },
    },
    {
      name: 'a non-numeric timestamp',
      request: () => {
        const body = declareForm();
        return {
          body,
          headers: {
            'content-type': FORM,
            'x-slack-request-timestamp': 'soon',
            'x-slack-signature': slackSignature(SIGNING_SECRET, now(), body),
          },
        };
      },
    },
  ];

  for (const c of refused) {
    it(`refuses ${c.name} with 401 and creates nothing`, async () => {
      const before = await snapshot(h);
      const { body, headers } = c.request();
      const res = await h.post(body, headers);
      expect(res.status).toBe(401);
      expect(res.text).not.toContain('INC-');
      await h.drain();
      expect(await snapshot(h)).toEqual(before);
      expect(await h.firelane.store.incidents.list()).toHaveLength(0);
    });
  }

  it("accepts a correctly signed request 4 minutes old (clock skew within Slack's window)", async () => {
    const body = declareForm();
    const res = await h.post(body, signedHeaders(SIGNING_SECRET, body, now() - 4 * 60));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ response_type: 'in_channel' });
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
  });

  it('refuses a signed interaction with a stale timestamp too', async () => {
    const before = await snapshot(h);
    const res = await h.interaction({ type: 'block_actions', actions: [] }, { timestamp: now() - 10 * 60 });
    expect(res.status).toBe(401);
    expect(await snapshot(h)).toEqual(before);
  });
});

describe('probes and metrics', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('/healthz and /readyz answer 200; /metrics reports ack latency and queue depth after a command', async () => {
    h = await startHarness();
    const health = await fetch(`${h.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);

    const ack = await h.command('sev1 Payment gateway down');
    expect(ack.status).toBe(200);
    const metrics = await fetch(`${h.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE firelane_ack_latency_seconds histogram');
    expect(text).toMatch(/firelane_ack_latency_seconds_count\{platform="slack",command="incident declare"\} 1\b/);
    expect(text).toMatch(/firelane_job_queue_depth\{status="queued"\} 1\b/);
    expect(text).toMatch(/firelane_commands_total\{platform="slack",command="incident declare",outcome="ok"\} 1\b/);
    expect(text).toMatch(/firelane_open_incidents\{severity="sev1"\} 1\b/);

    await h.drain();
    const drained = await (await fetch(`${h.url}/metrics`)).text();
    expect(drained).toMatch(/firelane_job_queue_depth\{status="queued"\} 0\b/);
  });

  it('unknown paths are 404 and wrong methods 405', async () => {
    h = await startHarness();
    expect((await fetch(`${h.url}/nope`)).status).toBe(404);
    expect((await fetch(`${h.url}/slack/events`)).status).toBe(405);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ANNOUNCE, startHarness, type Harness } from '../support/harness.js';

describe('declare over Slack (smoke)', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('acks a declaration and opens the war room from the job', async () => {
    h = await startHarness();
    const ack = await h.command('sev1 Payment gateway down', { user: 'U0ALICE' });
    expect(ack.status).toBe(200);
    expect(ack.body.response_type).toBe('in_channel');
    expect(ack.body.text).toContain('INC-1');
    expect(h.slack.callsTo('conversations.create')).toHaveLength(0);
    await h.drain();
    const room = h.slack.channelByName('inc-1-payment-gateway-down');
    expect(room).toBeDefined();
    expect([...room!.members].sort()).toEqual(['U0ALICE', 'U0ONCALL1', 'U0ONCALL2', 'UBOT']);
    expect(h.slack.pins).toHaveLength(1);
    expect(h.slack.messagesIn(ANNOUNCE)).toHaveLength(1);
  });
});

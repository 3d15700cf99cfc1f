// POST /alerts/alertmanager over the wire: authentication, validation, declare, duplicates (a retry
// and the other Alertmanager of an HA pair), the triage card and its Declare button, resolution.
import { afterEach, describe, expect, it } from 'vitest';
import { ANNOUNCE, buttonClick, DEFAULT_YAML, startHarness, type Harness } from '../support/harness.js';
import { buttons, cardField } from './slack-helpers.js';
import { ALERTS_TOKEN, postAlertmanager, probeFailure } from '../support/alerts.js';

const TOKEN = ALERTS_TOKEN;
const TRIAGE = 'C0TRIAGE';
const YAML = `${DEFAULT_YAML}alerts:
  triageChannel: ${TRIAGE}
  rules:
    - match: { severity: critical, alertname: "/Probe.*|PaymentsDown/" }
      service: "{{ labels.service }}"
      declare: sev1
    - match: { severity: warning }
`;

/** A warning no rule declares; its labels carry text meant to break out of Slack's markup. */
function diskWarning() {
  const labels = { alertname: 'DiskFilling', severity: 'warning', team: '<!channel> *ops* <@U0BOSS>' };
  return {
    receiver: 'firelane',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: 'Disk /var 90% full <!here>' },
        startsAt: '2026-12-07T13:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example.org:9090/graph?g0.expr=disk',
        fingerprint: 'bc97ff14869b13e3',
      },
    ],
    groupLabels: { alertname: 'DiskFilling' },
    commonLabels: labels,
    commonAnnotations: { summary: 'Disk /var 90% full <!here>' },
    externalURL: 'http://alertmanager-0.example.org:9093',
    version: '4',
    groupKey: '{}/{severity="warning"}:{alertname="DiskFilling"}',
    truncatedAlerts: 0,
  };
}

/** `token`: null sends no Authorization header. */
const alertJobs = async (h: Harness) => (await h.firelane.store.jobs.depth()).queued;

describe('POST /alerts/alertmanager', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('is not there (404) without FIRELANE_ALERTS_TOKEN or FIRELANE_ALERTS_HMAC_SECRET', async () => {
    h = await startHarness({ configYaml: YAML });
    expect((await postAlertmanager(h, probeFailure())).status).toBe(404);
  });

  it('refuses a missing or wrong token with 401 and stores nothing', async () => {
    h = await startHarness({ configYaml: YAML, env: { FIRELANE_ALERTS_TOKEN: TOKEN } });
    for (const token of [null, 'wrong', `${TOKEN}x`, '']) {
      const answer = await postAlertmanager(h, probeFailure(), token);
      expect(answer.status).toBe(401);
      expect(answer.text).toMatch(/^unauthorized/);
    }
    expect(await alertJobs(h)).toBe(0);
    // Only Grafana's HMAC secret set: Alertmanager cannot sign, so nothing it sends is authentic.
    await h.close();
    h = await startHarness({ configYaml: YAML, env: { FIRELANE_ALERTS_HMAC_SECRET: 'grafana-secret' } });
    expect((await postAlertmanager(h, probeFailure(), 'anything')).status).toBe(401);
  });

  it('answers 400 with the reason to a body that is not a version 4 payload, and stores nothing', async () => {
    h = await startHarness({ configYaml: YAML, env: { FIRELANE_ALERTS_TOKEN: TOKEN } });
    const notJson = await postAlertmanager(h, '{"receiver":');
    expect(notJson).toEqual({ status: 400, text: 'bad request: the body is not JSON\n' });
    const v3 = await postAlertmanager(h, { ...probeFailure(), version: '3' });
    expect(v3.status).toBe(400);
    expect(v3.text).toContain('version');
    const noFingerprint = probeFailure();
    delete (noFingerprint.alerts[0] as Partial<(typeof noFingerprint.alerts)[0]>).fingerprint;
    const missing = await postAlertmanager(h, noFingerprint);
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('alerts.0.fingerprint');
    expect((await postAlertmanager(h, { ...probeFailure(), alerts: [] })).status).toBe(400);
    const huge = await postAlertmanager(h, JSON.stringify({ ...probeFailure(), pad: 'x'.repeat(5 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(await alertJobs(h)).toBe(0);
  });

  it('declares once at the rule severity, for a retry and for the other Alertmanager of an HA pair', async () => {
    h = await startHarness({ configYaml: YAML, env: { FIRELANE_ALERTS_TOKEN: TOKEN } });
    const first = await postAlertmanager(h, probeFailure());
    expect(first.status).toBe(202);
    const retried = await postAlertmanager(h, probeFailure());
    // The HA peer sends the same group with its own externalURL.
    const peer = await postAlertmanager(h, {
      ...probeFailure(),
      externalURL: 'http://alertmanager-1.example.org:9093',
    });
    expect([retried.status, peer.status]).toEqual([200, 200]);
    await h.drain();

    const incidents = await h.firelane.store.incidents.list();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      severity: 'sev1',
      title: 'Payments probe failing: https://pay.example.org',
      declaredBy: 'alertmanager',
      platform: 'slack',
      status: 'investigating',
    });
    const timeline = await h.firelane.store.incidents.timeline(1);
    expect(timeline.map((e) => e.kind).slice(0, 2)).toEqual(['declared', 'alert']);
    expect(timeline[1]!.data).toMatchObject({ status: 'firing', service: 'payments' });
    // The war room opened and the declaration was announced, by Alertmanager (nobody to invite for it).
    const room = (await h.firelane.store.incidents.get(1))!.roomId!;
    expect(room).toBeTruthy();
    expect(
      h.slack
        .messagesIn(ANNOUNCE)
        .map((m) => m.text)
        .join('\n'),
    ).toContain('declared by Alertmanager');
    expect(JSON.stringify(h.slack.callsTo('conversations.invite'))).not.toContain('alertmanager');

    // Another delivery of the same firing group (an alert still firing, re-sent) joins the incident.
    await postAlertmanager(h, {
      ...probeFailure(),
      truncatedAlerts: 2,
      alerts: [{ ...probeFailure().alerts[0]!, fingerprint: 'ffee00112233aabb' }],
    });
    await h.drain();
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'alert')).toHaveLength(2);
  });

  it('declares once when two different deliveries of one group are handled together', async () => {
    h = await startHarness({ configYaml: YAML, env: { FIRELANE_ALERTS_TOKEN: TOKEN } });
    const more = {
      ...probeFailure(),
      alerts: [...probeFailure().alerts, { ...probeFailure().alerts[0]!, fingerprint: '77aa' }],
    };
    expect((await postAlertmanager(h, probeFailure())).status).toBe(202);
    expect((await postAlertmanager(h, more)).status).toBe(202);
    await h.drain();
    // The one that found the group held by the other retries half a second later.
    await new Promise((resolve) => setTimeout(resolve, 600));
    await h.drain();
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    expect((await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'alert')).toHaveLength(2);
  });

  it('records the resolved group on the incident timeline and in the war room, once', async () => {
    h = await startHarness({ configYaml: YAML, env: { FIRELANE_ALERTS_TOKEN: TOKEN } });
    await postAlertmanager(h, probeFailure());
    await h.drain();
    expect((await postAlertmanager(h, probeFailure({ status: 'resolved' }))).status).toBe(202);
    expect((await postAlertmanager(h, probeFailure({ status: 'resolved' }))).status).toBe(200);
    await h.drain();
    const events = (await h.firelane.store.incidents.timeline(1)).filter((e) => e.kind === 'alert');
    expect(events.map((e) => e.data?.status)).toEqual(['firing', 'resolved']);
    expect(events[1]!.text).toContain('Alertmanager: resolved');
    const room = (await h.firelane.store.incidents.get(1))!.roomId!;
    const posted = h.slack.messagesIn(room).filter((m) => m.text?.includes('Alertmanager: resolved'));
    expect(posted).toHaveLength(1);
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
  });

  it('posts a triage card (labels escaped) whose Declare button declares for whoever clicks it', async () => {
    h = await startHarness({
      configYaml: YAML,
      env: { FIRELANE_ALERTS_TOKEN: TOKEN },
      fake: {
        channels: [
          { id: ANNOUNCE, name: 'incidents' },
          { id: TRIAGE, name: 'triage' },
          { id: 'C0ESCALATE', name: 'escalations' },
        ],
      },
    });
    expect((await postAlertmanager(h, diskWarning())).status).toBe(202);
    expect((await postAlertmanager(h, diskWarning())).status).toBe(200);
    await h.drain();
    expect(await h.firelane.store.incidents.list()).toHaveLength(0);
    const cards = h.slack.messagesIn(TRIAGE);
    expect(cards).toHaveLength(1);
    const card = cards[0]!;
    const labels = cardField(card.blocks, 'Labels')!;
    expect(labels).toContain('alertname=DiskFilling');
    // Hostile label text arrives escaped: no channel-wide ping, no mention.
    const shown = (card.blocks ?? []).filter((b) => (b as { type: string }).type !== 'actions');
    expect(JSON.stringify(shown)).not.toMatch(/<!channel>|<!here>|<@U0BOSS>/);
    expect(labels).toContain('&lt;!channel&gt;');
    const declare = buttons(card.blocks).find((b) => b.text.text === 'Declare');
    expect(declare).toBeDefined();

    const click = await h.interaction(
      buttonClick({
        user: 'U0BOB',
        channel: TRIAGE,
        messageTs: card.ts,
        actionId: declare!.action_id,
        value: declare!.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    expect(click.status).toBe(200);
    await h.drain();
    const incidents = await h.firelane.store.incidents.list();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ declaredBy: 'U0BOB', severity: 'sev2', title: 'Disk /var 90% full <!here>' });
  });
});

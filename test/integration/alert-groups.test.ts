// Alert groups over the wire: state merged by fingerprint across deliveries, truncated deliveries that
// never read as resolved, repeat-interval deliveries, attachWindow, the war room asked to resolve (and
// its Resolve button), alerts.autoResolve, and the triage card's Declare button tied to its group.
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/ports/clock.js';
import { createMemoryCluster } from '../fakes/memory-cluster.js';
import { ANNOUNCE, buttonClick, DEFAULT_YAML, startHarness, type Harness } from '../support/harness.js';
import { buttons, messageJson } from './slack-helpers.js';
import { ALERTS_TOKEN, postAlertmanager } from '../support/alerts.js';

const TOKEN = ALERTS_TOKEN;
const TRIAGE = 'C0TRIAGE';
const yaml = (extra = '') => `${DEFAULT_YAML}alerts:
  triageChannel: ${TRIAGE}
${extra}  rules:
    - match: { severity: critical }
      service: "{{ labels.service }}"
      declare: sev1
    - match: { severity: warning }
      service: "{{ labels.service }}"
`;
const CHANNELS = [
  { id: ANNOUNCE, name: 'incidents' },
  { id: TRIAGE, name: 'triage' },
  { id: 'C0ESCALATE', name: 'escalations' },
];

type Status = 'firing' | 'resolved';
interface AlertSpec {
  fingerprint: string;
  status: Status;
  instance?: string;
}

/** An Alertmanager version 4 body: one group of `alertname` alerts for `service`. */
function body(
  alertname: string,
  alerts: AlertSpec[],
  options: {
    status?: Status;
    severity?: string;
    service?: string;
    truncatedAlerts?: number;
    reason?: string;
    endsAt?: string;
  } = {},
) {
  const { severity = 'critical', service = 'payments' } = options;
  const status = options.status ?? (alerts.every((a) => a.status === 'resolved') ? 'resolved' : 'firing');
  const common = { alertname, service, severity };
  return {
    version: '4',
    groupKey: `{}/{severity="${severity}"}:{alertname="${alertname}"}`,
    truncatedAlerts: options.truncatedAlerts ?? 0,
    status,
    receiver: 'firelane',
    groupLabels: { alertname },
    commonLabels: common,
    commonAnnotations: { summary: `${alertname} on ${service}` },
    externalURL: 'http://alertmanager-0.example.org:9093',
    ...(options.reason && { notification_reason: options.reason }),
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: { ...common, instance: a.instance ?? `${a.fingerprint}.example.org` },
      annotations: { summary: `${alertname} on ${service}` },
      startsAt: '2026-12-07T13:08:45.828Z',
      endsAt: a.status === 'resolved' ? '2026-12-07T13:31:15.828Z' : (options.endsAt ?? '0001-01-01T00:00:00Z'),
      generatorURL: 'http://prometheus.example.org:9090/graph?g0.expr=up',
      fingerprint: a.fingerprint,
    })),
  };
}

async function deliver(h: Harness, payload: unknown) {
  expect((await postAlertmanager(h, payload)).status).toBeLessThan(300);
  await h.drain();
}

const start = (extra = '', clock?: ReturnType<typeof createManualClock>) =>
  startHarness({
    configYaml: yaml(extra),
    env: { FIRELANE_ALERTS_TOKEN: TOKEN },
    fake: { channels: CHANNELS },
    ...(clock && { clock }),
  });

const roomOf = async (h: Harness, id: number) => (await h.firelane.store.incidents.get(id))!.roomId!;
const prompts = (h: Harness, room: string) =>
  h.slack.messagesIn(room).filter((m) => buttons(m.blocks).some((b) => b.text.text === 'Resolve'));
const alertEvents = async (h: Harness, id: number) =>
  (await h.firelane.store.incidents.timeline(id)).filter((e) => e.kind === 'alert');
const group = (h: Harness, alertname: string, severity = 'critical') =>
  h.firelane.store.alertGroups.get({
    source: 'alertmanager',
    receiver: 'firelane',
    groupKey: `{}/{severity="${severity}"}:{alertname="${alertname}"}`,
  });

describe('alert groups', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('merges alerts by fingerprint; a truncated delivery never resolves the group; the full one asks the war room', async () => {
    h = await start();
    await deliver(
      h,
      body('PaymentsDown', [
        { fingerprint: 'aa01', status: 'firing' },
        { fingerprint: 'bb02', status: 'firing' },
      ]),
    );
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    const room = await roomOf(h, 1);

    // Alertmanager computes `status` from the alerts it sent: max_alerts cut bb02, and aa01 resolved.
    await deliver(
      h,
      body('PaymentsDown', [{ fingerprint: 'aa01', status: 'resolved' }], { status: 'resolved', truncatedAlerts: 1 }),
    );
    const afterTruncated = (await group(h, 'PaymentsDown'))!;
    expect(afterTruncated.status).toBe('firing');
    expect(afterTruncated.incidentId).toBe(1);
    expect(afterTruncated.declared).toBe(true);
    // bb02 was not in that delivery: its absence resolves nothing.
    expect(afterTruncated.alerts.aa01!.status).toBe('resolved');
    expect(afterTruncated.alerts.bb02!.status).toBe('firing');
    expect((await alertEvents(h, 1)).map((e) => e.data?.groupStatus)).toEqual(['firing', 'firing']);
    expect(prompts(h, room)).toHaveLength(0);

    // A delivery that carries bb02 only, still firing, leaves aa01 resolved.
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'bb02', status: 'firing', instance: 'moved' }]));
    expect((await group(h, 'PaymentsDown'))!.alerts.aa01!.status).toBe('resolved');

    // Every alert resolved, nothing cut: the group resolves, the timeline says so and the room is asked.
    await deliver(
      h,
      body('PaymentsDown', [
        { fingerprint: 'aa01', status: 'resolved' },
        { fingerprint: 'bb02', status: 'resolved' },
      ]),
    );
    expect((await group(h, 'PaymentsDown'))!.status).toBe('resolved');
    const events = await alertEvents(h, 1);
    expect(events.at(-1)!.text).toContain('every alert of the group resolved');
    const asked = prompts(h, room);
    expect(asked).toHaveLength(1);
    expect(messageJson(asked[0]!)).toContain('INC-1');
    expect((await h.firelane.store.incidents.get(1))!.status).not.toBe('resolved');

    // The Resolve button resolves the incident for whoever clicks it.
    const resolve = buttons(asked[0]!.blocks).find((b) => b.text.text === 'Resolve')!;
    const click = await h.interaction(
      buttonClick({
        user: 'U0LEAD',
        channel: room,
        messageTs: asked[0]!.ts,
        actionId: resolve.action_id,
        value: resolve.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    expect(click.status).toBe(200);
    await h.drain();
    const resolved = (await h.firelane.store.incidents.get(1))!;
    expect(resolved.status).toBe('resolved');
    expect((await h.firelane.store.incidents.timeline(1)).at(-1)).toMatchObject({ kind: 'resolved', actor: 'U0LEAD' });
  });

  it('a repeat-interval delivery refreshes the group, adds no event and never declares again', async () => {
    h = await start();
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'aa01', status: 'firing' }]));
    const room = await roomOf(h, 1);
    const before = (await group(h, 'PaymentsDown'))!;
    const roomMessages = h.slack.messagesIn(room).length;

    // Prometheus moves a firing alert's endsAt forward, so the repeat is a new delivery, not a duplicate.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const repeat = (endsAt: string) =>
      body('PaymentsDown', [{ fingerprint: 'aa01', status: 'firing' }], {
        reason: 'repeat interval elapsed',
        endsAt,
      });
    await deliver(h, repeat('2026-12-07T17:00:00Z'));
    const after = (await group(h, 'PaymentsDown'))!;
    expect(after.lastDeliveryAt).toBeGreaterThan(before.lastDeliveryAt);
    expect(after.alerts.aa01!.endsAt).toBe('2026-12-07T17:00:00Z');
    expect(await alertEvents(h, 1)).toHaveLength(1);
    expect(h.slack.messagesIn(room)).toHaveLength(roomMessages);

    // A person resolves it while the alert still fires: the next repeat declares nothing new.
    await h.command('resolve INC-1', { user: 'U0LEAD', channel: room });
    await h.drain();
    await deliver(h, repeat('2026-12-07T21:00:00Z'));
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    // Without a reason (an older Alertmanager), a changed group still declares as before.
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'cc03', status: 'firing' }]));
    expect(await h.firelane.store.incidents.list()).toHaveLength(2);
    expect((await group(h, 'PaymentsDown'))!.incidentId).toBe(2);
  });

  it('with attachWindow, an alert for a service with a recent open incident joins it instead of declaring', async () => {
    const clock = createManualClock(Date.now());
    h = await start('  attachWindow: 30m\n', clock);
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'aa01', status: 'firing' }]));
    clock.advance(10 * 60_000);
    await deliver(h, body('PaymentsLatency', [{ fingerprint: 'dd04', status: 'firing' }]));
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    const joined = (await alertEvents(h, 1)).at(-1)!;
    expect(joined.data).toMatchObject({ attached: true, service: 'payments' });
    expect(joined.text).toContain('PaymentsLatency');
    const latency = (await group(h, 'PaymentsLatency'))!;
    expect(latency).toMatchObject({ incidentId: 1, declared: false });
    expect((await h.firelane.store.alertGroups.ofIncident(1)).map((g) => g.id)).toHaveLength(2);

    // Another service declares its own; and past the window, payments does too.
    await deliver(h, body('SearchDown', [{ fingerprint: 'ee05', status: 'firing' }], { service: 'search' }));
    expect(await h.firelane.store.incidents.list()).toHaveLength(2);
    clock.advance(31 * 60_000);
    await deliver(h, body('PaymentsErrors', [{ fingerprint: 'ff06', status: 'firing' }]));
    expect(await h.firelane.store.incidents.list()).toHaveLength(3);
  });

  it('with attachWindow, two groups of one service handled together declare one incident', async () => {
    h = await start('  attachWindow: 30m\n');
    // Both stored before either runs: the worker takes them together (two workers, or two replicas).
    for (const name of ['PaymentsDown', 'PaymentsLatency']) {
      const { status } = await postAlertmanager(h, body(name, [{ fingerprint: `${name}-1`, status: 'firing' }]));
      expect(status).toBe(202);
    }
    await h.drain();
    // The one that found the service held by the other retries half a second later.
    await new Promise((resolve) => setTimeout(resolve, 600));
    await h.drain();
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    expect((await group(h, 'PaymentsDown'))!.incidentId).toBe(1);
    expect((await group(h, 'PaymentsLatency'))!.incidentId).toBe(1);
  });

  it('with attachWindow, an alert for a service joins the open incident a recent deploy of it is linked to', async () => {
    const cluster = createMemoryCluster();
    cluster.addDeployment({ namespace: 'payments', name: 'payments', images: { app: 'ghcr.io/acme/payments:v2.1.0' } });
    h = await startHarness({
      configYaml: `${yaml('  attachWindow: 30m\n')}services:
  payments:
    kubernetes: { namespace: payments, deployment: payments, container: app, image: ghcr.io/acme/payments }
approvals:
  production: { approvers: [U0LEAD1], required: 1 }
`,
      env: { FIRELANE_ALERTS_TOKEN: TOKEN },
      fake: { channels: CHANNELS },
      cluster,
    });
    // Declared by hand: no alert group says which service it is about, but its deploy does.
    const ack = await h.command('sev2 Refunds slow', { command: '/incident', channel: ANNOUNCE });
    expect(ack.status).toBe(200);
    await h.drain();
    const room = await roomOf(h, 1);
    const deploy = await h.command('payments v2.1.1', { command: '/deploy', channel: room, user: 'U0DEV' });
    expect(JSON.stringify(deploy.body), JSON.stringify(deploy.body)).toContain('REQ-1');
    await h.drain();
    expect((await h.firelane.store.deploys.get(1))!.incidentId).toBe(1);

    await deliver(h, body('PaymentsLatency', [{ fingerprint: 'dd04', status: 'firing' }]));
    expect(await h.firelane.store.incidents.list()).toHaveLength(1);
    expect((await alertEvents(h, 1)).at(-1)!.data).toMatchObject({ attached: true, service: 'payments' });
    expect((await group(h, 'PaymentsLatency'))!).toMatchObject({ incidentId: 1, declared: false });
    // Another service's alert is not about it.
    await deliver(h, body('SearchDown', [{ fingerprint: 'ee05', status: 'firing' }], { service: 'search' }));
    expect(await h.firelane.store.incidents.list()).toHaveLength(2);
  });

  it('without attachWindow, each group declares its own incident', async () => {
    h = await start();
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'aa01', status: 'firing' }]));
    await deliver(h, body('PaymentsLatency', [{ fingerprint: 'dd04', status: 'firing' }]));
    expect(await h.firelane.store.incidents.list()).toHaveLength(2);
  });

  it('autoResolve resolves an untouched alert incident when all its groups resolve, and only then', async () => {
    h = await start('  autoResolve: true\n  attachWindow: 30m\n');
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'aa01', status: 'firing' }]));
    await deliver(h, body('PaymentsLatency', [{ fingerprint: 'dd04', status: 'firing' }]));
    const room = await roomOf(h, 1);
    await deliver(h, body('PaymentsDown', [{ fingerprint: 'aa01', status: 'resolved' }]));
    // One of its two groups still fires: asked, not resolved.
    expect((await h.firelane.store.incidents.get(1))!.status).not.toBe('resolved');
    expect(messageJson(prompts(h, room)[0]!)).toContain('1 other alert group of INC-1 still firing');
    await deliver(h, body('PaymentsLatency', [{ fingerprint: 'dd04', status: 'resolved' }]));
    const incident = (await h.firelane.store.incidents.get(1))!;
    expect(incident).toMatchObject({ status: 'resolved', nextReminderAt: null });
    expect((await h.firelane.store.incidents.timeline(1)).at(-1)).toMatchObject({
      kind: 'resolved',
      actor: 'alertmanager',
    });
    expect(prompts(h, room)).toHaveLength(1);
    expect(
      h.slack
        .messagesIn(ANNOUNCE)
        .map((m) => m.text)
        .join('\n'),
    ).toMatch(/INC-1.*Resolved after/);

    // A person's note: the next alert incident is theirs to resolve; the room is asked instead.
    await deliver(h, body('SearchDown', [{ fingerprint: 'ee05', status: 'firing' }], { service: 'search' }));
    const room2 = await roomOf(h, 2);
    await h.command('note INC-2 looking at the search nodes', { user: 'U0BOB', channel: room2 });
    await h.drain();
    await deliver(h, body('SearchDown', [{ fingerprint: 'ee05', status: 'resolved' }], { service: 'search' }));
    expect((await h.firelane.store.incidents.get(2))!.status).not.toBe('resolved');
    expect(prompts(h, room2)).toHaveLength(1);
  });

  it('the triage card is kept up to date, and its Declare button ties the incident to the group', async () => {
    h = await start();
    const warning = (alerts: AlertSpec[]) => body('DiskFilling', alerts, { severity: 'warning', service: 'storage' });
    await deliver(h, warning([{ fingerprint: 'd1', status: 'firing' }]));
    await deliver(
      h,
      warning([
        { fingerprint: 'd1', status: 'firing' },
        { fingerprint: 'd2', status: 'firing' },
      ]),
    );
    const cards = h.slack.messagesIn(TRIAGE);
    expect(cards).toHaveLength(1);
    expect(messageJson(cards[0]!)).toContain('2 firing');
    const triageGroup = (await group(h, 'DiskFilling', 'warning'))!;
    expect(triageGroup).toMatchObject({ incidentId: null, cardRef: cards[0]!.ts });

    const declare = buttons(cards[0]!.blocks).find((b) => b.text.text === 'Declare')!;
    expect(declare.value).toContain(`--alert-group=${triageGroup.id}`);
    const click = await h.interaction(
      buttonClick({
        user: 'U0BOB',
        channel: TRIAGE,
        messageTs: cards[0]!.ts,
        actionId: declare.action_id,
        value: declare.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    expect(click.status).toBe(200);
    await h.drain();
    expect((await h.firelane.store.incidents.list())[0]).toMatchObject({ id: 1, declaredBy: 'U0BOB' });
    expect((await group(h, 'DiskFilling', 'warning'))!).toMatchObject({ incidentId: 1, declared: false });

    // A second click declares another incident, but the group stays with the open one it has.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = await h.interaction(
      buttonClick({
        user: 'U0CAROL',
        channel: TRIAGE,
        messageTs: cards[0]!.ts,
        actionId: declare.action_id,
        value: declare.value,
        responseUrl: h.slack.responseUrl(),
      }),
    );
    expect(again.status).toBe(200);
    await h.drain();
    expect(await h.firelane.store.incidents.list()).toHaveLength(2);
    expect((await group(h, 'DiskFilling', 'warning'))!.incidentId).toBe(1);

    // Later deliveries of the group join that incident, and its resolution asks the war room.
    const room = await roomOf(h, 1);
    await deliver(
      h,
      warning([
        { fingerprint: 'd1', status: 'resolved' },
        { fingerprint: 'd2', status: 'resolved' },
      ]),
    );
    expect(await alertEvents(h, 1)).toHaveLength(1);
    expect(prompts(h, room)).toHaveLength(1);
    expect(h.slack.messagesIn(TRIAGE)).toHaveLength(1);
  });

  it('two deliveries of one triage group handled together post one triage card', async () => {
    h = await start();
    // Both stored before either runs: the worker takes them together.
    for (const alerts of [
      [{ fingerprint: 'cc01', status: 'firing' as const }],
      [
        { fingerprint: 'cc01', status: 'firing' as const },
        { fingerprint: 'cc02', status: 'firing' as const },
      ],
    ]) {
      expect((await postAlertmanager(h, body('DiskFilling', alerts, { severity: 'warning' }))).status).toBe(202);
    }
    await h.drain();
    // The one that found the group held by the other retries half a second later.
    await new Promise((resolve) => setTimeout(resolve, 600));
    await h.drain();
    const cards = h.slack.messagesIn(TRIAGE).filter((m) => buttons(m.blocks).some((b) => b.text.text === 'Declare'));
    expect(cards).toHaveLength(1);
    expect((await group(h, 'DiskFilling', 'warning'))!.cardRef).toBe(cards[0]!.ts);
    expect(await h.firelane.store.incidents.list()).toHaveLength(0);
  });

  it('refuses --alert-group naming no group, and declares nothing', async () => {
    h = await start();
    const typed = await h.command('sev2 "Disk full" --alert-group=999', { user: 'U0BOB', channel: TRIAGE });
    expect(JSON.stringify(typed.body)).toContain('Alert group 999 does not exist');
    const bad = await h.command('sev2 "Disk full" --alert-group=abc', { user: 'U0BOB', channel: TRIAGE });
    expect(JSON.stringify(bad.body)).toContain('--alert-group takes');
    await h.drain();
    expect(await h.firelane.store.incidents.list()).toHaveLength(0);
  });
});

// The recent-deploy card of an alert: what it names, the deploy card's Rollback, and alert text that
// stays text (no mention, no channel-wide ping) once Slack renders it.
import { describe, expect, it } from 'vitest';
import { renderSlack } from '../../../src/adapters/slack/render.js';
import type { DeployRequest } from '../../../src/domain/deploy-request.js';
import { alertDeployCard } from '../../../src/views/alert-deploy-card.js';
import { requestCard } from '../../../src/views/deploy-card.js';

const request: DeployRequest = {
  id: 7,
  kind: 'deploy',
  service: 'payments',
  environment: 'production',
  strategy: 'rolling',
  requester: 'U0DEV',
  platform: 'slack',
  roomId: 'C0GENERAL',
  cardRef: 'C0GENERAL:1.2',
  target: 'v2.1.1',
  container: 'app',
  plan: {
    fromRevision: 1,
    fromImage: 'ghcr.io/acme/payments:v2.1.0',
    toImage: 'ghcr.io/acme/payments:v2.1.1',
    toRevision: null,
  },
  expiresAt: 0,
  status: 'succeeded',
  approvals: [
    { by: 'U0LEAD1', at: 1, via: 'slack' },
    { by: 'lee', at: 2, via: 'console', person: 'lee' },
  ],
  rejectedBy: null,
  reason: null,
  incidentId: null,
  resultRevision: 2,
  createdAt: 0,
  updatedAt: 0,
  startedAt: 1_000,
  finishedAt: 61_000,
  changeCount: 5,
  facts: null,
  githubDeploymentId: null,
  whereTo: null,
  undoes: null,
  requesterPerson: null,
};

describe('alertDeployCard', () => {
  it('names the deploy and offers the deploy card’s own Rollback', () => {
    const reply = alertDeployCard(
      request,
      { name: 'ProbeFailure', source: 'Alertmanager' },
      { platform: 'slack', now: 241_000, healthFailed: false },
    );
    const fields = Object.fromEntries(reply.card!.fields.map((f) => [f.label, f.value]));
    expect(fields).toMatchObject({
      Version: 'v2.1.1',
      'Previous version': 'v2.1.0',
      'Approved by': '\uE000@U0LEAD1\uE001, lee (console)',
    });
    expect(reply.card!.text).toContain('is firing 3m after REQ-7 finished');
    const rollback = requestCard(request, undefined).buttons!.find((b) => b.label === 'Rollback');
    expect(reply.card!.buttons).toEqual([rollback]);
    // Rolled back already: nothing to offer.
    const done = alertDeployCard(
      { ...request, status: 'rolled_back' },
      { name: 'x', source: 'y' },
      {
        platform: 'slack',
        now: 0,
        healthFailed: true,
      },
    );
    expect(done.card!.buttons).toBeUndefined();
  });

  it('keeps hostile alert text as text', () => {
    const name = '<!channel> \uE000@U0BOSS\uE001 *bold* <https://evil.example|click>';
    const rendered = JSON.stringify(
      renderSlack(
        alertDeployCard(request, { name, source: 'Alertmanager' }, { platform: 'slack', now: 0, healthFailed: true }),
      ),
    );
    expect(rendered).not.toMatch(/<!channel>|<@U0BOSS>|<https:\/\/evil/);
    expect(rendered).toContain('&lt;!channel&gt;');
  });
});

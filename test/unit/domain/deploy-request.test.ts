// The pure rules of deploy requests: who may approve, when it is enough, expiry, plans and targets.
import { describe, expect, it } from 'vitest';
import {
  decideApproval,
  enoughApprovals,
  IMAGE_TAG,
  mayReject,
  imageTag,
  parseRequestKey,
  parseRollbackTarget,
  planStillHolds,
  type DeployRequest,
} from '../../../src/domain/deploy-request.js';
import type { ActorRef } from '../../../src/domain/identity.js';

const policy = { approvers: ['U0A', 'U0B', 'U0R'], required: 2, allowSelfApproval: false, expiresAfterMs: 1000 };
const request = (over: Partial<DeployRequest> = {}): DeployRequest => ({
  id: 5,
  kind: 'deploy',
  service: 'payments',
  environment: 'production',
  strategy: 'rolling',
  requester: 'U0R',
  platform: 'slack',
  roomId: 'C1',
  cardRef: '1',
  target: 'v2',
  container: 'app',
  plan: { fromRevision: 1, fromImage: 'i:v1', toImage: 'i:v2', toRevision: null },
  expiresAt: 1000,
  status: 'pending',
  approvals: [],
  rejectedBy: null,
  reason: null,
  incidentId: null,
  resultRevision: null,
  createdAt: 0,
  updatedAt: 0,
  startedAt: null,
  finishedAt: null,
  changeCount: 0,
  facts: null,
  githubDeploymentId: null,
  whereTo: null,
  undoes: null,
  requesterPerson: null,
  ...over,
});
/** A Slack user as Slack's signature proves them. */
const slack = (id: string): ActorRef => ({ identity: { platform: 'slack', id } });

describe('decideApproval', () => {
  it('refuses non-approvers, the requester, a second approval by the same person, late and unprepared requests', () => {
    expect(decideApproval(request(), slack('U0X'), policy, 0)).toMatchObject({ ok: false, reason: 'not_approver' });
    expect(decideApproval(request(), slack('U0R'), policy, 0)).toMatchObject({ ok: false, reason: 'self_approval' });
    expect(decideApproval(request({ approvals: [{ by: 'U0A', at: 0 }] }), slack('U0A'), policy, 0)).toMatchObject({
      ok: false,
      reason: 'already_approved',
    });
    expect(decideApproval(request(), slack('U0A'), policy, 1000)).toMatchObject({ ok: false, reason: 'expired' });
    expect(decideApproval(request({ plan: null }), slack('U0A'), policy, 0)).toMatchObject({
      ok: false,
      reason: 'not_ready',
    });
    expect(decideApproval(request({ status: 'approved' }), slack('U0A'), policy, 0)).toMatchObject({
      ok: false,
      reason: 'not_pending',
    });
  });

  it('counts distinct approvers against required; self-approval when allowed', () => {
    expect(decideApproval(request(), slack('U0A'), policy, 1)).toEqual({
      ok: true,
      complete: false,
      approvals: [{ by: 'U0A', at: 1, via: 'slack' }],
    });
    expect(decideApproval(request({ approvals: [{ by: 'U0A', at: 1 }] }), slack('U0B'), policy, 2)).toMatchObject({
      ok: true,
      complete: true,
    });
    expect(
      decideApproval(request(), slack('U0R'), { ...policy, required: 1, allowSelfApproval: true }, 0),
    ).toMatchObject({ ok: true, complete: true });
    expect(
      enoughApprovals(
        request(),
        [
          { by: 'U0A', at: 0 },
          { by: 'U0A', at: 1 },
        ],
        { required: 2 },
      ),
    ).toBe(false);
  });

  it('an id claimed on another platform is not the approver: U0A typed into the console is a console name', () => {
    expect(decideApproval(request(), { identity: { platform: 'console', id: 'U0A' } }, policy, 0)).toMatchObject({
      ok: false,
      reason: 'not_approver',
    });
    expect(
      decideApproval(
        request(),
        { identity: { platform: 'console', id: 'U0A' } },
        { ...policy, approvers: ['console:U0A'] },
        0,
      ),
    ).toMatchObject({ ok: true });
  });

  it('one person counts once across their identities, and every identity of the requester is the requester', () => {
    const people = { lee: { slack: 'U0LEE', teams: '6f1c2d3e-0000-4000-8000-00000000abcd' }, max: { slack: 'U0MAX' } };
    const rules = { approvers: ['lee', 'max', 'slack:U0R'], required: 2, allowSelfApproval: false };
    const lee = { identity: { platform: 'slack' as const, id: 'U0LEE' }, person: 'lee' };
    const leeOnTeams = {
      identity: { platform: 'teams' as const, id: '6f1c2d3e-0000-4000-8000-00000000abcd' },
      person: 'lee',
    };
    const first = decideApproval(request(), lee, rules, 1, people);
    expect(first).toMatchObject({ ok: true, complete: false });
    const again = decideApproval(request({ approvals: first.ok ? first.approvals : [] }), leeOnTeams, rules, 2, people);
    expect(again).toMatchObject({ ok: false, reason: 'already_approved' });
    // lee asked for it on Slack: from Teams lee is still the requester.
    expect(
      decideApproval(request({ requester: 'U0LEE', requesterPerson: 'lee' }), leeOnTeams, rules, 1, people),
    ).toMatchObject({ ok: false, reason: 'self_approval' });
    expect(
      mayReject(
        request({ requester: 'U0LEE', requesterPerson: 'lee' }),
        leeOnTeams,
        { ...rules, approvers: ['max'] },
        people,
      ),
    ).toBe(true);
  });
});

describe('plans and targets', () => {
  it('a plan holds while revision and image are as on the card', () => {
    const plan = { fromRevision: 3, fromImage: 'i:v1', toImage: 'i:v2', toRevision: null };
    expect(planStillHolds(plan, { revision: 3, image: 'i:v1' })).toBeUndefined();
    expect(planStillHolds(plan, { revision: 4, image: 'i:v1' })).toMatch(/revision 4 now, not 3/);
    expect(planStillHolds(plan, { revision: 3, image: 'i:hot' })).toMatch(/runs i:hot now/);
  });

  it('parses --to as a revision or a version, and request keys', () => {
    expect(parseRollbackTarget('3')).toEqual({ revision: 3 });
    expect(parseRollbackTarget('rev3')).toEqual({ revision: 3 });
    expect(parseRollbackTarget('v2.1.0')).toEqual({ version: 'v2.1.0' });
    expect(parseRollbackTarget('a/b')).toBeUndefined();
    expect(parseRequestKey('REQ-12')).toBe(12);
    expect(parseRequestKey('req12')).toBe(12);
    expect(parseRequestKey('INC-1')).toBeUndefined();
  });

  it('image tags follow the OCI rule; imageTag reads the tag past a registry port', () => {
    expect(IMAGE_TAG.test('v2.1.1')).toBe(true);
    expect(IMAGE_TAG.test('_x')).toBe(true);
    expect(IMAGE_TAG.test('-x')).toBe(false);
    expect(IMAGE_TAG.test('a'.repeat(129))).toBe(false);
    expect(imageTag('registry:5000/acme/web:v3')).toBe('v3');
    expect(imageTag('registry:5000/acme/web')).toBeUndefined();
  });
});

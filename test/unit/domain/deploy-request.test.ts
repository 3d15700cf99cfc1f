// The pure rules of deploy requests: who may approve, when it is enough, expiry, plans and targets.
import { describe, expect, it } from 'vitest';
import {
  decideApproval,
  enoughApprovals,
  IMAGE_TAG,
  imageTag,
  parseRequestKey,
  parseRollbackTarget,
  planStillHolds,
  type DeployRequest,
} from '../../../src/domain/deploy-request.js';

const policy = { approvers: ['A', 'B', 'R'], required: 2, allowSelfApproval: false, expiresAfterMs: 1000 };
const request = (over: Partial<DeployRequest> = {}): DeployRequest => ({
  id: 5, kind: 'deploy', service: 'payments', environment: 'production', strategy: 'rolling', requester: 'R', platform: 'slack', roomId: 'C1',
  cardRef: '1', target: 'v2', container: 'app', plan: { fromRevision: 1, fromImage: 'i:v1', toImage: 'i:v2', toRevision: null },
  expiresAt: 1000, status: 'pending', approvals: [], rejectedBy: null, reason: null, incidentId: null, resultRevision: null,
  createdAt: 0, updatedAt: 0, startedAt: null, finishedAt: null, changeCount: 0, facts: null, githubDeploymentId: null, whereTo: null, undoes: null, ...over,
});

describe('decideApproval', () => {
  it('refuses non-approvers, the requester, a second approval by the same person, late and unprepared requests', () => {
    expect(decideApproval(request(), 'X', policy, 0)).toMatchObject({ ok: false, reason: 'not_approver' });
    expect(decideApproval(request(), 'R', policy, 0)).toMatchObject({ ok: false, reason: 'self_approval' });
    expect(decideApproval(request({ approvals: [{ by: 'A', at: 0 }] }), 'A', policy, 0)).toMatchObject({ ok: false, reason: 'already_approved' });
    expect(decideApproval(request(), 'A', policy, 1000)).toMatchObject({ ok: false, reason: 'expired' });
    expect(decideApproval(request({ plan: null }), 'A', policy, 0)).toMatchObject({ ok: false, reason: 'not_ready' });
    expect(decideApproval(request({ status: 'approved' }), 'A', policy, 0)).toMatchObject({ ok: false, reason: 'not_pending' });
  });

  it('counts distinct approvers against required; self-approval when allowed', () => {
    expect(decideApproval(request(), 'A', policy, 1)).toEqual({ ok: true, complete: false, approvals: [{ by: 'A', at: 1 }] });
    expect(decideApproval(request({ approvals: [{ by: 'A', at: 1 }] }), 'B', policy, 2)).toMatchObject({ ok: true, complete: true });
    expect(decideApproval(request(), 'R', { ...policy, required: 1, allowSelfApproval: true }, 0)).toMatchObject({ ok: true, complete: true });
    expect(enoughApprovals([{ by: 'A', at: 0 }, { by: 'A', at: 1 }], { required: 2 })).toBe(false);
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

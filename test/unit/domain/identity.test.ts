// Identities across platforms: entries match only through the platform that authenticated the
// actor (or the person it proved), and a person counts once however many identities they use.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideApproval, enoughApprovals, type DeployRequest } from '../../../src/domain/deploy-request.js';
import {
  actorRef,
  distinctParties,
  entryMatches,
  idsOn,
  IDENTITY_PLATFORMS,
  parseEntry,
  platformByShape,
  type ActorRef,
  type People,
} from '../../../src/domain/identity.js';

const slackId = fc.stringMatching(/^[UW][A-Z0-9]{2,10}$/);
const teamsId = fc.uuid();
const consoleName = fc.stringMatching(/^[a-z][a-z0-9._-]{0,12}$/);
const anyId = fc.oneof(slackId, teamsId, consoleName);
const platform = fc.constantFrom(...IDENTITY_PLATFORMS);

const pending = (requester: ActorRef, over: Partial<DeployRequest> = {}): DeployRequest => ({
  id: 1,
  kind: 'deploy',
  service: 's',
  environment: 'production',
  strategy: 'rolling',
  requester: requester.identity.id,
  platform: requester.identity.platform,
  roomId: 'r',
  cardRef: '1',
  target: 'v2',
  container: 'app',
  plan: { fromRevision: 1, fromImage: 'i:v1', toImage: 'i:v2', toRevision: null },
  expiresAt: 10_000,
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
  requesterPerson: requester.person ?? null,
  ...over,
});

describe('entries', () => {
  it('keep the platform of their shape when bare, and name it when qualified', () => {
    expect(parseEntry('U0LEAD1', {})).toEqual({ identity: { platform: 'slack', id: 'U0LEAD1' } });
    expect(parseEntry('6f1c2d3e-0000-4000-8000-00000000abcd', {})).toEqual({
      identity: { platform: 'teams', id: '6f1c2d3e-0000-4000-8000-00000000abcd' },
    });
    expect(parseEntry('alice', {})).toEqual({ identity: { platform: 'console', id: 'alice' } });
    expect(parseEntry('console:U0LEAD1', {})).toEqual({ identity: { platform: 'console', id: 'U0LEAD1' } });
    expect(parseEntry('lee', { lee: { slack: 'U0LEE' } })).toEqual({ person: 'lee' });
    expect(parseEntry('slack:lee', {})).toEqual({ problem: '"lee" is not a Slack user id (U… or W…)' });
    expect(parseEntry('github:octocat', {})).toMatchObject({ problem: expect.stringMatching(/is not a platform/) });
  });

  it('property: no actor from one platform ever satisfies an entry of another platform', () => {
    fc.assert(
      fc.property(platform, platform, anyId, fc.boolean(), (actorPlatform, entryPlatform, id, bare) => {
        fc.pre(actorPlatform !== entryPlatform);
        const entry = bare ? id : `${entryPlatform}:${id}`;
        const named = parseEntry(entry, {});
        fc.pre(!('problem' in named) && 'identity' in named && named.identity.platform !== actorPlatform);
        // Whatever id the actor claims, on their own platform it is not the entry's identity.
        return !entryMatches(entry, actorRef({ platform: actorPlatform, id }, {}), {});
      }),
      { numRuns: 2_000 },
    );
  });

  it("property: the console's typed name is never a person, so it never satisfies a person or another platform's entry", () => {
    fc.assert(
      fc.property(slackId, teamsId, consoleName, (slack, teams, name) => {
        const people: People = { lee: { slack, teams, console: name } };
        const typed = actorRef({ platform: 'console', id: name }, people);
        return (
          !entryMatches('lee', typed, people) &&
          !entryMatches(`slack:${slack}`, typed, people) &&
          !entryMatches(`teams:${teams}`, typed, people) &&
          entryMatches(`console:${name}`, typed, people)
        );
      }),
    );
  });

  it('property: a person with several identities never reaches `required` alone, and is the requester on every platform', () => {
    fc.assert(
      fc.property(
        slackId,
        teamsId,
        consoleName,
        fc.integer({ min: 2, max: 4 }),
        fc.boolean(),
        (slack, teams, name, required, requesterIsLee) => {
          const people: People = {
            lee: { slack, teams, console: name },
            max: { slack: 'U0MAXMAX' },
            ann: { slack: 'U0ANNANN' },
            bob: { slack: 'U0BOBBOB' },
          };
          const rules = {
            approvers: ['lee', `slack:${slack}`, `teams:${teams}`, 'max', 'ann', 'bob'],
            required,
            allowSelfApproval: false,
          };
          // lee, proven by each platform in turn (Slack and Teams by their ids, the console by sign-in).
          const lees = [
            actorRef({ platform: 'slack', id: slack }, people),
            actorRef({ platform: 'teams', id: teams }, people),
            actorRef({ platform: 'console', id: name }, people, 'lee'),
          ];
          const requester = requesterIsLee ? lees[0]! : actorRef({ platform: 'slack', id: 'U0MAXMAX' }, people);
          let request = pending(requester);
          for (const lee of lees) {
            const decision = decideApproval(request, lee, rules, 1, people);
            if (requesterIsLee && decision.ok) return false; // the requester from another platform
            if (decision.ok) {
              if (decision.complete) return false; // one person reached required alone
              request = { ...request, approvals: decision.approvals };
            }
          }
          // And counted directly: lee's approvals from all three platforms are one.
          const fromAll = lees.map((lee) => ({
            by: lee.identity.id,
            at: 1,
            via: lee.identity.platform,
            person: 'lee',
          }));
          return !enoughApprovals(request, fromAll, { required });
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('responders and approver counts', () => {
  it('invites on each platform the ids the entries name there', () => {
    const people: People = {
      lee: { slack: 'U0LEE', teams: '6f1c2d3e-0000-4000-8000-00000000abcd' },
      ana: { console: 'ana' },
    };
    const entries = ['lee', 'ana', 'U0SOLO', 'teams:0a1b2c3d-0000-4000-8000-000000000001', 'bob'];
    expect(idsOn('slack', entries, people)).toEqual(['U0LEE', 'U0SOLO']);
    expect(idsOn('teams', entries, people)).toEqual([
      '6f1c2d3e-0000-4000-8000-00000000abcd',
      '0a1b2c3d-0000-4000-8000-000000000001',
    ]);
    expect(idsOn('console', entries, people)).toEqual(['ana', 'bob']);
  });

  it('counts a person listed by key and by an identity once', () => {
    const people: People = { lee: { slack: 'U0LEE' } };
    expect(distinctParties(['lee', 'slack:U0LEE', 'U0LEE', 'U0OTHER'], people)).toBe(2);
    expect(platformByShape('W0ABC')).toBe('slack');
  });
});

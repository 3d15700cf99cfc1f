// Deploy and rollback requests: states, the plan an approval binds to, and the pure approval rules.
//
//   pending ──approve (enough)──▶ approved ──▶ executing ──▶ succeeded | failed | rolled_back
//      │                            │   │         └──a rollback of it approved──▶ superseded
//      │                            │   └─(reconciled at start-up: never started, or changed by hand)──▶ failed
//      ├──reject──▶ rejected        └──cluster changed since the card──▶ void
//      ├──expiry──▶ expired
//      ├──another request changed the target first──▶ superseded
//      └──plan cannot be made (no deployment, no such revision)──▶ void

import { entryMatches, partyKey, sameParty, type ActorRef, type IdentityPlatform, type People } from './identity.js';

export const REQUEST_STATUSES = [
  'pending',
  'approved',
  'executing',
  'succeeded',
  'failed',
  'rolled_back',
  'superseded',
  'rejected',
  'expired',
  'void',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** Approved or executing: the request holds its service's rollout lock. */
export const RUNNING_STATUSES = ['approved', 'executing'] as const satisfies readonly RequestStatus[];
export const FINAL_STATUSES = [
  'succeeded',
  'failed',
  'rolled_back',
  'superseded',
  'rejected',
  'expired',
  'void',
] as const satisfies readonly RequestStatus[];

export type RequestKind = 'deploy' | 'rollback';
/** The same names as the config's strategies. */
export type DeployStrategy = 'rolling' | 'blue-green' | 'canary';

/** An environment's approval rules (config `approvals.<environment>`). */
export interface ApprovalRules {
  approvers: readonly string[];
  required: number;
  allowSelfApproval: boolean;
}

/** What a plan needs of a service's Kubernetes target (config `services.<name>.kubernetes`). */
export interface ImageTarget {
  namespace: string;
  deployment: string;
  /** Without a tag: a deploy sets `<image>:<version>`. */
  image: string;
}

/** The Deployment an environment of a service points at (context absent: the kubeconfig's current one). */
export interface TargetRef {
  context?: string;
  namespace: string;
  deployment: string;
  /** In firelane's built-in simulated cluster (local mode), not a real one: shown wherever the target is. */
  simulated?: true;
}

/** The TargetRef of an environment's Kubernetes target (config `services.<name>.kubernetes`, merged). */
export const targetRefOf = (k: Pick<TargetRef, 'context' | 'namespace' | 'deployment'>): TargetRef => ({
  ...(k.context && { context: k.context }),
  namespace: k.namespace,
  deployment: k.deployment,
});

export const targetText = (t: TargetRef) =>
  `${t.context ? `${t.context}: ` : ''}${t.namespace}/${t.deployment}${t.simulated ? ' (simulated cluster)' : ''}`;

export interface Approval {
  /** The approver's id on `via`. */
  by: string;
  at: number;
  /** The platform that authenticated the approver (absent on approvals recorded before identities: the card's). */
  via?: IdentityPlatform;
  /** The person they were proven to be, if any. */
  person?: string;
}

/** Blue-green colours: the Deployments `<deployment>-blue` and `<deployment>-green`, told apart by the pod label `slot`. */
export const SLOTS = ['blue', 'green'] as const;
export type Slot = (typeof SLOTS)[number];
export const otherSlot = (slot: Slot): Slot => (slot === 'blue' ? 'green' : 'blue');
export const isSlot = (value: unknown): value is Slot => value === 'blue' || value === 'green';

/**
 * What the card shows and an approval binds to, read from the cluster when the card was posted:
 * the deployment's revision and image then, and where it goes. For blue-green, "the deployment" is
 * the live colour's.
 */
export interface DeployPlan {
  fromRevision: number;
  fromImage: string;
  toImage: string;
  /** Rollback: the history revision whose pod template comes back. */
  toRevision: number | null;
  /** Blue-green: the colour live when the card was posted and the one that takes the traffic. */
  slots?: { from: Slot; to: Slot };
  /** Replicas of the deployment (blue-green: the live colour) when the card was posted: the canary's total, the idle colour's size. */
  replicas?: number;
}

/**
 * What GitHub says about the version a deploy asks for, shown on the card before anyone approves:
 * the checks of the commit behind it and the commits since the running version.
 */
export interface GoNoGo {
  /** The commit the version's tag (or branch) points at. */
  sha?: string;
  checks?: { passed: number; total: number; blocking: string[]; requiredFailed: string[] };
  changes?: { since: string; count: number; titles: string[] };
  /** Why some facts are missing, in plain words. */
  note?: string;
}

export interface DeployRequest {
  id: number;
  kind: RequestKind;
  service: string;
  environment: string;
  strategy: DeployStrategy;
  requester: string;
  /** The chat platform that shows the card (the CLI's requests live in the console). */
  platform: string;
  roomId: string;
  cardRef: string | null;
  /** Deploy: the version asked for. Rollback: the `--to` given (a version or a revision), or null for the previous revision. */
  target: string | null;
  container: string;
  /** Null until the prepare job has read the cluster. */
  plan: DeployPlan | null;
  expiresAt: number;
  status: RequestStatus;
  approvals: Approval[];
  rejectedBy: string | null;
  /** Why it was rejected, voided or failed (plain words). */
  reason: string | null;
  incidentId: number | null;
  /** The deployment's revision after the change was made. */
  resultRevision: number | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Bumped by every change: guards concurrent writes and orders card renders. */
  changeCount: number;
  /** Go/no-go facts from GitHub (deploys of services with a repo, when GitHub is set up). */
  facts: GoNoGo | null;
  githubDeploymentId: number | null;
  /** The Deployment the environment pointed at when the request was made (null on requests older than environments). */
  whereTo: TargetRef | null;
  /** A rollback of this request (REQ-n): it returns the target to what ran before that request. */
  undoes: number | null;
  /** The person the requester was proven to be (a Slack or Teams id under `people`, or a console sign-in). */
  requesterPerson: string | null;
}

export const requestKey = (id: number) => `REQ-${id}`;

export function parseRequestKey(text: string): number | undefined {
  const match = /^req-?(\d{1,9})$/i.exec(text.trim());
  return match ? Number(match[1]) : undefined;
}

/** A container image tag, as the OCI distribution spec allows it. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Tags that name whatever was pushed last: an approval of one would not say what runs (it can move
 * between the click and the pull). Refused; a version tag or a digest says exactly what runs.
 */
const MOVING_TAGS = new Set([
  'latest',
  'stable',
  'edge',
  'nightly',
  'main',
  'master',
  'dev',
  'develop',
  'head',
  'current',
  'next',
  'canary',
  'beta',
  'alpha',
  'snapshot',
  'release',
  'prod',
  'production',
  'staging',
]);

/** What `/deploy` takes as the version: a tag, a digest (`@sha256:…` or `sha256:…`), or a tag pinned by its digest (`v2@sha256:…`). */
export type Version = { tag: string; digest?: string } | { tag?: undefined; digest: string };

/** The version as typed, or why it is not one (plain words). */
export function parseVersion(text: string): { version: Version } | { problem: string } {
  const at = text.indexOf('@');
  const tagPart = at === -1 ? (DIGEST.test(text) ? '' : text) : text.slice(0, at);
  const digest = at === -1 ? (DIGEST.test(text) ? text : undefined) : text.slice(at + 1);
  if (digest !== undefined && !DIGEST.test(digest))
    return { problem: `"${digest}" is not an image digest (sha256: and 64 lowercase hex digits)` };
  if (tagPart === '') return { version: { digest: digest! } };
  if (!IMAGE_TAG.test(tagPart))
    return {
      problem: `"${tagPart}" is not an image tag: letters, digits, "_", "." and "-", at most 128, not starting with "." or "-"`,
    };
  if (digest === undefined && MOVING_TAGS.has(tagPart.toLowerCase())) {
    return {
      problem: `"${tagPart}" is a moving tag: what it names can change between the approval and the rollout. Deploy a version tag (e.g. v2.1.1) or a digest (@sha256:…)`,
    };
  }
  return { version: digest === undefined ? { tag: tagPart } : { tag: tagPart, digest } };
}

/** The version as stored on a request and shown: `v2.1.1`, `v2.1.1@sha256:…` or `@sha256:…`. */
export const versionText = (v: Version) => `${v.tag ?? ''}${v.digest ? `@${v.digest}` : ''}`;

/** The image a deploy of `version` (as stored) sets: `<image>:<tag>`, `<image>@<digest>` or both. */
export function imageOf(image: string, version: string): string {
  const parsed = parseVersion(version);
  // Stored versions were parsed before; anything else is used as a tag, as before digests.
  if (!('version' in parsed)) return `${image}:${version}`;
  const v = parsed.version;
  return `${image}${v.tag !== undefined ? `:${v.tag}` : ''}${v.digest ? `@${v.digest}` : ''}`;
}

/** The tag of a stored version, which is what GitHub knows the version by (a digest alone has none). */
export function versionTag(version: string): string | undefined {
  const parsed = parseVersion(version);
  return 'version' in parsed ? parsed.version.tag : undefined;
}

export const isFinal = (status: RequestStatus) => (FINAL_STATUSES as readonly RequestStatus[]).includes(status);
export const isRunning = (status: RequestStatus) => (RUNNING_STATUSES as readonly RequestStatus[]).includes(status);

export const isExpired = (request: Pick<DeployRequest, 'expiresAt'>, now: number) => now >= request.expiresAt;

export type ApprovalDecision =
  | { ok: true; /** This approval is the last one needed. */ complete: boolean; approvals: Approval[] }
  | {
      ok: false;
      reason: 'not_pending' | 'expired' | 'not_ready' | 'not_approver' | 'self_approval' | 'already_approved';
      message: string;
    };

/** Why a request that is no longer pending cannot be approved or rejected, in plain words. */
export function notPendingText(request: DeployRequest): string {
  const key = requestKey(request.id);
  switch (request.status) {
    case 'approved':
    case 'executing':
      return `${key} is already approved and ${request.status === 'executing' ? 'rolling out' : 'about to roll out'}.`;
    case 'succeeded':
      return `${key} has already run and succeeded.`;
    case 'failed':
      return `${key} has already run and failed${request.reason ? `: ${request.reason}` : ''}.`;
    case 'rolled_back':
      return `${key} has already run and was rolled back.`;
    case 'rejected':
      return `${key} was rejected.`;
    case 'expired':
      return `${key} expired before it was approved; ask again with a new request.`;
    case 'void':
      return `${key} is void${request.reason ? `: ${request.reason}` : ''}.`;
    case 'superseded':
      return `${key} is superseded${request.reason ? `: ${request.reason}` : ''}; its buttons change nothing.`;
    default:
      return `${key} is ${request.status}.`;
  }
}

/** The requester as proven when they asked (their person, if their platform or sign-in proved one). */
export function requesterRef(request: Pick<DeployRequest, 'platform' | 'requester' | 'requesterPerson'>): ActorRef {
  return {
    identity: { platform: request.platform as IdentityPlatform, id: request.requester },
    ...(request.requesterPerson && { person: request.requesterPerson }),
  };
}

/** An approval as the party who gave it (its platform defaults to the card's, as before approvals recorded one). */
export function approverRef(request: Pick<DeployRequest, 'platform'>, approval: Approval): ActorRef {
  return {
    identity: { platform: approval.via ?? (request.platform as IdentityPlatform), id: approval.by },
    ...(approval.person && { person: approval.person }),
  };
}

const isApprover = (actor: ActorRef, policy: ApprovalRules, people: People) =>
  policy.approvers.some((entry) => entryMatches(entry, actor, people));

/**
 * Whether `actor` may approve `request` now under `policy`. The caller records the approval only
 * when ok, and marks the request expired when the reason is 'expired'. A person counts once however
 * many of their identities approve, and every identity of the requester is the requester.
 */
export function decideApproval(
  request: DeployRequest,
  actor: ActorRef,
  policy: ApprovalRules,
  now: number,
  people: People = {},
): ApprovalDecision {
  const key = requestKey(request.id);
  if (request.status !== 'pending') return { ok: false, reason: 'not_pending', message: notPendingText(request) };
  if (isExpired(request, now))
    return {
      ok: false,
      reason: 'expired',
      message: `${key} expired before it was approved; ask again with a new request.`,
    };
  if (!request.plan)
    return {
      ok: false,
      reason: 'not_ready',
      message: `${key} is still being prepared (firelane is reading the cluster); approve it on its card.`,
    };
  if (!isApprover(actor, policy, people)) {
    return {
      ok: false,
      reason: 'not_approver',
      message: `You are not an approver for ${request.environment}, so you cannot approve ${key}.`,
    };
  }
  if (sameParty(actor, requesterRef(request)) && !policy.allowSelfApproval) {
    return {
      ok: false,
      reason: 'self_approval',
      message: `You asked for ${key}, so someone else must approve it (self-approval is off for ${request.environment}).`,
    };
  }
  if (request.approvals.some((a) => sameParty(approverRef(request, a), actor))) {
    const left = policy.required - partiesOf(request, request.approvals);
    return {
      ok: false,
      reason: 'already_approved',
      message: `You already approved ${key}; it needs ${left} more approval${left === 1 ? '' : 's'} from another approver.`,
    };
  }
  const approval: Approval = {
    by: actor.identity.id,
    at: now,
    via: actor.identity.platform,
    ...(actor.person !== undefined && { person: actor.person }),
  };
  const approvals = [...request.approvals, approval];
  return { ok: true, complete: enoughApprovals(request, approvals, policy), approvals };
}

/** Distinct parties (persons, or lone identities) among the approvals. */
const partiesOf = (request: Pick<DeployRequest, 'platform'>, approvals: Approval[]) =>
  new Set(approvals.map((a) => partyKey(approverRef(request, a)))).size;

/** Each person (or lone identity) counts once. */
export const enoughApprovals = (
  request: Pick<DeployRequest, 'platform'>,
  approvals: Approval[],
  policy: Pick<ApprovalRules, 'required'>,
) => partiesOf(request, approvals) >= policy.required;

/** The requester (any of their identities) withdraws, or an approver turns it down; nobody else. */
export function mayReject(
  request: DeployRequest,
  actor: ActorRef,
  policy: ApprovalRules,
  people: People = {},
): boolean {
  return sameParty(actor, requesterRef(request)) || isApprover(actor, policy, people);
}

/** The plan still describes the cluster: same revision and the same image in the container (blue-green: of the same live colour). */
export function planStillHolds(
  plan: DeployPlan,
  now: { revision: number; image: string | undefined; slot?: string | undefined },
): string | undefined {
  if (plan.slots && now.slot !== plan.slots.from)
    return `the Service selects ${now.slot ? `slot ${now.slot}` : 'no slot'} now, not ${plan.slots.from} as on the card`;
  if (now.revision !== plan.fromRevision)
    return `the deployment is at revision ${now.revision} now, not ${plan.fromRevision} as on the card`;
  if (now.image !== plan.fromImage)
    return `the container runs ${now.image ?? 'no image'} now, not ${plan.fromImage} as on the card`;
  return undefined;
}

/** A `--to` value: digits are a revision number, anything else an image tag. */
export function parseRollbackTarget(text: string): { revision: number } | { version: string } | undefined {
  if (/^\d{1,9}$/.test(text)) return { revision: Number(text) };
  const tag = text.replace(/^rev(?:ision)?[:=]?(?=\d)/i, '');
  if (tag !== text && /^\d{1,9}$/.test(tag)) return { revision: Number(tag) };
  return IMAGE_TAG.test(text) ? { version: text } : undefined;
}

/** The tag of an image reference (`ghcr.io/acme/payments:v2` -> `v2`), if it has one. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(colon + 1) : undefined;
}

/** What the prepare step saw: the container's image at each revision (blue-green: of the live colour). */
export interface ClusterView {
  missing: boolean;
  revision: number;
  image: string | null;
  history: Array<{ revision: number; image: string | null }>;
  /** spec.replicas of the deployment. */
  replicas?: number;
  /** Blue-green: the live colour (from the Service's selector) and the idle one, or why they cannot be told. */
  colours?: { live: Slot; idle: { image: string | null; replicas: number } | null } | { problem: string };
}

export type PlanOutcome = { plan: DeployPlan } | { problem: string };

/**
 * The plan of a rollback that undoes `undone`: from what it deploys back to what ran before it
 * (blue-green: back to the colour that was live). Made from its plan, not from the cluster, which
 * may be in the middle of that deploy.
 */
export function undoPlan(undone: DeployRequest): PlanOutcome {
  const p = undone.plan;
  if (!p) return { problem: `${requestKey(undone.id)} has no plan, so what ran before it is unknown` };
  return {
    plan: {
      fromRevision: undone.resultRevision ?? 0,
      fromImage: p.toImage,
      toImage: p.fromImage,
      toRevision: p.fromRevision,
      ...(p.slots && { slots: { from: p.slots.to, to: p.slots.from } }),
      ...(p.replicas !== undefined && { replicas: p.replicas }),
    },
  };
}

/**
 * Blue-green: a deploy sets the idle colour's image and switches the Service to it; a rollback
 * switches back to the idle colour as it is (it still runs what was live before).
 */
function makeBlueGreenPlan(request: DeployRequest, k: ImageTarget, view: ClusterView): PlanOutcome {
  const colours = view.colours;
  if (!colours) return { problem: `the Service in front of ${k.deployment} was not read` };
  if ('problem' in colours) return { problem: colours.problem };
  const live = `${k.deployment}-${colours.live}`;
  const idleSlot = otherSlot(colours.live);
  const idle = `${k.deployment}-${idleSlot}`;
  if (view.missing) return { problem: `the live colour ${k.namespace}/${live} does not exist in the cluster` };
  if (view.image === null)
    return { problem: `the deployment ${k.namespace}/${live} has no container named ${request.container}` };
  if (!colours.idle)
    return {
      problem: `the idle colour ${k.namespace}/${idle} does not exist in the cluster (blue-green needs both ${k.deployment}-blue and ${k.deployment}-green)`,
    };
  if (colours.idle.image === null)
    return { problem: `the deployment ${k.namespace}/${idle} has no container named ${request.container}` };
  const base = {
    fromRevision: view.revision,
    fromImage: view.image,
    toRevision: null,
    slots: { from: colours.live, to: idleSlot },
    ...(view.replicas !== undefined && { replicas: view.replicas }),
  };
  if (request.kind === 'deploy') {
    const toImage = imageOf(k.image, request.target ?? '');
    if (toImage === view.image)
      return { problem: `${request.service} already runs ${toImage} (${colours.live} is live)` };
    return { plan: { ...base, toImage } };
  }
  const wanted = request.target === null ? undefined : parseRollbackTarget(request.target);
  if (wanted && 'revision' in wanted) {
    return {
      problem: `a blue-green rollback switches the Service back to the idle colour (${idle}, running ${colours.idle.image}); --to=<revision> applies to rolling deploys`,
    };
  }
  if (
    wanted &&
    colours.idle.image !== `${k.image}:${wanted.version}` &&
    imageTag(colours.idle.image) !== wanted.version
  ) {
    return {
      problem: `a blue-green rollback switches back to the idle colour ${idle}, which runs ${colours.idle.image}, not ${wanted.version}; deploy ${wanted.version} instead`,
    };
  }
  if (colours.idle.replicas < 1)
    return {
      problem: `the idle colour ${k.namespace}/${idle} is scaled to 0, so there is nothing to switch back to; deploy a version instead`,
    };
  return { plan: { ...base, toImage: colours.idle.image } };
}

/** The plan of a request from what the cluster holds, or why there can be none. */
export function makePlan(request: DeployRequest, k: ImageTarget, view: ClusterView): PlanOutcome {
  if (request.strategy === 'blue-green') return makeBlueGreenPlan(request, k, view);
  const where = `${k.namespace}/${k.deployment}`;
  if (view.missing) return { problem: `the deployment ${where} does not exist in the cluster` };
  if (view.image === null) return { problem: `the deployment ${where} has no container named ${request.container}` };
  const from = {
    fromRevision: view.revision,
    fromImage: view.image,
    ...(view.replicas !== undefined && { replicas: view.replicas }),
  };
  if (request.kind === 'deploy') {
    const toImage = imageOf(k.image, request.target ?? '');
    if (toImage === view.image) return { problem: `${request.service} already runs ${toImage}` };
    return { plan: { ...from, toImage, toRevision: null } };
  }
  const earlier = view.history.filter((r) => r.revision !== view.revision).sort((a, b) => b.revision - a.revision);
  const revisions = view.history.map((r) => r.revision).join(', ') || 'none';
  const wanted = request.target === null ? undefined : parseRollbackTarget(request.target);
  let found: { revision: number; image: string | null } | undefined;
  if (!wanted) {
    found = earlier.find((r) => r.revision < view.revision);
    if (!found)
      return { problem: `${where} has no revision before ${view.revision} to roll back to (history: ${revisions})` };
  } else if ('revision' in wanted) {
    if (wanted.revision === view.revision) return { problem: `revision ${view.revision} is the one running now` };
    found = earlier.find((r) => r.revision === wanted.revision);
    if (!found)
      return { problem: `revision ${wanted.revision} is not in the history of ${where} (revisions: ${revisions})` };
  } else {
    if (view.image === `${k.image}:${wanted.version}` || imageTag(view.image) === wanted.version)
      return { problem: `${request.service} already runs ${wanted.version}` };
    found =
      earlier.find((r) => r.image === `${k.image}:${wanted.version}`) ??
      earlier.find((r) => r.image !== null && imageTag(r.image) === wanted.version);
    if (!found)
      return { problem: `no revision in the history of ${where} runs ${wanted.version} (revisions: ${revisions})` };
  }
  if (found.image === null)
    return { problem: `revision ${found.revision} has no container named ${request.container}` };
  return { plan: { ...from, toImage: found.image, toRevision: found.revision } };
}

// How a deploy or rollback request looks in chat: one card, re-rendered in place at each change.
import { requestKey, targetText, type DeployRequest, type GoNoGo } from '../domain/deploy-request.js';
import { incidentKey } from '../domain/incident.js';
import type { ApprovalPolicy } from '../config/types.js';
import { idsOn, type IdentityPlatform, type People } from '../domain/identity.js';
import { channelReply, mention, timeToken, type Button, type Card, type Field, type Reply } from '../ports/reply.js';

/**
 * Replicas updated so far while a rollout runs, or the health window's time left (as text) after it
 * with the metric gates' last readings; `what` names the part that rolls out or is watched (a
 * blue-green colour, a canary step).
 */
export type RolloutShown =
  | { updated: number; desired: number; /** Why an automatic rollback runs. */ rollingBack?: string; what?: string }
  | { healthTimeLeft: string; what?: string; gates?: string[] };

const ACCENT: Record<DeployRequest['status'], Card['accent']> = {
  pending: 'warning',
  approved: 'neutral',
  executing: 'neutral',
  succeeded: 'good',
  failed: 'danger',
  rolled_back: 'danger',
  superseded: 'neutral',
  rejected: 'neutral',
  expired: 'neutral',
  void: 'neutral',
};

/** Who approved: a mention when they approved on the card's platform, else who they are and where (`lee (console)`). */
const approvalNames = (request: DeployRequest) =>
  request.approvals
    .map((a) => (a.via === undefined || a.via === request.platform ? mention(a.by) : `${a.person ?? a.by} (${a.via})`))
    .join(', ');

/** Approver entries as people on the card's platform read them: a mention where they have an id there, else the entry as text. */
function approverNames(entries: readonly string[], platform: string, people: People): string {
  return entries
    .map((entry) => {
      const [id] = idsOn(platform as IdentityPlatform, [entry], people);
      return id !== undefined ? mention(id) : entry;
    })
    .join(', ');
}

function statusLine(request: DeployRequest, required: number, rollout?: RolloutShown): string {
  const approvedBy = request.approvals.length ? `approved by ${approvalNames(request)}` : '';
  const reason = request.reason ? `: ${request.reason}` : '';
  const slots = request.plan?.slots;
  switch (request.status) {
    case 'pending':
      return request.plan
        ? `${failedChecksWarning(request)}⏳ Waiting for approval (${request.approvals.length} of ${required})${request.approvals.length ? `, ${approvedBy} so far` : ''}`
        : '⏳ Reading the cluster to show what would change…';
    case 'approved':
      return `✅ Approved: ${approvedBy}. Starting the rollout.`;
    case 'executing':
      if (rollout && 'healthTimeLeft' in rollout)
        return `🩺 Verifying health${rollout.what ? ` (${rollout.what})` : ''}: ${rollout.healthTimeLeft} left (${approvedBy})`;
      if (rollout?.rollingBack)
        return `↩️ Rolling back automatically (${rollout.rollingBack}): ${rollout.updated} of ${rollout.desired} replicas updated`;
      return rollout
        ? `🔄 Rolling out${rollout.what ? ` ${rollout.what}` : ''}: ${rollout.updated} of ${rollout.desired} replicas updated (${approvedBy})`
        : `🔄 Rolling out (${approvedBy})`;
    case 'succeeded':
      if (slots) return `✅ Succeeded (${approvedBy}): ${slots.to} is live; ${slots.from} is kept for a switch-back`;
      return `✅ Succeeded (${approvedBy})${request.resultRevision !== null ? `: now at revision ${request.resultRevision}` : ''}`;
    case 'failed':
      return `❌ Failed${reason}`;
    case 'rolled_back':
      if (slots) return `↩️ Rolled back automatically${reason} (switched back to ${slots.from})`;
      return `↩️ Rolled back automatically${reason}${request.resultRevision !== null ? ` (now at revision ${request.resultRevision})` : ''}`;
    case 'superseded':
      return `⏹️ Superseded${reason}`;
    case 'rejected':
      return `🚫 Rejected by ${request.rejectedBy ? mention(request.rejectedBy) : 'someone'}${reason}`;
    case 'expired':
      return `⌛ Expired at ${timeToken(request.expiresAt)} with ${request.approvals.length} of ${required} approvals`;
    case 'void':
      return `⚠️ Void${reason}`;
  }
}

/** Approvers see failed required checks of the version before they click. */
function failedChecksWarning(request: DeployRequest): string {
  const failed = request.facts?.checks?.requiredFailed ?? [];
  return failed.length ? `⚠️ Checks FAILED for ${request.target ?? 'this version'}: ${failed.join(', ')}. ` : '';
}

/** The go/no-go facts from GitHub as card fields. */
function factFields(facts: GoNoGo | null): Field[] {
  if (!facts) return [];
  const fields: Field[] = [];
  const checks = facts.checks;
  if (checks) {
    fields.push({
      label: 'Checks',
      value: checks.requiredFailed.length
        ? `❌ failed: ${checks.blocking.join(', ')}`
        : checks.blocking.length
          ? `⏳ not all passed yet: ${checks.blocking.join(', ')}`
          : checks.total
            ? `✅ ${checks.passed} of ${checks.total} passed`
            : 'none reported',
    });
  }
  const changes = facts.changes;
  if (changes)
    fields.push({
      label: 'Changes',
      value: `${changes.count} commit${changes.count === 1 ? '' : 's'} since ${changes.since}${changes.titles.length ? `: ${changes.titles.join('; ')}` : ''}`,
    });
  if (facts.note) fields.push({ label: 'GitHub', value: facts.note });
  return fields;
}

function title(request: DeployRequest): string {
  const key = requestKey(request.id);
  if (request.kind === 'rollback')
    return `↩️ Rollback ${key}${request.undoes !== null ? ` of ${requestKey(request.undoes)}` : ''}: ${request.service} in ${request.environment}`;
  return `🚀 Deploy ${key}: ${request.service} ${request.target ?? ''} to ${request.environment}`;
}

/** Blue-green: what each colour is, as of the request's state (the live one changes at the switch). */
function colourNotes(request: DeployRequest, slots: { from: string; to: string }): { from: string; to: string } {
  const taking = request.kind === 'rollback' ? 'kept from before' : 'idle';
  switch (request.status) {
    case 'pending':
    case 'approved':
      return { from: `${slots.from}, live`, to: `${slots.to}, ${taking}` };
    case 'executing':
      // Before or after the switch: the status line says which; these say what each colour is for.
      return {
        from: `${slots.from}, live before this ${request.kind}`,
        to: `${slots.to}, ${taking}; takes the traffic once ready`,
      };
    case 'succeeded':
      return {
        from: `${slots.from}, kept for a switch-back`,
        to: `${slots.to}, ${request.kind === 'rollback' ? 'kept from before, ' : ''}live`,
      };
    case 'rolled_back':
      return { from: `${slots.from}, live again`, to: `${slots.to}, switched away from` };
    default:
      return { from: slots.from, to: slots.to };
  }
}

function planFields(request: DeployRequest): Field[] {
  const plan = request.plan;
  if (!plan) {
    const to =
      request.kind === 'rollback'
        ? request.target
          ? `--to=${request.target}`
          : request.undoes !== null
            ? `what ran before ${requestKey(request.undoes)}`
            : 'the previous revision'
        : (request.target ?? '…');
    return [
      { label: 'From', value: '…' },
      { label: 'To', value: to },
    ];
  }
  if (plan.slots) {
    const notes = colourNotes(request, plan.slots);
    return [
      { label: 'From', value: `${plan.fromImage} (${notes.from})` },
      { label: 'To', value: `${plan.toImage} (${notes.to})` },
    ];
  }
  if (request.undoes !== null) {
    const undone = requestKey(request.undoes);
    return [
      { label: 'From', value: `${plan.fromImage} (what ${undone} deploys)` },
      { label: 'To', value: `${plan.toImage} (revision ${plan.toRevision ?? plan.fromRevision}, before ${undone})` },
    ];
  }
  return [
    { label: 'From', value: `${plan.fromImage} (revision ${plan.fromRevision})` },
    {
      label: 'To',
      value:
        request.kind === 'rollback' && plan.toRevision !== null
          ? `${plan.toImage} (revision ${plan.toRevision})`
          : plan.toImage,
    },
  ];
}

/** Statuses in which the deploy's change may be (or be about to be) in the cluster: its card offers Rollback. */
const ROLLBACK_OFFERED: ReadonlySet<DeployRequest['status']> = new Set([
  'approved',
  'executing',
  'succeeded',
  'failed',
]);

/**
 * **Rollback** of a deploy: `/rollback` bound to this request, so a click after something else changed
 * the target is refused (undo-check.ts). Also on the card an alert for the service gets (alert-deploy-card.ts).
 */
export const rollbackButton = (request: Pick<DeployRequest, 'id' | 'service' | 'environment'>): Button => ({
  label: 'Rollback',
  command: `rollback ${request.service} --env=${request.environment} --undo=${requestKey(request.id)}`,
  style: 'danger',
});

/** The card of a request; `policy` gives the number of approvals needed (absent: config changed, 1 assumed). */
export function requestCard(
  request: DeployRequest,
  policy: ApprovalPolicy | undefined,
  rollout?: RolloutShown,
  people: People = {},
): Card {
  const key = requestKey(request.id);
  const required = policy?.required ?? 1;
  const fields = [
    { label: 'Service', value: request.service },
    { label: 'Environment', value: request.environment },
    ...(request.whereTo ? [{ label: 'Target', value: targetText(request.whereTo) }] : []),
    ...planFields(request),
    { label: 'Strategy', value: request.strategy },
    ...(rollout && 'healthTimeLeft' in rollout && rollout.gates?.length
      ? [{ label: 'Metric gates', value: rollout.gates.join('\n') }]
      : []),
    ...factFields(request.facts),
    { label: 'Requested by', value: mention(request.requester) },
    { label: 'Incident', value: request.incidentId !== null ? incidentKey(request.incidentId) : 'none' },
    {
      label: 'Approvals',
      value: `${request.approvals.length} of ${required}${request.approvals.length ? `: ${approvalNames(request)}` : ''}`,
    },
    ...(request.status === 'pending' ? [{ label: 'Expires', value: timeToken(request.expiresAt) }] : []),
    ...(request.status === 'pending' && policy
      ? [{ label: 'Approvers', value: approverNames(policy.approvers, request.platform, people) }]
      : []),
  ];
  const buttons: Button[] = [];
  if (request.status === 'pending' && request.plan) {
    buttons.push(
      { label: 'Approve', command: `deploy approve ${key}`, style: 'primary' },
      { label: 'Reject', command: `deploy reject ${key}`, style: 'danger' },
    );
  }
  if (request.kind === 'deploy' && ROLLBACK_OFFERED.has(request.status)) buttons.push(rollbackButton(request));
  return {
    title: title(request),
    text: statusLine(request, required, rollout),
    accent: ACCENT[request.status],
    fields,
    ...(buttons.length && { buttons }),
    footer:
      request.status === 'pending'
        ? `Typed: /deploy approve ${key} · /deploy reject ${key} [reason]`
        : `${key} · requested ${timeToken(request.createdAt)}`,
  };
}

export const requestReply = (
  request: DeployRequest,
  policy: ApprovalPolicy | undefined,
  rollout?: RolloutShown,
  people: People = {},
): Reply => channelReply('', requestCard(request, policy, rollout, people));

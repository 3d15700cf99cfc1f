// The card an alert gets when its service was deployed recently: that deploy (version, the one
// before, who asked and who approved, when it finished) and the deploy card's own Rollback button.
import { imageTag, requestKey, type DeployRequest } from '../domain/deploy-request.js';
import { formatDuration } from '../domain/duration.js';
import { channelReply, mention, stripTokens, timeToken, type Reply } from '../ports/reply.js';
import { rollbackButton } from './deploy-card.js';

/** The alert as the card names it (already cleaned text from the delivery). */
export interface AlertNamed {
  /** `alertname`, or the title when there is none. */
  name: string;
  /** Who sent it: Alertmanager, Grafana. */
  source: string;
}

/** Someone of the request as people on `platform` read them: a mention there, else who and where. */
const who = (id: string, via: string, platform: string, person?: string | null) =>
  via === platform ? mention(id) : `${person ?? id} (${via})`;

const OFFERED: ReadonlySet<DeployRequest['status']> = new Set(['executing', 'succeeded', 'failed']);

const shortImage = (image: string) => imageTag(image) ?? image;

/** Minutes (or seconds under a minute) between the deploy's end and the alert. */
const agoText = (ms: number) =>
  formatDuration(ms >= 60_000 ? Math.floor(ms / 60_000) * 60_000 : Math.max(0, Math.floor(ms / 1_000)) * 1_000);

/**
 * `platform`: where the card is posted (mentions only work there). `healthFailed`: the deploy was still
 * being verified and takes the alert as a failed health check (it rolls back by itself).
 */
export function alertDeployCard(
  request: DeployRequest,
  alert: AlertNamed,
  options: { platform: string; now: number; healthFailed: boolean },
): Reply {
  const key = requestKey(request.id);
  const version = request.target ?? (request.plan ? shortImage(request.plan.toImage) : 'unknown');
  const previous = request.plan ? shortImage(request.plan.fromImage) : 'unknown';
  const name = stripTokens(alert.name);
  const source = stripTokens(alert.source);
  const approvers = request.approvals
    .map((a) => who(a.by, a.via ?? request.platform, options.platform, a.person))
    .join(', ');
  const finished = request.finishedAt;
  const text = options.healthFailed
    ? `🩺 ${name} (${source}) is firing while ${key} is still being verified: it counts as a failed health check, so ${request.service} rolls back to ${previous} by itself.`
    : `🔔 ${name} (${source}) is firing${finished !== null ? ` ${agoText(options.now - finished)} after ${key} finished` : ` while ${key} rolls out`}. If this deploy caused it, **Rollback** asks for the usual approval to return ${request.service} to ${previous}.`;
  return channelReply(`${request.service} ${version} was deployed recently (${key}): ${name} is firing`, {
    title: `🚀 Recent deploy of ${request.service}: ${version} (${key})`,
    text,
    accent: options.healthFailed ? 'danger' : 'warning',
    fields: [
      { label: 'Service', value: request.service },
      { label: 'Environment', value: request.environment },
      { label: 'Version', value: version },
      { label: 'Previous version', value: previous },
      {
        label: 'Requested by',
        value: who(request.requester, request.platform, options.platform, request.requesterPerson),
      },
      { label: 'Approved by', value: approvers || 'nobody' },
      {
        label: 'Finished',
        value:
          finished !== null
            ? timeToken(finished)
            : request.status === 'executing'
              ? 'not yet: rolling out or being verified'
              : request.status,
      },
      { label: 'Alert', value: `${name} (${source})` },
    ],
    // Once rolled back or stopped, a Rollback would be refused: none is offered.
    ...(OFFERED.has(request.status) && { buttons: [rollbackButton(request)] }),
    footer: `${key} · Rollback opens a rollback request that needs approval like any other.`,
  });
}

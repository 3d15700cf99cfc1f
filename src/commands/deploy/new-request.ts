// What /deploy and /rollback share: service, environment, strategy, incident and room checks, and
// recording the request with its follow-up jobs. Nothing is written until every check passed.
import { DEFAULT_ENVIRONMENT } from '../../config/defaults.js';
import { environmentTarget, targetEnvironments } from '../../config/environments.js';
import {
  STRATEGIES,
  type ApprovalPolicy,
  type KubernetesTarget,
  type ServiceConfig,
  type Strategy,
} from '../../config/types.js';
import { requestKey, targetRefOf, type DeployRequest, type RequestKind } from '../../domain/deploy-request.js';
import { incidentKey, OPEN_STATUSES, parseIncidentKey, type Incident } from '../../domain/incident.js';
import { conflict, FirelaneError, invalidInput, notFound } from '../../errors.js';
import { actorOf, chatPlatform } from '../command.js';
import type { HandlerContext } from '../context.js';
import { tokenText, type Token } from '../parse-command.js';
import { mention } from '../../ports/reply.js';
import { prepareJobKey } from '../../flows/change-request.js';
import { EXPIRE_REQUEST, PREPARE_REQUEST } from '../../ports/jobs.js';

/** Where the card goes when the command came from no conversation (the CLI): a console room. */
export const CONSOLE_DEPLOY_ROOM = 'deploys';

export interface RequestBasics {
  service: string;
  kubernetes: KubernetesTarget;
  environment: string;
  policy: ApprovalPolicy;
  strategy: Strategy;
  incident: Incident | undefined;
  /** The incident was named (--incident), not taken from the war room or as the only open one. */
  incidentNamed: boolean;
  /** The command's usage, for a refusal decided in its write. */
  usage: string;
  roomId: string;
  /** The request holding this target's rollout lock, if one runs now. */
  running: DeployRequest | undefined;
}

const list = (names: string[]) => names.map((n) => `\`${n}\``).join(', ');

function takeService(
  ctx: HandlerContext,
  token: Token | undefined,
  usage: string,
): { name: string; service: ServiceConfig } {
  const services = ctx.deps.config.services;
  const configured = Object.keys(services);
  if (!token) throw invalidInput('Name the service.', usage);
  const name = tokenText(token);
  const service = Object.hasOwn(services, name) ? services[name] : undefined;
  if (!service) {
    throw notFound(
      configured.length
        ? `Unknown service "${name}". Configured services: ${list(configured)}.`
        : `Unknown service "${name}": no services are configured (add them under \`services:\` in firelane.yaml).`,
      usage,
    );
  }
  return { name, service };
}

/** --env picks the target and the approval rules together: one flag, never one without the other. */
function takeEnvironment(
  ctx: HandlerContext,
  name: string,
  service: ServiceConfig,
  usage: string,
): { environment: string; kubernetes: KubernetesTarget; policy: ApprovalPolicy } {
  const environment = ctx.flags.env ?? DEFAULT_ENVIRONMENT;
  const target = environmentTarget(service, environment);
  if (!target) {
    const known = targetEnvironments(service);
    throw invalidInput(
      known.length
        ? `${name} has no target in ${environment}. It deploys to: ${list(known)}.`
        : `${name} has no \`kubernetes\` target in firelane.yaml, so firelane cannot deploy it.`,
      usage,
    );
  }
  const approvals = ctx.deps.config.approvals;
  const policy = Object.hasOwn(approvals, environment) ? approvals[environment] : undefined;
  if (!policy)
    throw invalidInput(
      `Nothing guards ${environment}: add \`approvals.${environment}\` with its approvers to firelane.yaml.`,
      usage,
    );
  if (policy.approvers.length === 0) {
    throw invalidInput(
      `Nobody may approve a deploy to ${environment}: list approvers under \`approvals.${environment}.approvers\` in firelane.yaml.`,
      usage,
    );
  }
  return { environment, kubernetes: target.kubernetes, policy };
}

function takeStrategy(ctx: HandlerContext, kubernetes: KubernetesTarget, usage: string): Strategy {
  const given = ctx.flags.strategy;
  if (given !== undefined && !(STRATEGIES as readonly string[]).includes(given)) {
    throw invalidInput(`Unknown strategy "${given}": use ${STRATEGIES.join(', ')}.`, usage);
  }
  const strategy = (given as Strategy | undefined) ?? kubernetes.strategy;
  if (strategy === 'blue-green' && kubernetes.service === undefined) {
    throw invalidInput(
      `blue-green needs the Service in front of the pods: set \`kubernetes.service\` of this service in firelane.yaml, or use --strategy=${kubernetes.strategy}.`,
      usage,
    );
  }
  return strategy;
}

/**
 * The incident a request belongs to: --incident=INC-n; else the war room's incident when typed in
 * one; else the only open incident. With several open and no hint, none: guessing could put a
 * deploy on the wrong timeline.
 */
export async function takeIncident(ctx: HandlerContext, usage: string): Promise<Incident | undefined> {
  const { store } = ctx.deps;
  const given = ctx.flags.incident;
  if (given !== undefined) {
    const id = parseIncidentKey(given);
    const incident = id === undefined ? undefined : await store.incidents.get(id);
    if (!incident)
      throw notFound(`${given.toUpperCase()} does not exist. See open incidents with /incident list.`, usage);
    if (!isOpen(incident)) throw resolvedIncident(incident, usage);
    return incident;
  }
  const { roomId } = ctx.input;
  const here = roomId ? await store.incidents.byRoom(chatPlatform(ctx.input.platform), roomId) : undefined;
  if (here) return isOpen(here) ? here : undefined;
  const open = await store.incidents.listOpen(2);
  return open.length === 1 ? open[0] : undefined;
}

const isOpen = (incident: Incident) => (OPEN_STATUSES as readonly string[]).includes(incident.status);

/**
 * The incident `takeIncident` chose, as it is now: read in the write transaction (on PostgreSQL FOR
 * UPDATE, so a resolve on another replica waits for this write, or this sees it resolved). Resolved
 * meanwhile, a named incident is refused as before the write, and a guessed one (the war room's, the
 * only open one) is left out, as takeIncident leaves out a resolved one.
 */
export async function openIncidentNow(
  ctx: HandlerContext,
  chosen: Incident | undefined,
  named: boolean,
  usage: string,
): Promise<Incident | undefined> {
  if (!chosen) return undefined;
  const incident = (await ctx.deps.store.incidents.get(chosen.id)) ?? chosen;
  if (isOpen(incident)) return incident;
  if (named) throw resolvedIncident(incident, usage);
  return undefined;
}

const resolvedIncident = (incident: Incident, usage: string) =>
  invalidInput(`${incidentKey(incident.id)} is resolved; link an open incident.`, usage);

export function takeRoom(ctx: HandlerContext, incident: Incident | undefined, usage: string): string {
  if (ctx.input.roomId) return ctx.input.roomId;
  const platform = chatPlatform(ctx.input.platform);
  if (incident?.roomId && incident.platform === platform) return incident.roomId;
  if (platform === 'console') return CONSOLE_DEPLOY_ROOM;
  throw invalidInput('Run this in a channel: the request card with Approve and Reject is posted there.', usage);
}

/** Every check that needs no cluster read: service, environment, strategy, incident, room; and what runs there now. */
export async function requestBasics(
  ctx: HandlerContext,
  serviceToken: Token | undefined,
  usage: string,
): Promise<RequestBasics> {
  const { name, service } = takeService(ctx, serviceToken, usage);
  const { environment, kubernetes, policy } = takeEnvironment(ctx, name, service, usage);
  const strategy = takeStrategy(ctx, kubernetes, usage);
  if (!ctx.deps.cluster) {
    throw new FirelaneError(
      'upstream',
      `firelane cannot deploy or roll back: ${ctx.deps.clusterProblem ?? 'Kubernetes is not connected (see KUBECONFIG)'}.`,
    );
  }
  const running = await ctx.deps.store.deploys.running(name, environment);
  const incident = await takeIncident(ctx, usage);
  return {
    service: name,
    kubernetes,
    environment,
    policy,
    strategy,
    incident,
    incidentNamed: ctx.flags.incident !== undefined,
    usage,
    roomId: takeRoom(ctx, incident, usage),
    running,
  };
}

/** "payments (production) is being deployed by REQ-3 right now…" */
/** Why a deploy is refused while a rollout of its target runs, and how to stop that rollout. */
export function busyDeployText(basics: Pick<RequestBasics, 'service' | 'environment'>, running: DeployRequest): string {
  const stop = running.kind === 'deploy' ? ` To stop it, /rollback ${basics.service} --env=${basics.environment}.` : '';
  return `${busyText(basics, running)} Ask again when it has finished.${stop}`;
}

export function busyText(basics: Pick<RequestBasics, 'service' | 'environment'>, running: DeployRequest): string {
  return `${basics.service} (${basics.environment}) is being ${running.kind === 'rollback' ? 'rolled back' : 'deployed'} by ${requestKey(running.id)} right now: one rollout at a time per target.`;
}

/** Records the request, its timeline entry, and the jobs that post the card and expire it. */
export async function createRequest(
  ctx: HandlerContext,
  kind: RequestKind,
  basics: RequestBasics,
  target: string | null,
  summary: string,
  options: { undoes?: number } = {},
): Promise<DeployRequest> {
  const { store, clock } = ctx.deps;
  const now = clock.now();
  const actor = ctx.input.actor.id;
  ctx.concerns(basics.incident?.id ?? null);
  return await ctx.write(async () => {
    // Decided with the target held, as an approval holds it (on PostgreSQL, across replicas): an
    // approval either supersedes this request, or committed first and its rollout is found here.
    await store.deploys.holdTarget(basics.service, basics.environment);
    const running = kind === 'deploy' ? await store.deploys.running(basics.service, basics.environment) : undefined;
    if (running) throw conflict(busyDeployText(basics, running));
    const incident = await openIncidentNow(ctx, basics.incident, basics.incidentNamed, basics.usage);
    const request = await store.deploys.create(
      {
        kind,
        service: basics.service,
        environment: basics.environment,
        strategy: basics.strategy,
        requester: actor,
        platform: chatPlatform(ctx.input.platform),
        roomId: basics.roomId,
        target,
        container: basics.kubernetes.container,
        expiresAt: now + basics.policy.expiresAfterMs,
        incidentId: incident?.id ?? null,
        createdAt: now,
        whereTo: { ...targetRefOf(basics.kubernetes), ...(ctx.deps.clusterSimulated && { simulated: true as const }) },
        requesterPerson: actorOf(ctx.input, ctx.deps.config.people).person ?? null,
        undoes: options.undoes ?? null,
      },
      ctx.input.platform,
    );
    if (incident) {
      await store.incidents.addEvent({
        incidentId: incident.id,
        at: now,
        actor,
        platform: ctx.input.platform,
        kind: `${kind}_requested`,
        text: `${requestKey(request.id)}: ${summary} requested by ${mention(actor)}`,
        data: { request: requestKey(request.id) },
      });
    }
    await store.jobs.enqueue({
      kind: PREPARE_REQUEST,
      key: prepareJobKey(request.id),
      payload: { requestId: request.id },
    });
    await store.jobs.enqueue({
      kind: EXPIRE_REQUEST,
      key: `deploy-expire:${request.id}`,
      payload: { requestId: request.id },
      runAt: request.expiresAt,
    });
    return request;
  });
}

// The Kubernetes objects behind a service's strategy (contract: "How the strategies map onto plain
// Kubernetes objects") and what firelane reads of them before and during a deploy.
//
//   rolling     the Deployment `deployment`
//   blue-green  `<deployment>-blue` and `<deployment>-green` (pods labelled slot=blue|green);
//               the Service `service` selects the live one through `slot`
//   canary      `deployment`, plus `<deployment>-canary` made from its template (pods labelled track=canary)
import type { KubernetesTarget, Strategy } from '../config/types.js';
import { isSlot, SLOTS, type ClusterView, type DeployPlan, type Slot } from '../domain/deploy-request.js';
import type { Cluster, DeploymentTarget, ServiceTarget } from '../ports/cluster.js';

export const SLOT_LABEL = 'slot';
export const CANARY_LABELS: Readonly<Record<string, string>> = { track: 'canary' };

export const targetOf = (k: KubernetesTarget): DeploymentTarget => ({
  namespace: k.namespace,
  deployment: k.deployment,
  ...(k.context && { context: k.context }),
});
export const slotTarget = (k: KubernetesTarget, slot: Slot): DeploymentTarget => ({
  ...targetOf(k),
  deployment: `${k.deployment}-${slot}`,
});
export const canaryTarget = (k: KubernetesTarget): DeploymentTarget => ({
  ...targetOf(k),
  deployment: `${k.deployment}-canary`,
});
/** The Service in front of the pods (config requires it for blue-green and canary; the deployment's name otherwise). */
export const serviceTarget = (k: KubernetesTarget): ServiceTarget => ({
  namespace: k.namespace,
  service: k.service ?? k.deployment,
  ...(k.context && { context: k.context }),
});

/** The Deployment whose image and revision a plan's "from" describes. */
export const planTarget = (k: KubernetesTarget, plan: Pick<DeployPlan, 'slots'>): DeploymentTarget =>
  plan.slots ? slotTarget(k, plan.slots.from) : targetOf(k);

/** Replicas the canary holds at a step of `percent`: ceil(p x total / 100), at least 1, at most the total. */
export const canaryReplicas = (percent: number, total: number): number =>
  Math.min(Math.max(total, 1), Math.max(1, Math.ceil((percent * total) / 100)));

/** The live colour the Service selects, or why there is none. */
async function liveSlot(kube: Cluster, k: KubernetesTarget): Promise<{ slot: Slot } | { problem: string }> {
  const target = serviceTarget(k);
  const service = await kube.readService(target);
  if (!service) return { problem: `the Service ${k.namespace}/${target.service} does not exist in the cluster` };
  const slot = service.selector[SLOT_LABEL];
  if (!isSlot(slot)) {
    return {
      problem: `the Service ${k.namespace}/${target.service} selects ${slot === undefined ? `no ${SLOT_LABEL}` : `${SLOT_LABEL}=${slot}`}; blue-green needs its selector to have ${SLOT_LABEL}: blue or ${SLOT_LABEL}: green`,
    };
  }
  return { slot };
}

/** What a plan is made from: the deployment (blue-green: the live colour, and the idle one) and its history. */
export async function readClusterView(
  kube: Cluster,
  k: KubernetesTarget,
  strategy: Strategy,
  container: string,
): Promise<ClusterView> {
  let target = targetOf(k);
  let colours: ClusterView['colours'];
  if (strategy === 'blue-green') {
    const live = await liveSlot(kube, k);
    if ('problem' in live) return { missing: true, revision: 0, image: null, history: [], colours: live };
    target = slotTarget(k, live.slot);
    const idle = await kube.readDeployment(slotTarget(k, live.slot === 'blue' ? 'green' : 'blue'));
    colours = {
      live: live.slot,
      idle: idle ? { image: idle.images[container] ?? null, replicas: idle.desired } : null,
    };
  }
  const deployment = await kube.readDeployment(target);
  if (!deployment) return { missing: true, revision: 0, image: null, history: [], ...(colours && { colours }) };
  const history = await kube.history(target);
  return {
    missing: false,
    revision: deployment.revision,
    image: deployment.images[container] ?? null,
    history: history.map((r) => ({ revision: r.revision, image: r.images[container] ?? null })),
    replicas: deployment.desired,
    ...(colours && { colours }),
  };
}

/** What the plan's "from" looks like now (blue-green: with the slot the Service selects), or null when the deployment is gone. */
export async function readNow(
  kube: Cluster,
  k: KubernetesTarget,
  plan: DeployPlan,
  container: string,
): Promise<{ revision: number; image: string | null; slot?: string } | null> {
  let slot: string | undefined;
  if (plan.slots) {
    const service = await kube.readService(serviceTarget(k));
    slot = service?.selector[SLOT_LABEL];
  }
  const d = await kube.readDeployment(planTarget(k, plan));
  if (!d) return null;
  return { revision: d.revision, image: d.images[container] ?? null, ...(plan.slots && { slot: slot ?? '' }) };
}

async function describeDeployment(kube: Cluster, target: DeploymentTarget, container: string): Promise<string> {
  const where = `${target.namespace}/${target.deployment}`;
  const d = await kube.readDeployment(target);
  if (!d) return `${where} does not exist`;
  const progress = await kube.rolloutProgress(target);
  return `${where} runs ${d.images[container] ?? `no container named ${container}`} (revision ${d.revision}), ${progress.available} of ${progress.desired} replicas available${progress.failure ? `; ${progress.failure}` : ''}`;
}

/** What the cluster shows of a target now, in plain words, for people who must act on it. */
export async function describeCluster(
  kube: Cluster,
  k: KubernetesTarget,
  strategy: Strategy,
  container: string,
): Promise<string> {
  if (strategy === 'blue-green') {
    const service = await kube.readService(serviceTarget(k));
    const live = service?.selector[SLOT_LABEL];
    const colours = await Promise.all(SLOTS.map((slot) => describeDeployment(kube, slotTarget(k, slot), container)));
    return `the Service ${k.namespace}/${serviceTarget(k).service} ${service ? `selects ${live === undefined ? `no ${SLOT_LABEL}` : live}` : 'does not exist'}; ${colours.join('; ')}`;
  }
  const parts = [await describeDeployment(kube, targetOf(k), container)];
  if (strategy === 'canary') {
    const canary = await kube.readDeployment(canaryTarget(k));
    if (canary && canary.desired > 0) parts.push(await describeDeployment(kube, canaryTarget(k), container));
  }
  return parts.join('; ');
}

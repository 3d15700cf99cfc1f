// A working in-memory Kubernetes for the Cluster port: Deployments with ReplicaSet-like history,
// revisions that behave like the deployment controller's, and rollouts that progress per poll.
//
// Kubernetes behaviours kept: a template change gets revision max+1; a template equal to an older
// ReplicaSet's reuses that ReplicaSet, which takes the new revision (its old number leaves the
// history); setting the same image changes nothing; undo copies a revision's template (default:
// the previous one) and is a template change like any other; an unknown Deployment reads as
// undefined, and writing to one fails like a 404.
import type {
  ChangeMeta,
  Cluster,
  DeploymentState,
  DeploymentTarget,
  Revision,
  RolloutProgress,
  ServiceState,
  ServiceTarget,
} from '../../src/ports/cluster.js';

interface ReplicaSet {
  name: string;
  revision: number;
  images: Record<string, string>;
  changeCause?: string;
}

interface Rollout {
  /** rolloutProgress calls until the rollout completes. */
  pollsLeft: number;
  polls: number;
  totalPolls: number;
  failure?: { reason: string; afterPolls: number };
}

interface Deployment {
  namespace: string;
  name: string;
  images: Record<string, string>;
  replicas: number;
  generation: number;
  observedGeneration: number;
  updated: number;
  resourceVersion: number;
  replicaSets: ReplicaSet[];
  rollout?: Rollout;
  paused: boolean;
  deadlineExceeded: boolean;
  /** Pods lost after the rollout (crashing): available replicas until the next template change. */
  lostAvailable?: number;
  /** Pod labels (the selector): `{ app: name }` unless given. */
  labels: Record<string, string>;
}

export interface MemoryClusterOptions {
  /** rolloutProgress calls a rollout takes to complete (default 2). */
  rolloutPolls?: number;
}

export interface AddDeployment {
  namespace: string;
  name: string;
  /** Images by container name; the first revision's template. */
  images: Record<string, string>;
  replicas?: number;
  /** Earlier templates, oldest first: each becomes a revision before the current one. */
  history?: Array<Record<string, string>>;
  /** Pod labels; default `{ app: name }`. */
  labels?: Record<string, string>;
}

/** A change firelane made, in order (for tests that ask "how many rollouts started?"). */
export interface ClusterChange {
  kind: 'set-image' | 'undo' | 'copy' | 'scale' | 'switch';
  /** `namespace/name` of the Deployment, or of the Service for 'switch'. */
  deployment: string;
  revision: number;
  images: Record<string, string>;
  changeCause: string;
  /** 'scale' and 'copy': the replicas set. */
  replicas?: number;
  /** 'switch': the selector after it. */
  selector?: Record<string, string>;
}

export interface MemoryCluster extends Cluster {
  addDeployment(spec: AddDeployment): void;
  /** Completes the running rollout of a deployment (or of all) at once. */
  advance(target?: Pick<DeploymentTarget, 'namespace' | 'deployment'>): void;
  /** The next rollout of this deployment fails with `reason` after `afterPolls` polls (default 1). */
  failNextRollout(
    target: Pick<DeploymentTarget, 'namespace' | 'deployment'>,
    reason: string,
    afterPolls?: number,
  ): void;
  /** Pods of the running version stop being available (crash after the rollout): `available` replicas remain until the next change. */
  loseAvailability(target: Pick<DeploymentTarget, 'namespace' | 'deployment'>, available: number): void;
  /** Someone else changes the image (kubectl set image by hand): a template change, completed at once. */
  changeOutside(target: Pick<DeploymentTarget, 'namespace' | 'deployment'>, container: string, image: string): void;
  addService(spec: { namespace: string; name: string; selector: Record<string, string> }): void;
  /** Names of the Deployments whose pods the Service selects (with ready replicas or not). */
  selectedDeployments(target: Pick<ServiceTarget, 'namespace' | 'service'>): string[];
  readonly changes: ClusterChange[];
}

const keyOf = (t: Pick<DeploymentTarget, 'namespace' | 'deployment'>) => `${t.namespace}/${t.deployment}`;
const sameTemplate = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

class NotFound extends Error {
  readonly statusCode = 404;
  constructor(what: string) {
    super(`${what} not found`);
  }
}

export function createMemoryCluster(options: MemoryClusterOptions = {}): MemoryCluster {
  const rolloutPolls = Math.max(1, options.rolloutPolls ?? 2);
  const deployments = new Map<string, Deployment>();
  const pendingFailures = new Map<string, { reason: string; afterPolls: number }>();
  const changes: ClusterChange[] = [];
  const services = new Map<
    string,
    { namespace: string; name: string; selector: Record<string, string>; resourceVersion: number }
  >();
  let resourceVersion = 1000;
  let rsCounter = 0;

  const revisionOf = (d: Deployment) => Math.max(0, ...d.replicaSets.map((rs) => rs.revision));

  function find(target: Pick<DeploymentTarget, 'namespace' | 'deployment'>): Deployment {
    const d = deployments.get(keyOf(target));
    if (!d) throw new NotFound(`deployments.apps "${target.deployment}" in namespace "${target.namespace}"`);
    return d;
  }

  function state(d: Deployment): DeploymentState {
    const done = !d.rollout;
    return {
      namespace: d.namespace,
      name: d.name,
      images: { ...d.images },
      revision: revisionOf(d),
      generation: d.generation,
      observedGeneration: d.observedGeneration,
      desired: d.replicas,
      updated: d.updated,
      ready: done ? d.replicas : d.updated,
      available: done ? (d.lostAvailable ?? d.replicas) : d.updated,
      paused: d.paused,
      deadlineExceeded: d.deadlineExceeded,
      resourceVersion: String(d.resourceVersion),
    };
  }

  /** The deployment controller's reaction to a template change. */
  function changeTemplate(
    d: Deployment,
    images: Record<string, string>,
    changeCause: string | undefined,
    instant: boolean,
  ): boolean {
    if (sameTemplate(images, d.images)) return false;
    const next = revisionOf(d) + 1;
    const existing = d.replicaSets.find((rs) => sameTemplate(rs.images, images));
    if (existing) {
      existing.revision = next;
      if (changeCause !== undefined) existing.changeCause = changeCause;
    } else {
      d.replicaSets.push({
        name: `${d.name}-${(++rsCounter).toString(16).padStart(6, '0')}`,
        revision: next,
        images: { ...images },
        ...(changeCause !== undefined && { changeCause }),
      });
    }
    d.images = { ...images };
    d.generation++;
    d.resourceVersion = ++resourceVersion;
    d.deadlineExceeded = false;
    delete d.lostAvailable;
    if (instant) {
      d.observedGeneration = d.generation;
      d.updated = d.replicas;
      delete d.rollout;
      return true;
    }
    d.updated = 0;
    const failure = pendingFailures.get(keyOf({ namespace: d.namespace, deployment: d.name }));
    pendingFailures.delete(keyOf({ namespace: d.namespace, deployment: d.name }));
    d.rollout = { pollsLeft: rolloutPolls, polls: 0, totalPolls: rolloutPolls, ...(failure && { failure }) };
    return true;
  }

  function complete(d: Deployment): void {
    if (!d.rollout || d.rollout.failure) return;
    d.observedGeneration = d.generation;
    d.updated = d.replicas;
    delete d.rollout;
    d.resourceVersion = ++resourceVersion;
  }

  function findService(target: Pick<ServiceTarget, 'namespace' | 'service'>) {
    const service = services.get(`${target.namespace}/${target.service}`);
    if (!service) throw new NotFound(`services "${target.service}" in namespace "${target.namespace}"`);
    return service;
  }
  const serviceState = (s: {
    namespace: string;
    name: string;
    selector: Record<string, string>;
    resourceVersion: number;
  }): ServiceState => ({
    namespace: s.namespace,
    name: s.name,
    selector: { ...s.selector },
    resourceVersion: String(s.resourceVersion),
  });
  const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);

  return {
    changes,
    addService(spec) {
      services.set(`${spec.namespace}/${spec.name}`, {
        ...spec,
        selector: { ...spec.selector },
        resourceVersion: ++resourceVersion,
      });
    },
    selectedDeployments(target) {
      const service = findService(target);
      return [...deployments.values()]
        .filter((d) => d.namespace === target.namespace && d.replicas > 0 && selects(service.selector, d.labels))
        .map((d) => d.name)
        .sort();
    },
    addDeployment(spec) {
      const d: Deployment = {
        namespace: spec.namespace,
        name: spec.name,
        images: {},
        replicas: spec.replicas ?? 3,
        generation: 0,
        observedGeneration: 0,
        updated: 0,
        resourceVersion: ++resourceVersion,
        replicaSets: [],
        paused: false,
        deadlineExceeded: false,
        labels: { ...(spec.labels ?? { app: spec.name }) },
      };
      for (const images of [...(spec.history ?? []), spec.images]) changeTemplate(d, images, undefined, true);
      deployments.set(keyOf({ namespace: spec.namespace, deployment: spec.name }), d);
    },
    advance(target) {
      for (const d of target ? [find(target)] : deployments.values()) complete(d);
    },
    failNextRollout(target, reason, afterPolls = 1) {
      pendingFailures.set(keyOf(target), { reason, afterPolls });
    },
    loseAvailability(target, available) {
      find(target).lostAvailable = available;
    },
    changeOutside(target, container, image) {
      const d = find(target);
      changeTemplate(d, { ...d.images, [container]: image }, undefined, true);
    },

    async readDeployment(target) {
      const d = deployments.get(keyOf(target));
      return d && state(d);
    },
    async history(target): Promise<Revision[]> {
      const d = find(target);
      return [...d.replicaSets]
        .sort((a, b) => a.revision - b.revision)
        .map((rs) => ({
          revision: rs.revision,
          replicaSet: rs.name,
          images: { ...rs.images },
          ...(rs.changeCause !== undefined && { changeCause: rs.changeCause }),
        }));
    },
    async setImage(target, container, image, meta: ChangeMeta) {
      const d = find(target);
      if (!(container in d.images)) throw new Error(`unable to find container named "${container}"`);
      if (changeTemplate(d, { ...d.images, [container]: image }, meta.changeCause, false)) {
        changes.push({
          kind: 'set-image',
          deployment: keyOf(target),
          revision: revisionOf(d),
          images: { ...d.images },
          changeCause: meta.changeCause,
        });
      }
      return state(d);
    },
    async rolloutProgress(target): Promise<RolloutProgress> {
      const d = find(target);
      const rollout = d.rollout;
      if (rollout) {
        rollout.polls++;
        d.observedGeneration = d.generation;
        if (rollout.failure && rollout.polls >= rollout.failure.afterPolls) {
          d.deadlineExceeded = /deadline/i.test(rollout.failure.reason);
        } else if (!rollout.failure) {
          rollout.pollsLeft--;
          d.updated = Math.min(d.replicas, Math.ceil((d.replicas * rollout.polls) / rollout.totalPolls));
          if (rollout.pollsLeft <= 0) complete(d);
        }
      }
      const s = state(d);
      const failure =
        d.rollout?.failure && d.rollout.polls >= d.rollout.failure.afterPolls ? d.rollout.failure.reason : undefined;
      return {
        done: !d.rollout,
        ...(failure && { failure }),
        desired: s.desired,
        updated: s.updated,
        ready: s.ready,
        available: s.available,
      };
    },
    async undo(target, meta, toRevision) {
      const d = find(target);
      const current = revisionOf(d);
      const sorted = [...d.replicaSets].sort((a, b) => b.revision - a.revision);
      const wanted =
        toRevision === undefined || toRevision === 0
          ? sorted.find((rs) => rs.revision < current)
          : sorted.find((rs) => rs.revision === toRevision);
      if (!wanted)
        throw new Error(
          toRevision ? `unable to find specified revision ${toRevision} in history` : 'no rollout history found',
        );
      if (changeTemplate(d, wanted.images, meta.changeCause, false)) {
        changes.push({
          kind: 'undo',
          deployment: keyOf(target),
          revision: revisionOf(d),
          images: { ...d.images },
          changeCause: meta.changeCause,
        });
      }
      return state(d);
    },
    async scale(target, replicas, meta) {
      const d = find(target);
      if (d.replicas !== replicas) {
        // Scaling is no template change: no new revision; the pods follow at once here.
        d.replicas = replicas;
        d.generation++;
        d.observedGeneration = d.generation;
        if (!d.rollout) d.updated = replicas;
        else d.updated = Math.min(d.updated, replicas);
        d.resourceVersion = ++resourceVersion;
        changes.push({
          kind: 'scale',
          deployment: keyOf(target),
          revision: revisionOf(d),
          images: { ...d.images },
          changeCause: meta.changeCause,
          replicas,
        });
      }
      return state(d);
    },
    async readService(target) {
      const service = services.get(`${target.namespace}/${target.service}`);
      return service && serviceState(service);
    },
    async setSelector(target, label, value, meta) {
      const service = findService(target);
      if (service.selector[label] !== value) {
        service.selector = { ...service.selector, [label]: value };
        service.resourceVersion = ++resourceVersion;
        changes.push({
          kind: 'switch',
          deployment: `${target.namespace}/${target.service}`,
          revision: 0,
          images: {},
          changeCause: meta.changeCause,
          selector: { ...service.selector },
        });
      }
      return serviceState(service);
    },
    async copyDeployment(from, copy, meta) {
      const source = find(from);
      if (!(copy.container in source.images)) throw new NotFound(`container "${copy.container}" of ${from.deployment}`);
      const images = { ...source.images, [copy.container]: copy.image };
      const key = keyOf({ namespace: from.namespace, deployment: copy.name });
      let d = deployments.get(key);
      if (!d) {
        d = {
          namespace: from.namespace,
          name: copy.name,
          images: {},
          replicas: copy.replicas,
          generation: 0,
          observedGeneration: 0,
          updated: 0,
          resourceVersion: ++resourceVersion,
          replicaSets: [],
          paused: false,
          deadlineExceeded: false,
          labels: { ...source.labels, ...copy.labels },
        };
        deployments.set(key, d);
      }
      d.replicas = copy.replicas;
      if (!changeTemplate(d, images, meta.changeCause, false) && !d.rollout) d.updated = d.replicas;
      changes.push({
        kind: 'copy',
        deployment: key,
        revision: revisionOf(d),
        images: { ...d.images },
        changeCause: meta.changeCause,
        replicas: copy.replicas,
      });
      return state(d);
    },
  };
}

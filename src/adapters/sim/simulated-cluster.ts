// A simulated Kubernetes for the local console (no KUBECONFIG): the Cluster port over Deployments,
// ReplicaSets and Services kept in memory, so /deploy, /rollback, blue-green and canary can be tried
// for real without a cluster.
//
// Kubernetes behaviours kept (as adapters/k8s does on a real cluster):
// - revisions as the deployment controller gives them: a template change gets max+1; a template equal
//   to an older ReplicaSet's reuses that ReplicaSet, which takes the new revision; at most 10 old
//   ReplicaSets are kept (revisionHistoryLimit); the newest ReplicaSet takes the Deployment's
//   change-cause, as the controller copies the Deployment's annotations onto it;
// - setting the same image (or the same replicas, or the same selector label) changes nothing;
// - undo copies a revision's template (default: the previous one; a template equal to the current
//   one is skipped, as kubectl's "skipped rollback"), refused when paused or for an unknown revision;
// - a paused Deployment takes template changes without rolling them out until it is resumed;
// - an unknown Deployment or Service reads as undefined; writing to it fails with statusCode 404.
//
// Progress is a function of the clock, never of timers or of how often someone asks: after a
// template change one replica of the new ReplicaSet comes up every `secondsPerReplica` of clock
// time (updated = ready = available = min(desired, floor(elapsed / secondsPerReplica))); scaling up
// adds replicas at the same pace, scaling down is at once. Nothing here starts a timer, so a
// manual clock drives it deterministically and nothing keeps the process alive.
//
// Health: `setHealthy(namespace, deployment, false)` makes the pods of that Deployment's newest
// ReplicaSet crash (CrashLoopBackOff) at once, and every ReplicaSet the Deployment creates while it
// is unhealthy (also a canary copied from it) crashes too. A crashing ReplicaSet has no ready pods,
// so a finished Deployment loses availability; after one `secondsPerReplica` of crashing the
// rollout reports `pod <name>-<hash>-<x> is in CrashLoopBackOff`, as adapters/k8s does. An older
// ReplicaSet that ran fine keeps running fine when an undo brings it back, so an automatic rollback
// recovers. `setHealthy(..., true)` heals every ReplicaSet of the Deployment (its pods come up again).
import type { KubernetesTarget } from '../../config/types.js';
import { FirelaneError, type ErrorCode } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type {
  ChangeMeta,
  Cluster,
  DeploymentState,
  DeploymentTarget,
  Revision,
  RolloutProgress,
  ServiceState,
  ServiceTarget,
} from '../../ports/cluster.js';

export interface SimulatedClusterOptions {
  clock: Clock;
  /** Clock time, in seconds, one replica takes to be replaced or added (default 2). */
  secondsPerReplica?: number;
}

export interface SimulatedDeploymentSpec {
  namespace: string;
  name: string;
  /** Images by container name: the current template. */
  images: Record<string, string>;
  /** Default 3. */
  replicas?: number;
  /** Pod labels (the selector); default `{ app: name }`. */
  labels?: Record<string, string>;
  /** Earlier templates, oldest first: each becomes a revision before the current one. */
  history?: Array<Record<string, string>>;
  paused?: boolean;
}

export interface SimulatedServiceSpec {
  namespace: string;
  name: string;
  selector: Record<string, string>;
}

/**
 * The Kubernetes part of a firelane.yaml service entry. The image has no tag: the seeded versions
 * are `<image>:v0.9.0` and `<image>:v1.0.0`; the Service defaults to the deployment's name.
 */
export type SeedServiceSpec = Pick<
  KubernetesTarget,
  'namespace' | 'deployment' | 'container' | 'image' | 'strategy' | 'service'
>;

export interface SimulatedDeploymentView {
  namespace: string;
  name: string;
  revision: number;
  images: Record<string, string>;
  labels: Record<string, string>;
  desired: number;
  updated: number;
  ready: number;
  available: number;
  /** The rollout is complete (as `kubectl rollout status` would say). */
  done: boolean;
  failure?: string;
  /** What `setHealthy` set (a canary copy follows the Deployment it was copied from). */
  healthy: boolean;
  paused: boolean;
  changeCause?: string;
}

export interface SimulatedServiceView {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  /** Deployments (with replicas) whose pods the selector matches. */
  selects: string[];
}

export interface SimulatedSnapshot {
  deployments: SimulatedDeploymentView[];
  services: SimulatedServiceView[];
}

export interface SimulatedCluster extends Cluster {
  /** Creates (or replaces) a Deployment whose rollout is complete. */
  addDeployment(spec: SimulatedDeploymentSpec): void;
  /** Creates (or replaces) a Service. */
  addService(spec: SimulatedServiceSpec): void;
  /** Creates what the service entry's strategy needs, leaving objects that exist alone. */
  seedService(service: SeedServiceSpec): void;
  /** false: the pods of the newest ReplicaSet crash, and so do those of ReplicaSets created meanwhile; true: heals them. */
  setHealthy(namespace: string, deployment: string, healthy: boolean): void;
  health(namespace: string, deployment: string): boolean;
  /** `kubectl rollout pause|resume`. */
  setPaused(namespace: string, deployment: string, paused: boolean): void;
  /** A JSON-able snapshot for the console, sorted by namespace and name. */
  describe(): SimulatedSnapshot;
}

/** An API error as adapters/k8s would turn it into: a FirelaneError, with the HTTP status too. */
export class SimulatedApiError extends FirelaneError {
  constructor(
    code: ErrorCode,
    readonly statusCode: number,
    message: string,
  ) {
    super(code, message);
  }
}

const REVISION_HISTORY_LIMIT = 10;

interface Template {
  images: Record<string, string>;
  labels: Record<string, string>;
}

interface ReplicaSet extends Template {
  name: string;
  revision: number;
  changeCause?: string;
  /** Clock time its pods started crashing (unhealthy); absent when healthy. */
  crashingSince?: number;
}

interface Deployment {
  namespace: string;
  name: string;
  /** spec.template */
  template: Template;
  replicas: number;
  generation: number;
  resourceVersion: number;
  replicaSets: ReplicaSet[];
  paused: boolean;
  /** The kubernetes.io/change-cause annotation. */
  changeCause?: string;
  /** Pods of the newest ReplicaSet: `base` at `since`, one more every secondsPerReplica after. */
  progress: { since: number; base: number };
  /** `namespace/name` of the Deployment a copy was made from (the canary). */
  copiedFrom?: string;
}

interface Service {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  resourceVersion: number;
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;
const sameRecord = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
const sameTemplate = (a: Template, b: Template) => sameRecord(a.images, b.images) && sameRecord(a.labels, b.labels);
const sorted = (record: Record<string, string>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const cloneTemplate = (t: Template): Template => ({ images: { ...t.images }, labels: { ...t.labels } });
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** FNV-1a, 32 bits: what Kubernetes hashes pod templates with. */
function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Kubernetes' rand.SafeEncodeString: no vowels, no look-alikes. */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
const safeEncode = (text: string) => [...text].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
const hashText = (text: string) => safeEncode(String(fnv32a(text)).padStart(10, '0'));

const notFound = (what: string) => new SimulatedApiError('not_found', 404, `${what} not found`);

export function createSimulatedCluster(options: SimulatedClusterOptions): SimulatedCluster {
  const { clock } = options;
  const secondsPerReplica = options.secondsPerReplica ?? 2;
  if (!(secondsPerReplica > 0) || !Number.isFinite(secondsPerReplica))
    throw new RangeError(`secondsPerReplica must be a positive number (got ${secondsPerReplica})`);
  const stepMs = secondsPerReplica * 1000;

  const deployments = new Map<string, Deployment>();
  const services = new Map<string, Service>();
  /** Deployments set unhealthy, by `namespace/name` (may name one that does not exist yet). */
  const unhealthy = new Set<string>();
  let resourceVersion = 1000;

  const keyOfDeployment = (d: Deployment) => keyOf(d.namespace, d.name);
  const maxRevision = (d: Deployment) => Math.max(0, ...d.replicaSets.map((rs) => rs.revision));
  const newest = (d: Deployment): ReplicaSet | undefined =>
    d.replicaSets.reduce<ReplicaSet | undefined>((a, rs) => (a && a.revision > rs.revision ? a : rs), undefined);
  const flagged = (d: Deployment) =>
    unhealthy.has(keyOfDeployment(d)) || (d.copiedFrom !== undefined && unhealthy.has(d.copiedFrom));
  const touch = (d: Deployment) => void (d.resourceVersion = ++resourceVersion);

  function find(target: Pick<DeploymentTarget, 'namespace' | 'deployment'>): Deployment {
    const d = deployments.get(keyOf(target.namespace, target.deployment));
    if (!d) throw notFound(`deployments.apps "${target.deployment}"`);
    return d;
  }

  function findService(target: Pick<ServiceTarget, 'namespace' | 'service'>): Service {
    const s = services.get(keyOf(target.namespace, target.service));
    if (!s) throw notFound(`services "${target.service}"`);
    return s;
  }

  /** Pods of the newest ReplicaSet at `now`: created (crash-looping or not) and ready. */
  function podsOf(d: Deployment, now: number): { pods: number; ready: number } {
    const rs = newest(d);
    const at = (t: number) =>
      Math.min(d.replicas, d.progress.base + Math.floor(Math.max(0, t - d.progress.since) / stepMs));
    if (rs?.crashingSince !== undefined && now >= rs.crashingSince) {
      // The rollout stalls: the pods made before the crash (at least the first new one) stay, none ready.
      return { pods: Math.min(d.replicas, Math.max(1, at(Math.max(rs.crashingSince, d.progress.since)))), ready: 0 };
    }
    const pods = at(now);
    return { pods, ready: pods };
  }

  /** A paused Deployment whose template changed: no ReplicaSet has it yet. */
  const pending = (d: Deployment) => {
    const rs = newest(d);
    return !rs || !sameTemplate(rs, d.template);
  };

  function status(
    d: Deployment,
    now: number,
  ): { done: boolean; failure?: string; desired: number; updated: number; ready: number; available: number } {
    const { pods, ready } = podsOf(d, now);
    const updated = pending(d) ? 0 : pods;
    const done = !pending(d) && updated >= d.replicas && ready >= d.replicas;
    const rs = newest(d);
    let failure: string | undefined;
    if (!done && rs?.crashingSince !== undefined && d.replicas > 0 && now - rs.crashingSince >= stepMs) {
      failure = `pod ${rs.name}-${hashText(`${rs.name}/0`).slice(-5)} is in CrashLoopBackOff`;
    }
    return { done, ...(failure && { failure }), desired: d.replicas, updated, ready, available: ready };
  }

  function state(d: Deployment, now: number): DeploymentState {
    const s = status(d, now);
    return {
      namespace: d.namespace,
      name: d.name,
      images: { ...d.template.images },
      revision: maxRevision(d),
      generation: d.generation,
      observedGeneration: d.generation,
      desired: s.desired,
      updated: s.updated,
      ready: s.ready,
      available: s.available,
      paused: d.paused,
      deadlineExceeded: false,
      resourceVersion: String(d.resourceVersion),
    };
  }

  /** The controller copies the Deployment's change-cause onto its newest ReplicaSet. */
  function syncChangeCause(d: Deployment): void {
    const rs = newest(d);
    if (rs && !pending(d) && d.changeCause !== undefined) rs.changeCause = d.changeCause;
  }

  function replicaSetName(d: Deployment, template: Template): string {
    const text = JSON.stringify({ images: sorted(template.images), labels: sorted(template.labels) });
    for (let collisions = 0; ; collisions++) {
      const name = `${d.name}-${hashText(collisions ? `${text}#${collisions}` : text)}`;
      if (!d.replicaSets.some((rs) => rs.name === name)) return name;
    }
  }

  /** The deployment controller's reaction to spec.template: a new (or reused) ReplicaSet rolled out from now. */
  function reconcileTemplate(d: Deployment, now: number): void {
    if (d.paused || !pending(d)) {
      syncChangeCause(d);
      return;
    }
    const revision = maxRevision(d) + 1;
    let rs = d.replicaSets.find((r) => sameTemplate(r, d.template));
    if (rs) {
      rs.revision = revision;
      // Its pods are made again: crashing ones crash again from now.
      if (rs.crashingSince !== undefined) rs.crashingSince = now;
    } else {
      rs = {
        name: replicaSetName(d, d.template),
        revision,
        ...cloneTemplate(d.template),
        ...(flagged(d) && { crashingSince: now }),
      };
      d.replicaSets.push(rs);
    }
    syncChangeCause(d);
    d.progress = { since: now, base: 0 };
    // revisionHistoryLimit: the oldest idle ReplicaSets go.
    const old = d.replicaSets.filter((r) => r !== rs).sort((a, b) => b.revision - a.revision);
    for (const gone of old.slice(REVISION_HISTORY_LIMIT)) d.replicaSets.splice(d.replicaSets.indexOf(gone), 1);
  }

  function checkReplicas(replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new SimulatedApiError(
        'invalid_input',
        422,
        `spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`,
      );
  }

  /** spec.replicas: the pods there are stay (up to the new size); more come one per step. */
  function setReplicas(d: Deployment, replicas: number, now: number): void {
    checkReplicas(replicas);
    const { pods } = podsOf(d, now);
    d.replicas = replicas;
    d.progress = { since: now, base: Math.min(replicas, pods) };
  }

  function create(
    namespace: string,
    name: string,
    template: Template,
    replicas: number,
    now: number,
    extra: Pick<Deployment, 'changeCause' | 'copiedFrom'>,
  ): Deployment {
    const d: Deployment = {
      namespace,
      name,
      template: cloneTemplate(template),
      replicas,
      generation: 1,
      resourceVersion: ++resourceVersion,
      replicaSets: [],
      paused: false,
      progress: { since: now, base: 0 },
      ...(extra.changeCause !== undefined && { changeCause: extra.changeCause }),
      ...(extra.copiedFrom !== undefined && { copiedFrom: extra.copiedFrom }),
    };
    reconcileTemplate(d, now);
    deployments.set(keyOf(namespace, name), d);
    return d;
  }

  function addDeployment(spec: SimulatedDeploymentSpec): void {
    const now = clock.now();
    const labels = { ...(spec.labels ?? { app: spec.name }) };
    const replicas = spec.replicas ?? 3;
    const [first, ...rest] = [...(spec.history ?? []), spec.images];
    const d = create(spec.namespace, spec.name, { images: first!, labels }, replicas, now, {});
    for (const images of rest) {
      d.template = { images: { ...images }, labels };
      reconcileTemplate(d, now);
    }
    // Added as it would be found: rolled out.
    d.progress = { since: now, base: replicas };
    d.paused = spec.paused ?? false;
  }

  function addService(spec: SimulatedServiceSpec): void {
    services.set(keyOf(spec.namespace, spec.name), {
      namespace: spec.namespace,
      name: spec.name,
      selector: { ...spec.selector },
      resourceVersion: ++resourceVersion,
    });
  }

  /** The Deployment of this key and the copies made from it. */
  const family = (key: string) =>
    [...deployments.values()].filter((d) => keyOfDeployment(d) === key || d.copiedFrom === key);

  const serviceState = (s: Service): ServiceState => ({
    namespace: s.namespace,
    name: s.name,
    selector: { ...s.selector },
    resourceVersion: String(s.resourceVersion),
  });

  return {
    addDeployment,
    addService,

    seedService(service) {
      const { namespace, deployment, container } = service;
      const images = (version: string) => ({ [container]: `${service.image}:${version}` });
      const ensure = (spec: SimulatedDeploymentSpec) =>
        void (deployments.has(keyOf(namespace, spec.name)) || addDeployment(spec));
      const ensureService = (selector: Record<string, string>) => {
        const name = service.service ?? deployment;
        if (!services.has(keyOf(namespace, name))) addService({ namespace, name, selector });
      };
      const app = { app: deployment };
      switch (service.strategy) {
        case 'rolling':
          ensure({
            namespace,
            name: deployment,
            images: images('v1.0.0'),
            history: [images('v0.9.0')],
            replicas: 3,
            labels: app,
          });
          if (service.service !== undefined) ensureService(app);
          break;
        case 'blue-green':
          ensure({
            namespace,
            name: `${deployment}-blue`,
            images: images('v1.0.0'),
            replicas: 3,
            labels: { ...app, slot: 'blue' },
          });
          ensure({
            namespace,
            name: `${deployment}-green`,
            images: images('v0.9.0'),
            replicas: 3,
            labels: { ...app, slot: 'green' },
          });
          ensureService({ ...app, slot: 'blue' });
          break;
        case 'canary':
          ensure({
            namespace,
            name: deployment,
            images: images('v1.0.0'),
            history: [images('v0.9.0')],
            replicas: 4,
            labels: app,
          });
          ensureService(app);
          break;
      }
    },

    setHealthy(namespace, deployment, healthy) {
      const key = keyOf(namespace, deployment);
      const now = clock.now();
      if (!healthy) {
        if (unhealthy.has(key)) return;
        unhealthy.add(key);
        for (const d of family(key)) {
          const rs = newest(d);
          if (rs && rs.crashingSince === undefined) {
            rs.crashingSince = now;
            touch(d);
          }
        }
        return;
      }
      if (!unhealthy.delete(key)) return;
      for (const d of family(key)) {
        if (flagged(d)) continue;
        const rs = newest(d);
        const wasCrashing = rs?.crashingSince !== undefined;
        // The pods of the newest ReplicaSet have to come up again, one per step.
        if (wasCrashing) d.progress = { since: now, base: 0 };
        for (const r of d.replicaSets) delete r.crashingSince;
        if (wasCrashing) touch(d);
      }
    },

    health(namespace, deployment) {
      const d = deployments.get(keyOf(namespace, deployment));
      return d ? !flagged(d) : !unhealthy.has(keyOf(namespace, deployment));
    },

    setPaused(namespace, deployment, paused) {
      const d = find({ namespace, deployment });
      if (d.paused === paused) return;
      d.paused = paused;
      touch(d);
      if (!paused) reconcileTemplate(d, clock.now());
    },

    describe() {
      const now = clock.now();
      const byName = <T extends { namespace: string; name: string }>(a: T, b: T) =>
        keyOf(a.namespace, a.name).localeCompare(keyOf(b.namespace, b.name));
      return {
        deployments: [...deployments.values()].sort(byName).map((d): SimulatedDeploymentView => {
          const s = status(d, now);
          return {
            namespace: d.namespace,
            name: d.name,
            revision: maxRevision(d),
            images: { ...d.template.images },
            labels: { ...d.template.labels },
            desired: s.desired,
            updated: s.updated,
            ready: s.ready,
            available: s.available,
            done: s.done,
            ...(s.failure !== undefined && { failure: s.failure }),
            healthy: !flagged(d),
            paused: d.paused,
            ...(d.changeCause !== undefined && { changeCause: d.changeCause }),
          };
        }),
        services: [...services.values()].sort(byName).map((s) => ({
          namespace: s.namespace,
          name: s.name,
          selector: { ...s.selector },
          selects: [...deployments.values()]
            .filter((d) => d.namespace === s.namespace && d.replicas > 0 && selects(s.selector, d.template.labels))
            .map((d) => d.name)
            .sort(),
        })),
      };
    },

    async readDeployment(target) {
      const d = deployments.get(keyOf(target.namespace, target.deployment));
      return d && state(d, clock.now());
    },

    async history(target) {
      const d = find(target);
      return [...d.replicaSets]
        .sort((a, b) => a.revision - b.revision)
        .map((rs): Revision => ({
          revision: rs.revision,
          replicaSet: rs.name,
          images: { ...rs.images },
          ...(rs.changeCause !== undefined && { changeCause: rs.changeCause }),
        }));
    },

    async setImage(target, container, image, meta: ChangeMeta) {
      const d = find(target);
      const now = clock.now();
      if (!(container in d.template.images))
        throw new SimulatedApiError('invalid_input', 422, `unable to find container named "${container}"`);
      if (d.template.images[container] !== image) {
        d.template = { ...d.template, images: { ...d.template.images, [container]: image } };
        d.changeCause = meta.changeCause;
        d.generation++;
        touch(d);
        reconcileTemplate(d, now);
      }
      return state(d, now);
    },

    async rolloutProgress(target): Promise<RolloutProgress> {
      return status(find(target), clock.now());
    },

    async undo(target, meta, toRevision) {
      const d = find(target);
      const now = clock.now();
      if (d.paused) {
        throw new SimulatedApiError(
          'conflict',
          409,
          `you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/${d.name}' and try again`,
        );
      }
      const current = maxRevision(d);
      let wanted: ReplicaSet | undefined;
      if (toRevision === undefined || toRevision === 0) {
        wanted = [...d.replicaSets].sort((a, b) => b.revision - a.revision).find((rs) => rs.revision < current);
        if (!wanted)
          throw new SimulatedApiError('not_found', 404, `no rollout history found for deployment "${d.name}"`);
      } else {
        wanted = d.replicaSets.find((rs) => rs.revision === toRevision);
        if (!wanted)
          throw new SimulatedApiError('not_found', 404, `unable to find specified revision ${toRevision} in history`);
      }
      // kubectl: "skipped rollback (current template already matches revision N)".
      if (sameTemplate(wanted, d.template)) return state(d, now);
      d.template = cloneTemplate(wanted);
      d.changeCause = meta.changeCause;
      d.generation++;
      touch(d);
      reconcileTemplate(d, now);
      return state(d, now);
    },

    async scale(target, replicas, meta) {
      const d = find(target);
      const now = clock.now();
      if (d.replicas !== replicas) {
        setReplicas(d, replicas, now);
        d.changeCause = meta.changeCause;
        syncChangeCause(d);
        d.generation++;
        touch(d);
      }
      return state(d, now);
    },

    async readService(target) {
      const s = services.get(keyOf(target.namespace, target.service));
      return s && serviceState(s);
    },

    async setSelector(target, label, value, _meta) {
      const s = findService(target);
      if (s.selector[label] !== value) {
        s.selector = { ...s.selector, [label]: value };
        s.resourceVersion = ++resourceVersion;
      }
      return serviceState(s);
    },

    async copyDeployment(from, copy, meta) {
      const source = find(from);
      const now = clock.now();
      if (!(copy.container in source.template.images)) {
        throw new SimulatedApiError('not_found', 404, `${from.deployment} has no container named ${copy.container}`);
      }
      const template: Template = {
        images: { ...source.template.images, [copy.container]: copy.image },
        labels: { ...source.template.labels, ...copy.labels },
      };
      const copiedFrom = keyOfDeployment(source);
      const existing = deployments.get(keyOf(from.namespace, copy.name));
      if (!existing) {
        checkReplicas(copy.replicas);
        return state(
          create(from.namespace, copy.name, template, copy.replicas, now, {
            changeCause: meta.changeCause,
            copiedFrom,
          }),
          now,
        );
      }
      const d = existing;
      d.copiedFrom = copiedFrom;
      const changed = d.replicas !== copy.replicas || !sameTemplate(d.template, template);
      if (d.replicas !== copy.replicas) setReplicas(d, copy.replicas, now);
      d.template = template;
      d.changeCause = meta.changeCause;
      if (changed) d.generation++;
      touch(d);
      reconcileTemplate(d, now);
      return state(d, now);
    },
  };
}

// The Cluster port on @kubernetes/client-node: client-node only here. Rollout status follows
// `kubectl rollout status`; undo follows `kubectl rollout undo`; patches are strategic merge or
// JSON patches with fieldManager firelane. Kubernetes' errors become firelane errors in plain words.
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1PodTemplateSpec,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import { FirelaneError } from '../../errors.js';
import { canonicalJson } from '../canonical-json.js';
import { findKubeConfig, NO_KUBE_CONFIG, type KubeConfigSources } from './kube-config-sources.js';
import type {
  Cluster,
  DeploymentState,
  DeploymentTarget,
  Revision,
  RolloutProgress,
  ServiceState,
} from '../../ports/cluster.js';

const REVISION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const FIELD_MANAGER = 'firelane';
/** Waiting reasons that mean the new pods will not become ready by themselves. */
const STUCK_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
]);
/** Annotations `kubectl rollout undo` leaves alone on the Deployment. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/** Pod templates equal once the ReplicaSet's pod-template-hash label is ignored. */
function sameTemplate(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  const strip = (t: V1PodTemplateSpec | undefined) => {
    const copy = structuredClone(t ?? {});
    if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash'];
    return canonicalJson(copy);
  };
  return strip(a) === strip(b);
}

/** Restarts of a new pod after which the rollout is called failed even between crash back-offs. */
const MAX_RESTARTS = 3;

export interface KubeClusterOptions extends KubeConfigSources {
  /** A ready KubeConfig (tests). */
  kubeConfig?: KubeConfig;
  /** Hears every failed API call: its HTTP status, or `network` (metrics). */
  onUpstreamError?: (status: string) => void;
}

/**
 * The lookup kubectl makes, without client-node's last resort (with no configuration at all it
 * pretends a cluster answers at http://localhost:8080).
 */
function loadKubeConfig(options: KubeClusterOptions): KubeConfig | undefined {
  if (options.kubeConfig) return options.kubeConfig;
  const source = findKubeConfig(options);
  if (!source) return undefined;
  const kc = new KubeConfig();
  if (source.kind === 'file') kc.loadFromFile(source.path);
  else kc.loadFromCluster();
  return kc;
}

/** A Kubernetes API error in plain words, with firelane's error codes. */
function kubeError(error: unknown, what: string): Error {
  const e = error as { code?: number; body?: unknown; message?: string };
  if (typeof e?.code !== 'number')
    return new FirelaneError('upstream', `Kubernetes could not be reached to ${what}: ${e?.message ?? String(error)}`);
  let reason = '';
  try {
    const body =
      typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
    reason = body?.message ?? '';
  } catch {
    reason = String(e.body ?? '');
  }
  const detail = reason ? `: ${reason}` : '';
  if (e.code === 404) return new FirelaneError('not_found', `Kubernetes has no such object (${what})${detail}`);
  if (e.code === 401 || e.code === 403)
    return new FirelaneError('forbidden', `firelane is not allowed to ${what} (HTTP ${e.code})${detail}`);
  if (e.code === 409)
    return new FirelaneError('conflict', `Kubernetes refused to ${what}: it changed meanwhile${detail}`);
  return new FirelaneError('upstream', `Kubernetes failed to ${what} (HTTP ${e.code})${detail}`);
}

const selectorOf = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

const imagesOf = (template: V1PodTemplateSpec | undefined) =>
  Object.fromEntries((template?.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));

function toState(d: V1Deployment): DeploymentState {
  const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
  return {
    namespace: d.metadata?.namespace ?? '',
    name: d.metadata?.name ?? '',
    images: imagesOf(d.spec?.template),
    revision: Number(d.metadata?.annotations?.[REVISION] ?? 0),
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    desired: d.spec?.replicas ?? 1,
    updated: d.status?.updatedReplicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    paused: d.spec?.paused === true,
    deadlineExceeded: progressing?.reason === 'ProgressDeadlineExceeded',
    resourceVersion: d.metadata?.resourceVersion ?? '',
  };
}

function toServiceState(s: V1Service): ServiceState {
  return {
    namespace: s.metadata?.namespace ?? '',
    name: s.metadata?.name ?? '',
    selector: { ...(s.spec?.selector ?? {}) },
    resourceVersion: s.metadata?.resourceVersion ?? '',
  };
}

/** Why no cluster can be reached with this configuration, or undefined when one can be tried. */
export function kubeConfigProblem(options: KubeClusterOptions = {}): string | undefined {
  try {
    const kc = loadKubeConfig(options);
    if (!kc) return NO_KUBE_CONFIG;
    return kc.getCurrentCluster()
      ? undefined
      : `the kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''} names no current cluster`;
  } catch (error) {
    return `the kubeconfig cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function createKubeCluster(options: KubeClusterOptions = {}): Cluster {
  const fail = (error: unknown, what: string): Error => {
    const code = (error as { code?: unknown })?.code;
    // Our own refusals (a context the kubeconfig lacks) never reached Kubernetes.
    if (!(error instanceof FirelaneError))
      options.onUpstreamError?.(typeof code === 'number' ? String(code) : 'network');
    return kubeError(error, what);
  };
  const missingOrFail = (error: unknown, what: string): Error =>
    (error as { code?: unknown })?.code === 404 ? kubeError(error, what) : fail(error, what);
  const loaded = loadKubeConfig(options);
  if (!loaded) throw new FirelaneError('upstream', NO_KUBE_CONFIG);
  const base = loaded;
  const clients = new Map<string, { apps: AppsV1Api; core: CoreV1Api }>();

  /** One pair of API clients per kubeconfig context. */
  function api(target: { context?: string }) {
    const context = target.context ?? base.getCurrentContext();
    let client = clients.get(context);
    if (!client) {
      const kc = new KubeConfig();
      kc.loadFromString(base.exportConfig());
      if (target.context) {
        if (!kc.getContextObject(target.context))
          throw new FirelaneError('invalid_input', `kubeconfig has no context "${target.context}"`);
        kc.setCurrentContext(target.context);
      }
      client = { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
      clients.set(context, client);
    }
    return client;
  }

  async function read(target: DeploymentTarget): Promise<V1Deployment> {
    try {
      return await api(target).apps.readNamespacedDeployment({ name: target.deployment, namespace: target.namespace });
    } catch (error) {
      throw fail(error, `read deployment ${target.namespace}/${target.deployment}`);
    }
  }

  /** A patch of a Deployment from fieldManager firelane; `what` names it in an error. */
  async function patchDeployment(
    target: DeploymentTarget,
    name: string,
    body: object,
    strategy: PatchStrategy,
    what: string,
  ): Promise<DeploymentState> {
    try {
      const patched = await api(target).apps.patchNamespacedDeployment(
        { name, namespace: target.namespace, body, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', strategy),
      );
      return toState(patched);
    } catch (error) {
      throw fail(error, what);
    }
  }

  /** ReplicaSets the Deployment controls, newest revision first. */
  async function ownedReplicaSets(target: DeploymentTarget, deployment: V1Deployment): Promise<V1ReplicaSet[]> {
    let list;
    try {
      list = await api(target).apps.listNamespacedReplicaSet({
        namespace: target.namespace,
        labelSelector: selectorOf(deployment.spec?.selector?.matchLabels),
      });
    } catch (error) {
      throw fail(error, `list the replica sets of ${target.deployment}`);
    }
    return list.items
      .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === deployment.metadata?.uid))
      .sort(
        (a, b) => Number(b.metadata?.annotations?.[REVISION] ?? 0) - Number(a.metadata?.annotations?.[REVISION] ?? 0),
      );
  }

  /** Pods of the newest ReplicaSet that will not become ready by themselves. */
  async function stuckPods(target: DeploymentTarget, deployment: V1Deployment): Promise<string | undefined> {
    const [newest] = await ownedReplicaSets(target, deployment);
    const hash = newest?.metadata?.labels?.['pod-template-hash'];
    if (!hash) return undefined;
    let pods;
    try {
      pods = await api(target).core.listNamespacedPod({
        namespace: target.namespace,
        labelSelector: `${selectorOf(deployment.spec?.selector?.matchLabels)},pod-template-hash=${hash}`,
      });
    } catch (error) {
      throw fail(error, `list the pods of ${target.deployment}`);
    }
    for (const pod of pods.items) {
      for (const status of pod.status?.containerStatuses ?? []) {
        const waiting = status.state?.waiting?.reason;
        if (waiting && STUCK_REASONS.has(waiting))
          return `pod ${pod.metadata?.name} is in ${waiting}${status.state?.waiting?.message ? ` (${status.state.waiting.message})` : ''}`;
        if ((status.restartCount ?? 0) >= MAX_RESTARTS)
          return `pod ${pod.metadata?.name} restarted ${status.restartCount} times`;
      }
    }
    return undefined;
  }

  return {
    async readDeployment(target) {
      try {
        return toState(await read(target));
      } catch (error) {
        if (error instanceof FirelaneError && error.code === 'not_found') return undefined;
        throw error;
      }
    },

    async history(target) {
      const deployment = await read(target);
      const sets = await ownedReplicaSets(target, deployment);
      return sets
        .map((rs): Revision => ({
          revision: Number(rs.metadata?.annotations?.[REVISION] ?? 0),
          replicaSet: rs.metadata?.name ?? '',
          images: imagesOf(rs.spec?.template),
          ...(rs.metadata?.annotations?.[CHANGE_CAUSE] && { changeCause: rs.metadata.annotations[CHANGE_CAUSE] }),
        }))
        .reverse();
    },

    async setImage(target, container, image, meta) {
      const body = {
        metadata: { annotations: { [CHANGE_CAUSE]: meta.changeCause } },
        spec: { template: { spec: { containers: [{ name: container, image }] } } },
      };
      return patchDeployment(
        target,
        target.deployment,
        body,
        PatchStrategy.StrategicMergePatch,
        `set the image of ${target.namespace}/${target.deployment}`,
      );
    },

    async rolloutProgress(target): Promise<RolloutProgress> {
      const deployment = await read(target);
      const s = toState(deployment);
      const progress = { desired: s.desired, updated: s.updated, ready: s.ready, available: s.available };
      // The decision `kubectl rollout status` makes, in its order. Until the controller has observed
      // the change, status.updatedReplicas still counts the previous ReplicaSet: nothing is updated yet.
      if (s.generation > s.observedGeneration) return { done: false, ...progress, updated: 0 };
      if (s.deadlineExceeded)
        return { done: false, failure: `the rollout exceeded its progress deadline`, ...progress };
      const replicas = deployment.status?.replicas ?? 0;
      const done = s.updated >= s.desired && replicas <= s.updated && s.available >= s.updated;
      if (done) return { done: true, ...progress };
      // Crash loops and pull errors show long before the deadline: say so now.
      const stuck = await stuckPods(target, deployment);
      return stuck ? { done: false, failure: stuck, ...progress } : { done: false, ...progress };
    },

    async undo(target, meta, toRevision) {
      const deployment = await read(target);
      if (deployment.spec?.paused)
        throw new FirelaneError('conflict', `${target.deployment} is paused; resume it before rolling back`);
      const sets = await ownedReplicaSets(target, deployment);
      const current = Number(deployment.metadata?.annotations?.[REVISION] ?? 0);
      const wanted =
        toRevision === undefined
          ? sets.find((rs) => Number(rs.metadata?.annotations?.[REVISION] ?? 0) !== current)
          : sets.find((rs) => Number(rs.metadata?.annotations?.[REVISION] ?? 0) === toRevision);
      if (!wanted) {
        throw new FirelaneError(
          'not_found',
          toRevision === undefined
            ? `${target.deployment} has no previous revision`
            : `${target.deployment} has no revision ${toRevision}`,
        );
      }
      const template = structuredClone(wanted.spec?.template ?? {});
      if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
      if (sameTemplate(template, deployment.spec?.template)) return toState(deployment); // kubectl: "skipped rollback"
      // As kubectl: the Deployment keeps its bookkeeping annotations and takes the others from the
      // ReplicaSet; the change-cause then names this rollback.
      const annotations: Record<string, string> = {};
      for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {}))
        if (ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
      for (const [key, value] of Object.entries(wanted.metadata?.annotations ?? {}))
        if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
      annotations[CHANGE_CAUSE] = meta.changeCause;
      const patch = [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: annotations },
      ];
      return patchDeployment(
        target,
        target.deployment,
        patch,
        PatchStrategy.JsonPatch,
        `roll back ${target.namespace}/${target.deployment}`,
      );
    },

    async scale(target, replicas, meta) {
      // A patch of the Deployment (not the scale subresource): the Role grants patch on deployments.
      const body = { metadata: { annotations: { [CHANGE_CAUSE]: meta.changeCause } }, spec: { replicas } };
      return patchDeployment(
        target,
        target.deployment,
        body,
        PatchStrategy.StrategicMergePatch,
        `scale ${target.namespace}/${target.deployment} to ${replicas}`,
      );
    },

    async readService(target) {
      try {
        return toServiceState(
          await api(target).core.readNamespacedService({ name: target.service, namespace: target.namespace }),
        );
      } catch (error) {
        // A 404 is an answer here, not an upstream error.
        const e = missingOrFail(error, `read service ${target.namespace}/${target.service}`);
        if (e instanceof FirelaneError && e.code === 'not_found') return undefined;
        throw e;
      }
    },

    async setSelector(target, label, value, meta) {
      const body = {
        metadata: { annotations: { [CHANGE_CAUSE]: meta.changeCause } },
        spec: { selector: { [label]: value } },
      };
      try {
        const patched = await api(target).core.patchNamespacedService(
          { name: target.service, namespace: target.namespace, body, fieldManager: FIELD_MANAGER },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        );
        return toServiceState(patched);
      } catch (error) {
        throw fail(error, `switch service ${target.namespace}/${target.service} to ${label}=${value}`);
      }
    },

    async copyDeployment(from, copy, meta) {
      const source = await read(from);
      const template = structuredClone(source.spec?.template ?? {});
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...copy.labels } };
      delete template.metadata.labels!['pod-template-hash'];
      const containers = template.spec?.containers ?? [];
      const container = containers.find((c) => c.name === copy.container);
      if (!container)
        throw new FirelaneError('not_found', `${from.deployment} has no container named ${copy.container}`);
      container.image = copy.image;
      const where = `${from.namespace}/${copy.name}`;
      const apps = api(from).apps;
      let exists = true;
      try {
        await apps.readNamespacedDeployment({ name: copy.name, namespace: from.namespace });
      } catch (error) {
        // A 404 is an answer here, not an upstream error.
        const e = missingOrFail(error, `read deployment ${where}`);
        if (!(e instanceof FirelaneError && e.code === 'not_found')) throw e;
        exists = false;
      }
      if (exists) {
        const patch = [
          { op: 'replace', path: '/spec/template', value: template },
          { op: 'replace', path: '/spec/replicas', value: copy.replicas },
          // Only the change-cause: the controller's bookkeeping annotations stay.
          {
            op: 'add',
            path: `/metadata/annotations/${CHANGE_CAUSE.replace('~', '~0').replace('/', '~1')}`,
            value: meta.changeCause,
          },
        ];
        return patchDeployment(
          from,
          copy.name,
          patch,
          PatchStrategy.JsonPatch,
          `update deployment ${where} from ${from.deployment}`,
        );
      }
      try {
        const { progressDeadlineSeconds, minReadySeconds, revisionHistoryLimit, strategy } = source.spec ?? {};
        const body: V1Deployment = {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name: copy.name,
            namespace: from.namespace,
            labels: { ...source.metadata?.labels, ...copy.labels },
            annotations: { [CHANGE_CAUSE]: meta.changeCause },
          },
          spec: {
            replicas: copy.replicas,
            selector: { matchLabels: { ...source.spec?.selector?.matchLabels, ...copy.labels } },
            template,
            ...(progressDeadlineSeconds !== undefined && { progressDeadlineSeconds }),
            ...(minReadySeconds !== undefined && { minReadySeconds }),
            ...(revisionHistoryLimit !== undefined && { revisionHistoryLimit }),
            ...(strategy !== undefined && { strategy }),
          },
        };
        return toState(
          await apps.createNamespacedDeployment({ namespace: from.namespace, body, fieldManager: FIELD_MANAGER }),
        );
      } catch (error) {
        throw fail(error, `create deployment ${where} from ${from.deployment}`);
      }
    },
  };
}

/**
 * Stateful loopback fake of the Kubernetes API server (apps/v1 Deployments and ReplicaSets, v1 Pods and Services).
 *
 * It speaks the real wire protocol closely enough that the real `kubectl` (get, set image, rollout
 * status/history/undo/pause/resume/restart, scale, patch) and `@kubernetes/client-node` work against it: discovery
 * documents, Status objects for errors, strategic-merge / merge / JSON patches, resourceVersion and generation
 * bookkeeping, LIST with label and field selectors, WATCH streams (newline-delimited `{type, object}`) that can resume
 * from a resourceVersion, and server-side Table output for `kubectl get`.
 *
 * A built-in deployment controller rolls Deployments over time the way kube-controller-manager does: a pod-template
 * change creates (or reuses, on undo) a ReplicaSet `<deployment>-<pod-template-hash>` with the next revision, and every
 * `stepMs` one new pod becomes ready while one old pod goes away. Deployment status (observedGeneration, replica
 * counts, Available/Progressing conditions, ProgressDeadlineExceeded) follows the controller's rules, so
 * `kubectl rollout status` behaves as against a cluster. Images can be made to crash-loop, fail to pull or stall.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';

export interface FakeKubeOptions {
  /** ms between rollout steps (one pod replaced per step); default 50 */
  stepMs?: number;
  /** Default spec.progressDeadlineSeconds of Deployments that do not set one; default 600. */
  progressDeadlineSeconds?: number;
  /**
   * Bearer token the server accepts; default 'fake-kube-token'. A different token gets 401. Requests without an
   * Authorization header are served (kubectl never sends kubeconfig credentials to an http:// server).
   */
  token?: string;
  /** Reported by /version; default { major: '1', minor: '32' }. */
  version?: { major: string; minor: string };
  /**
   * How long the deployment controller takes to observe a changed Deployment (default 1 ms). Until then
   * its status still describes the previous generation, as on a busy real cluster.
   */
  observeDelayMs?: number;
}

export interface DeploymentSpecInput {
  namespace: string;
  name: string;
  replicas: number;
  containers: Array<{ name: string; image: string }>;
  /** Labels of the pods; also the Deployment's selector (matchLabels) and its own labels. Default `{ app: name }`. */
  labels?: Record<string, string>;
  progressDeadlineSeconds?: number;
  /** Extra Deployment annotations (e.g. kubernetes.io/change-cause). */
  annotations?: Record<string, string>;
}

export interface ServiceSpecInput {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  /** Default [{ name: 'http', port: 80, targetPort: 8080 }]. */
  ports?: Array<{ name?: string; port: number; targetPort?: number }>;
}

export interface KubeRequest {
  /** When the request arrived (Date.now(), before its body was read). */
  at: number;
  method: string;
  /** URL path without the query string. */
  path: string;
  /** The raw query string (without '?'), '' when none. */
  query: string;
  contentType?: string;
  /** Parsed JSON (or YAML for apply patches) when the body parses, else the raw text; absent when empty. */
  body?: unknown;
  /** The `fieldManager` query parameter. */
  fieldManager?: string;
  userAgent?: string;
  accept?: string;
}

export interface FakeKubeFailure {
  method?: string;
  /** Matches the URL path (exact string or RegExp). */
  path?: string | RegExp;
  /** Matches the request's Content-Type (e.g. a JSON patch, as `kubectl rollout undo` sends, not a strategic merge). */
  contentType?: string;
  /** HTTP code of the injected Status failure; default 500. */
  code?: number;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface FakeKube {
  url: string; // http://127.0.0.1:<port>
  /** A kubeconfig (cluster server = url, token user, current-context) for kubectl --kubeconfig and KubeConfig.loadFromString. */
  kubeconfigYaml(context?: string): string;
  /** Creates the Deployment at revision 1 with its ReplicaSet and ready pods. */
  addDeployment(spec: DeploymentSpecInput): void;
  addService(spec: ServiceSpecInput): void;
  /** The current object (metadata, spec, status), a snapshot; undefined when absent. */
  deployment(namespace: string, name: string): any;
  replicaSets(namespace: string): any[];
  pods(namespace: string): any[];
  service(namespace: string, name: string): any;
  /** Pods matching the Service's selector (what the Service sends traffic to, ready or not). */
  selectedPods(namespace: string, service: string): any[];
  /**
   * Make new pods of images matching `image` fail: 'CrashLoopBackOff' | 'ImagePullBackOff' (they never become ready;
   * restartCount grows for CrashLoopBackOff). `image` matches a container image exactly, or, when it has no tag or
   * digest, any tag of that repository.
   */
  breakImage(image: string, reason: 'CrashLoopBackOff' | 'ImagePullBackOff'): void;
  /** Let rollouts of this image hang (pods Pending, unschedulable) until the progress deadline passes -> Progressing=False, reason ProgressDeadlineExceeded. */
  stallImage(image: string): void;
  /** Undo breakImage/stallImage for pods created from now on. */
  healImage(image: string): void;
  /** The next matching request(s) get an error Status with this code instead of being served. */
  failNext(failure: FakeKubeFailure): void;
  requests: KubeRequest[];
  /**
   * Each time a Deployment's rollout became complete (as `kubectl rollout status` judges it: observedGeneration has
   * caught up and updated = replicas = available = spec.replicas), once per generation, with when (Date.now()).
   */
  rolloutCompletions: Array<{ namespace: string; name: string; generation: number; at: number }>;
  /** Resolves when the Deployment's rollout is complete (as `kubectl rollout status` judges it); rejects after timeoutMs. */
  waitForRollout(namespace: string, name: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Generic helpers                                                                                               */
/* ------------------------------------------------------------------------------------------------------------ */

type Obj = Record<string, any>;
type Resource = 'deployments' | 'replicasets' | 'pods' | 'services';
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface ResourceInfo {
  group: '' | 'apps';
  apiVersion: string;
  kind: string;
  listKind: string;
  singular: string;
  shortNames: string[];
  verbs: string[];
}

const RESOURCES: Record<Resource, ResourceInfo> = {
  deployments: {
    group: 'apps',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    listKind: 'DeploymentList',
    singular: 'deployment',
    shortNames: ['deploy'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
  replicasets: {
    group: 'apps',
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    listKind: 'ReplicaSetList',
    singular: 'replicaset',
    shortNames: ['rs'],
    verbs: ['get', 'list', 'watch'],
  },
  pods: {
    group: '',
    apiVersion: 'v1',
    kind: 'Pod',
    listKind: 'PodList',
    singular: 'pod',
    shortNames: ['po'],
    verbs: ['delete', 'get', 'list', 'watch'],
  },
  services: {
    group: '',
    apiVersion: 'v1',
    kind: 'Service',
    listKind: 'ServiceList',
    singular: 'service',
    shortNames: ['svc'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
};

const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const HASH_LABEL = 'pod-template-hash';
/** Deployment annotations the controller does not copy onto ReplicaSets (kubernetes/pkg/controller/deployment/util). */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);
const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Drops null/undefined members recursively (the real server stores typed objects, so JSON nulls vanish). */
function stripNulls(v: any): any {
  if (Array.isArray(v)) return v.filter((x) => x !== null && x !== undefined).map(stripNulls);
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = stripNulls(x);
    return out;
  }
  return v;
}
/** Also drops empty objects and arrays: Go's semantic equality treats nil and empty alike. */
function prune(v: any): any {
  if (Array.isArray(v)) {
    const arr = v.map(prune).filter((x) => x !== undefined);
    return arr.length ? arr : undefined;
  }
  if (isObject(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === null ? undefined : v;
}
function canonical(v: any): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}
const sameJson = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** The pod template as compared by the controller: without the pod-template-hash label, nil == empty. */
function normalizeTemplate(t: Obj | undefined): Obj {
  const c = clone(t ?? {});
  if (isObject(c.metadata?.labels)) delete c.metadata.labels[HASH_LABEL];
  return prune(c) ?? {};
}
const templatesEqual = (a: Obj | undefined, b: Obj | undefined) => sameJson(normalizeTemplate(a), normalizeTemplate(b));

/** controller.ComputeHash: FNV-32a of the template, printed in decimal and mapped onto rand.SafeEncodeString's alphabet. */
function templateHash(template: Obj, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(canonical(normalizeTemplate(template)) + (collisionCount ? String(collisionCount) : ''));
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(h >>> 0)].map((c) => alphabet[c.charCodeAt(0) % alphabet.length]).join('');
}
function randomSuffix(n = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** `25%` -> ceil/floor of the percentage of replicas; ints as they are (intstr.GetScaledValueFromIntOrPercent). */
function scaled(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.endsWith('%')) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return roundUp ? Math.ceil(total / 4) : Math.floor(total / 4);
}
function surgeAndUnavailable(d: Obj): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  if (d.spec.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: replicas };
  const ru = d.spec.strategy?.rollingUpdate ?? {};
  let maxSurge = scaled(ru.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = scaled(ru.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1; // as ResolveFenceposts does
  maxUnavailable = Math.min(maxUnavailable, replicas);
  maxSurge = Math.max(maxSurge, 0);
  return { maxSurge, maxUnavailable };
}

/* ---------------------------------------------- label selectors ---------------------------------------------- */

type LabelPredicate = (labels: Record<string, string> | undefined) => boolean;

/** Parses the string form of a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h`). */
function parseLabelSelector(text: string): LabelPredicate {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  const preds: LabelPredicate[] = [];
  for (const raw of terms.map((t) => t.trim()).filter(Boolean)) {
    let m: RegExpMatchArray | null;
    if ((m = raw.match(/^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$/))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(
        list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      preds.push(
        op === 'in'
          ? (l) => l?.[key] !== undefined && values.has(l[key]!)
          : (l) => l?.[key] === undefined || !values.has(l[key]!),
      );
    } else if ((m = raw.match(/^([^\s!=]+)\s*!=\s*(.*)$/))) {
      const [, key, value] = m as unknown as [string, string, string];
      preds.push((l) => l?.[key] !== value);
    } else if ((m = raw.match(/^([^\s!=]+)\s*==?\s*(.*)$/))) {
      const [, key, value] = m as unknown as [string, string, string];
      preds.push((l) => l?.[key] === value);
    } else if ((m = raw.match(/^!\s*([^\s!=]+)$/))) {
      const key = m[1]!;
      preds.push((l) => l?.[key] === undefined);
    } else if (/^[^\s!=()]+$/.test(raw)) {
      preds.push((l) => l?.[raw] !== undefined);
    } else {
      throw new ApiError(400, 'BadRequest', `unable to parse requirement: found '${raw}', expected: identifier`);
    }
  }
  return (labels) => preds.every((p) => p(labels));
}

/** A LabelSelector object (matchLabels + matchExpressions). */
function selectorMatches(selector: Obj | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels?.[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as Obj[]) {
    const has = labels?.[e.key] !== undefined;
    const val = labels?.[e.key];
    const values: string[] = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(val!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(val!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
function selectorString(selector: Obj | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of (selector?.matchExpressions ?? []) as Obj[]) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    if (e.operator === 'Exists') parts.push(e.key);
    if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** Field selectors: metadata.name / metadata.namespace everywhere, plus a few pod fields (`=`, `==`, `!=`). */
function parseFieldSelector(text: string, resource: Resource): (o: Obj) => boolean {
  const allowed = new Set(['metadata.name', 'metadata.namespace']);
  if (resource === 'pods')
    for (const f of ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'status.podIP']) allowed.add(f);
  const preds: Array<(o: Obj) => boolean> = [];
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = raw.match(/^([^!=]+?)\s*(!=|==|=)\s*(.*)$/);
    if (!m) throw new ApiError(400, 'BadRequest', `invalid selector: '${text}'; can't understand '${raw}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!allowed.has(field)) throw new ApiError(400, 'BadRequest', `field label not supported: ${field}`);
    const get = (o: Obj) => String(field.split('.').reduce<any>((x, k) => (x == null ? undefined : x[k]), o) ?? '');
    preds.push(op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (o) => preds.every((p) => p(o));
}

/* ------------------------------------------------- patches ------------------------------------------------- */

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

function unescapePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, 'Invalid', `invalid JSON pointer: ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
function pointerGet(doc: any, tokens: string[]): any {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}
/** RFC 6902 JSON Patch (add, remove, replace, move, copy, test), as evanphx/json-patch applies it. */
function applyJsonPatch(doc: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops))
    throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root: any = clone(doc);
  const parentOf = (tokens: string[], op: string) => {
    const parent = pointerGet(root, tokens.slice(0, -1));
    if (!isObject(parent) && !Array.isArray(parent)) {
      throw new ApiError(422, 'Invalid', `doc is missing path: "/${tokens.join('/')}": missing value`, { op });
    }
    return parent;
  };
  const remove = (tokens: string[], op: string) => {
    const parent = parentOf(tokens, op);
    const last = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      const i = Number(last);
      if (!(i >= 0 && i < parent.length))
        throw new ApiError(
          422,
          'Invalid',
          `remove operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`,
        );
      return parent.splice(i, 1)[0];
    }
    if (!(last in parent))
      throw new ApiError(
        422,
        'Invalid',
        `remove operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`,
      );
    const v = parent[last];
    delete parent[last];
    return v;
  };
  const add = (tokens: string[], value: any, op: string, replace: boolean) => {
    if (tokens.length === 0) {
      root = value;
      return;
    }
    const parent = parentOf(tokens, op);
    const last = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!(i >= 0 && i <= parent.length) || (replace && i >= parent.length)) {
        throw new ApiError(
          422,
          'Invalid',
          `${op} operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`,
        );
      }
      if (replace) parent[i] = value;
      else parent.splice(i, 0, value);
    } else {
      if (replace && !(last in parent)) {
        throw new ApiError(
          422,
          'Invalid',
          `replace operation does not apply: doc is missing key: /${tokens.join('/')}: missing value`,
        );
      }
      parent[last] = value;
    }
  };
  for (const op of ops as Obj[]) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw new ApiError(422, 'Invalid', 'invalid JSON patch operation');
    const tokens = unescapePointer(op.path);
    switch (op.op) {
      case 'add':
        add(tokens, clone(op.value), 'add', false);
        break;
      case 'replace':
        add(tokens, clone(op.value), 'replace', true);
        break;
      case 'remove':
        remove(tokens, 'remove');
        break;
      case 'move': {
        const v = remove(unescapePointer(op.from), 'move');
        add(tokens, v, 'move', false);
        break;
      }
      case 'copy':
        add(tokens, clone(pointerGet(root, unescapePointer(op.from))), 'copy', false);
        break;
      case 'test':
        if (!sameJson(pointerGet(root, tokens), op.value))
          throw new ApiError(422, 'Invalid', `testing value ${op.path} failed: test failed`);
        break;
      default:
        throw new ApiError(422, 'Invalid', `Unexpected kind: ${op.op}`);
    }
  }
  if (!isObject(root)) throw new ApiError(422, 'Invalid', 'patch result is not an object');
  return root;
}

/** RFC 7386 JSON Merge Patch. */
function mergePatch(target: any, patch: any): any {
  if (!isObject(patch)) return clone(patch);
  const out: Obj = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** patchMergeKey of the list fields a deploy bot touches (k8s.io/api struct tags). */
function mergeKeyFor(field: string, path: string, kind: string): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'ports':
      return kind === 'Service' && path === 'spec' ? 'port' : 'containerPort';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'resourceClaims':
      return 'name';
    default:
      return undefined;
  }
}
const PRIMITIVE_MERGE_LISTS = new Set(['finalizers']);

/** Strategic merge patch (apimachinery strategicpatch) for the fields above: merge keys, $patch, $setElementOrder, $retainKeys, $deleteFromPrimitiveList. */
function strategicMerge(target: any, patch: any, path: string, kind: string): any {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return stripNulls(rest);
  }
  if (directive === 'delete') return undefined;
  const out: Obj = isObject(target) ? clone(target) : {};
  const orders: Array<[string, unknown[]]> = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (Array.isArray(v)) orders.push([k.slice('$setElementOrder/'.length), v]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((x: unknown) => !v.includes(x));
      continue;
    }
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const key = mergeKeyFor(k, path, kind);
      const replaceWhole = v.some((e) => isObject(e) && e.$patch === 'replace');
      if (replaceWhole) {
        out[k] = stripNulls(v.filter((e) => !(isObject(e) && e.$patch === 'replace')));
      } else if (key && Array.isArray(out[k])) {
        const list: Obj[] = clone(out[k]);
        for (const el of v) {
          if (!isObject(el)) continue;
          const idx = list.findIndex((x) => isObject(x) && x[key] === el[key]);
          if (el.$patch === 'delete') {
            if (idx >= 0) list.splice(idx, 1);
          } else if (idx >= 0) {
            list[idx] = strategicMerge(list[idx], el, `${childPath}[]`, kind);
          } else {
            list.push(strategicMerge({}, el, `${childPath}[]`, kind));
          }
        }
        out[k] = list;
      } else if (PRIMITIVE_MERGE_LISTS.has(k) && Array.isArray(out[k])) {
        out[k] = [...new Set([...out[k], ...v])];
      } else {
        out[k] = key
          ? v
              .filter((e) => !(isObject(e) && e.$patch === 'delete'))
              .map((e) => strategicMerge({}, e, `${childPath}[]`, kind))
          : stripNulls(v);
      }
    } else if (isObject(v)) {
      const merged = strategicMerge(out[k], v, childPath, kind);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [field, order] of orders) {
    const list = out[field];
    if (!Array.isArray(list)) continue;
    const key = mergeKeyFor(field, path, kind);
    const keyOf = (x: any) => (key && isObject(x) ? x[key] : x);
    const wanted = order.map((o) => (key && isObject(o) ? o[key] : o));
    const rank = (x: any) => {
      const i = wanted.indexOf(keyOf(x));
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    out[field] = list
      .map((x, i) => ({ x, i }))
      .sort((a, b) => rank(a.x) - rank(b.x) || a.i - b.i)
      .map((e) => e.x);
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set<string>(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k) && !(k in patch)) delete out[k];
  }
  return out;
}

/* --------------------------------------------------- tables --------------------------------------------------- */

/** duration.HumanDuration, as kubectl prints AGE. */
function humanAge(fromIso: string | undefined): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(fromIso ?? '')) / 1000)) || 0;
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description: string;
}
function tableColumns(resource: Resource): Column[] {
  const name: Column = {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace.',
  };
  const age: Column = {
    name: 'Age',
    type: 'string',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  };
  switch (resource) {
    case 'deployments':
      return [
        name,
        { name: 'Ready', type: 'string', description: 'Number of the pod with ready state' },
        {
          name: 'Up-to-date',
          type: 'string',
          description:
            'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
        },
        {
          name: 'Available',
          type: 'string',
          description:
            'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
        },
        age,
        { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.' },
        {
          name: 'Images',
          type: 'string',
          priority: 1,
          description: 'Images referenced by each container in the template.',
        },
        { name: 'Selector', type: 'string', priority: 1, description: 'Label selector for pods.' },
      ];
    case 'replicasets':
      return [
        name,
        { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired replicas.' },
        { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of replicas.' },
        {
          name: 'Ready',
          type: 'integer',
          description: 'readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.',
        },
        age,
        { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.' },
        {
          name: 'Images',
          type: 'string',
          priority: 1,
          description: 'Images referenced by each container in the template.',
        },
        {
          name: 'Selector',
          type: 'string',
          priority: 1,
          description: 'Selector is a label query over pods that should match the replica count.',
        },
      ];
    case 'pods':
      return [
        name,
        {
          name: 'Ready',
          type: 'string',
          description: 'The aggregate readiness state of this pod for accepting traffic.',
        },
        { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.' },
        {
          name: 'Restarts',
          type: 'string',
          description: 'The number of times the containers in this pod have been restarted.',
        },
        age,
        { name: 'IP', type: 'string', priority: 1, description: 'IP address allocated to the pod.' },
        { name: 'Node', type: 'string', priority: 1, description: 'Name of the node the pod is assigned to.' },
      ];
    case 'services':
      return [
        name,
        { name: 'Type', type: 'string', description: 'Type determines how the Service is exposed.' },
        { name: 'Cluster-IP', type: 'string', description: 'ClusterIP is the IP address of the service.' },
        {
          name: 'External-IP',
          type: 'string',
          description: 'List of IP addresses for which nodes in the cluster will also accept traffic for this service.',
        },
        { name: 'Port(s)', type: 'string', description: 'The list of ports that are exposed by this service.' },
        age,
        {
          name: 'Selector',
          type: 'string',
          priority: 1,
          description: 'Route service traffic to pods with label keys and values matching this selector.',
        },
      ];
  }
}
function tableCells(resource: Resource, o: Obj): unknown[] {
  const age = humanAge(o.metadata.creationTimestamp);
  const containers = (o.spec?.template?.spec?.containers ?? []) as Obj[];
  switch (resource) {
    case 'deployments':
      return [
        o.metadata.name,
        `${o.status?.readyReplicas ?? 0}/${o.spec.replicas ?? 1}`,
        o.status?.updatedReplicas ?? 0,
        o.status?.availableReplicas ?? 0,
        age,
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image).join(','),
        selectorString(o.spec.selector),
      ];
    case 'replicasets':
      return [
        o.metadata.name,
        o.spec.replicas ?? 0,
        o.status?.replicas ?? 0,
        o.status?.readyReplicas ?? 0,
        age,
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image).join(','),
        selectorString(o.spec.selector),
      ];
    case 'pods': {
      const statuses = (o.status?.containerStatuses ?? []) as Obj[];
      const ready = statuses.filter((c) => c.ready).length;
      const waiting = statuses.map((c) => c.state?.waiting?.reason).find(Boolean);
      const restarts = statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0);
      return [
        o.metadata.name,
        `${ready}/${(o.spec?.containers ?? []).length}`,
        waiting ?? o.status?.phase ?? 'Unknown',
        String(restarts),
        age,
        o.status?.podIP ?? '<none>',
        o.spec?.nodeName ?? '<none>',
      ];
    }
    case 'services': {
      const ports = ((o.spec?.ports ?? []) as Obj[]).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',');
      const sel = Object.entries(o.spec?.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return [
        o.metadata.name,
        o.spec?.type ?? 'ClusterIP',
        o.spec?.clusterIP ?? '<none>',
        '<none>',
        ports || '<none>',
        age,
        sel || '<none>',
      ];
    }
  }
}

/* ------------------------------------------------ the server ------------------------------------------------ */

interface PodInfo {
  createdTick: number;
  mode: 'ok' | 'crash' | 'pull' | 'stall';
}
interface Watcher {
  resource: Resource;
  namespace?: string;
  filter: (o: Obj) => boolean;
  res: http.ServerResponse;
  wrap: (type: string, o: Obj) => Obj;
  timer?: NodeJS.Timeout;
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const stepMs = options.stepMs ?? 50;
  const defaultDeadline = options.progressDeadlineSeconds ?? 600;
  const token = options.token ?? 'fake-kube-token';
  const version = options.version ?? { major: '1', minor: '32' };
  const observeDelayMs = options.observeDelayMs ?? 1;

  const store: Record<Resource, Map<string, Obj>> = {
    deployments: new Map(),
    replicasets: new Map(),
    pods: new Map(),
    services: new Map(),
  };
  const namespaces = new Map<string, string>([['default', nowIso()]]);
  const podInfo = new Map<string, PodInfo>(); // by pod uid
  const progressAt = new Map<string, number>(); // deployment uid -> ms of the Progressing condition's last update
  const imageModes = new Map<string, PodInfo['mode']>();
  const requests: KubeRequest[] = [];
  const rolloutCompletions: FakeKube['rolloutCompletions'] = [];
  const completedGeneration = new Map<string, number>(); // deployment key -> generation whose completion is recorded
  const failures: Array<Required<Pick<FakeKubeFailure, 'code'>> & FakeKubeFailure & { left: number }> = [];
  const watchers = new Set<Watcher>();
  const timers = new Set<NodeJS.Timeout>();
  const MAX_EVENTS = 5000;
  const events: Array<{ rv: number; resource: Resource; type: EventType; object: Obj }> = [];
  let compactedRv = 0;
  let rv = 1000;
  let tick = 0;
  let ipSeq = 10;
  let closed = false;
  const syncQueued = new Set<string>();
  const waiters = new Set<() => void>();

  const key = (ns: string, name: string) => `${ns}/${name}`;
  const touchNamespace = (ns: string) => {
    if (!namespaces.has(ns)) namespaces.set(ns, nowIso());
  };

  /* ------------------------------- storage, resourceVersion, watch fan-out ------------------------------- */

  /** The object as the API returns it for a single GET or a watch event (with apiVersion/kind first). */
  const external = (resource: Resource, o: Obj): Obj => {
    const { apiVersion: _a, kind: _k, ...rest } = clone(o);
    return { apiVersion: RESOURCES[resource].apiVersion, kind: RESOURCES[resource].kind, ...rest };
  };
  const listItem = (o: Obj): Obj => {
    const { apiVersion: _a, kind: _k, ...rest } = clone(o);
    return rest;
  };

  const record = (resource: Resource, type: EventType, o: Obj) => {
    events.push({ rv, resource, type, object: clone(o) });
    if (events.length > MAX_EVENTS) compactedRv = events.shift()!.rv;
    const object = external(resource, o);
    for (const w of watchers) {
      if (w.resource !== resource) continue;
      if (w.namespace && o.metadata.namespace !== w.namespace) continue;
      if (!w.filter(o)) continue;
      w.res.write(JSON.stringify({ type, object: w.wrap(type, object) }) + '\n');
    }
  };

  const noteCompletion = (k: string, d: Obj) => {
    const s = d.status ?? {};
    const want = d.spec?.replicas ?? 1;
    const generation: number = d.metadata.generation;
    const complete =
      (s.observedGeneration ?? 0) >= generation &&
      (s.updatedReplicas ?? 0) === want &&
      (s.replicas ?? 0) === want &&
      (s.availableReplicas ?? 0) === want;
    if (!complete || completedGeneration.get(k) === generation) return;
    completedGeneration.set(k, generation);
    rolloutCompletions.push({ namespace: d.metadata.namespace, name: d.metadata.name, generation, at: Date.now() });
  };

  /**
   * Stores an object the way the registry does: no-op writes change nothing; otherwise resourceVersion moves on and
   * generation increments when the spec changed. Returns the stored object.
   */
  const write = (
    resource: Resource,
    next: Obj,
    manager?: { name: string; subresource?: string; operation?: string },
  ): Obj => {
    const ns: string = next.metadata.namespace;
    const k = key(ns, next.metadata.name);
    const prev = store[resource].get(k);
    const candidate = stripNulls(clone(next));
    candidate.apiVersion = RESOURCES[resource].apiVersion;
    candidate.kind = RESOURCES[resource].kind;
    if (prev) {
      const comparable = (o: Obj) => {
        const { resourceVersion: _r, managedFields: _m, ...meta } = o.metadata;
        return { ...o, metadata: meta };
      };
      if (sameJson(comparable(prev), comparable(candidate))) return prev;
      candidate.metadata.generation = (prev.metadata.generation ?? 1) + (sameJson(prev.spec, candidate.spec) ? 0 : 1);
      candidate.metadata.managedFields = clone(prev.metadata.managedFields);
    } else {
      candidate.metadata.generation = 1;
      candidate.metadata.uid ??= randomUUID();
      candidate.metadata.creationTimestamp ??= nowIso();
    }
    if (manager) {
      const fields: Obj[] = (candidate.metadata.managedFields ??= []);
      const operation = manager.operation ?? 'Update';
      const entry = fields.find(
        (f) => f.manager === manager.name && f.operation === operation && f.subresource === manager.subresource,
      );
      // fieldsV1 is not tracked (always {}); kubectl only needs it to be present
      const value = {
        manager: manager.name,
        operation,
        apiVersion: RESOURCES[resource].apiVersion,
        time: nowIso(),
        fieldsType: 'FieldsV1',
        fieldsV1: {},
        ...(manager.subresource ? { subresource: manager.subresource } : {}),
      };
      if (entry) Object.assign(entry, value);
      else fields.push(value);
    }
    rv++;
    candidate.metadata.resourceVersion = String(rv);
    store[resource].set(k, candidate);
    if (resource === 'deployments') noteCompletion(k, candidate);
    touchNamespace(ns);
    record(resource, prev ? 'MODIFIED' : 'ADDED', candidate);
    if (resource === 'deployments') queueSync(k);
    return candidate;
  };
  const remove = (resource: Resource, o: Obj) => {
    const k = key(o.metadata.namespace, o.metadata.name);
    if (!store[resource].delete(k)) return;
    rv++;
    const gone = clone(o);
    gone.metadata.resourceVersion = String(rv);
    if (resource === 'pods') podInfo.delete(o.metadata.uid);
    record(resource, 'DELETED', gone);
  };

  const list = (resource: Resource, ns?: string) =>
    [...store[resource].values()]
      .filter((o) => !ns || o.metadata.namespace === ns)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const ownedBy = (o: Obj, owner: Obj) =>
    ((o.metadata.ownerReferences ?? []) as Obj[]).some((r) => r.controller && r.uid === owner.metadata.uid);

  /* ------------------------------------------- the controllers ------------------------------------------- */

  const revisionOf = (rs: Obj | undefined) => Number(rs?.metadata?.annotations?.[REVISION] ?? 0) || 0;
  const podReady = (p: Obj) =>
    ((p.status?.conditions ?? []) as Obj[]).some((c) => c.type === 'Ready' && c.status === 'True');
  const modeFor = (template: Obj): PodInfo['mode'] => {
    for (const c of (template.spec?.containers ?? []) as Obj[]) {
      const image = String(c.image ?? '');
      const repo = image.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
      const mode = imageModes.get(image) ?? imageModes.get(repo);
      if (mode) return mode;
    }
    return 'ok';
  };

  const podStatus = (pod: Obj, info: PodInfo, ready: boolean, restarts = 0): Obj => {
    const containers = (pod.spec.containers ?? []) as Obj[];
    const start = pod.status?.startTime ?? nowIso();
    const t = nowIso();
    const cond = (type: string, ok: boolean, reason?: string) => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: t,
      ...(reason ? { reason } : {}),
    });
    if (info.mode === 'stall') {
      return {
        phase: 'Pending',
        conditions: [
          {
            ...cond('PodScheduled', false, 'Unschedulable'),
            message:
              '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
          },
        ],
        qosClass: 'BestEffort',
      };
    }
    const podIP: string = pod.status?.podIP ?? `10.244.0.${(ipSeq++ % 250) + 2}`;
    const base = {
      hostIP: '10.0.0.2',
      hostIPs: [{ ip: '10.0.0.2' }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: start,
      qosClass: 'BestEffort',
    };
    const conditions = [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', true),
      cond('Ready', ready, ready ? undefined : 'ContainersNotReady'),
      cond('ContainersReady', ready, ready ? undefined : 'ContainersNotReady'),
      cond('PodScheduled', true),
    ];
    const containerStatuses = containers.map((c) => {
      const s: Obj = {
        name: c.name,
        image: c.image,
        imageID: '',
        ready,
        restartCount: 0,
        started: ready,
        containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
      };
      if (info.mode === 'crash') {
        s.restartCount = restarts;
        s.started = false;
        s.imageID = `docker.io/library/${c.image}@sha256:${'0'.repeat(64)}`;
        s.state = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.min(300, 10 * 2 ** Math.max(0, restarts - 1))}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        };
        if (restarts > 0)
          s.lastState = {
            terminated: { exitCode: 1, reason: 'Error', startedAt: start, finishedAt: t, containerID: s.containerID },
          };
      } else if (info.mode === 'pull') {
        delete s.containerID;
        s.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } };
      } else if (ready) {
        s.imageID = `docker.io/library/${c.image}@sha256:${'0'.repeat(64)}`;
        s.state = { running: { startedAt: start } };
      } else {
        delete s.containerID;
        s.state = { waiting: { reason: 'ContainerCreating' } };
      }
      return s;
    });
    return {
      ...base,
      phase: info.mode === 'pull' || (!ready && info.mode === 'ok') ? 'Pending' : 'Running',
      conditions,
      containerStatuses,
    };
  };

  const createPod = (rs: Obj, readyNow: boolean) => {
    const template = rs.spec.template as Obj;
    let name: string;
    do name = `${rs.metadata.name}-${randomSuffix()}`;
    while (store.pods.has(key(rs.metadata.namespace, name)));
    const info: PodInfo = { createdTick: tick, mode: readyNow ? 'ok' : modeFor(template) };
    const pod: Obj = {
      metadata: {
        name,
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        uid: randomUUID(),
        labels: clone(template.metadata?.labels ?? {}),
        annotations: clone(template.metadata?.annotations ?? undefined),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name,
            uid: rs.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        ...clone(template.spec),
        nodeName: 'fake-node-1',
        serviceAccountName: template.spec?.serviceAccountName ?? 'default',
      },
    };
    podInfo.set(pod.metadata.uid, info);
    pod.status = podStatus(pod, info, readyNow);
    write('pods', pod, { name: 'kube-controller-manager' });
  };

  /** ReplicaSet controller: pods follow spec.replicas; status counts them. */
  const reconcileReplicaSet = (rs0: Obj, instantReady = false) => {
    const rs = store.replicasets.get(key(rs0.metadata.namespace, rs0.metadata.name));
    if (!rs) return;
    let pods = list('pods', rs.metadata.namespace).filter((p) => ownedBy(p, rs));
    const want = rs.spec.replicas ?? 1;
    for (let i = pods.length; i < want; i++) createPod(rs, instantReady);
    if (pods.length > want) {
      // like the ReplicaSet controller: not-ready pods first, then the newest
      const victims = [...pods].sort(
        (a, b) =>
          Number(podReady(a)) - Number(podReady(b)) ||
          (b.metadata.creationTimestamp > a.metadata.creationTimestamp ? 1 : -1),
      );
      for (const p of victims.slice(0, pods.length - want)) remove('pods', p);
    }
    pods = list('pods', rs.metadata.namespace).filter((p) => ownedBy(p, rs));
    const ready = pods.filter(podReady).length;
    const next = clone(rs);
    next.status = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    };
    if (!ready) delete next.status.readyReplicas;
    if (!ready) delete next.status.availableReplicas;
    if (!pods.length) delete next.status.fullyLabeledReplicas;
    write('replicasets', next, { name: 'kube-controller-manager', subresource: 'status' });
  };
  const setReplicas = (rs: Obj, replicas: number, d: Obj) => {
    const cur = store.replicasets.get(key(rs.metadata.namespace, rs.metadata.name));
    if (!cur) return;
    const next = clone(cur);
    next.spec.replicas = Math.max(0, replicas);
    next.metadata.annotations = {
      ...next.metadata.annotations,
      [DESIRED_REPLICAS]: String(d.spec.replicas ?? 1),
      [MAX_REPLICAS]: String((d.spec.replicas ?? 1) + surgeAndUnavailable(d).maxSurge),
    };
    write('replicasets', next, { name: 'kube-controller-manager' });
  };

  const copyAnnotations = (d: Obj, rs: Obj): boolean => {
    let changed = false;
    rs.metadata.annotations ??= {};
    for (const [k, v] of Object.entries((d.metadata.annotations ?? {}) as Record<string, string>)) {
      if (ANNOTATIONS_TO_SKIP.has(k) || rs.metadata.annotations[k] === v) continue;
      rs.metadata.annotations[k] = v;
      changed = true;
    }
    return changed;
  };

  const createReplicaSet = (d: Obj, revision: number): Obj => {
    const ns = d.metadata.namespace;
    let collision = 0;
    let hash = templateHash(d.spec.template);
    for (;;) {
      const clash = store.replicasets.get(key(ns, `${d.metadata.name}-${hash}`));
      if (!clash) break;
      hash = templateHash(d.spec.template, ++collision);
    }
    const template = clone(d.spec.template);
    template.metadata ??= {};
    template.metadata.labels = { ...template.metadata.labels, [HASH_LABEL]: hash };
    const { maxSurge } = surgeAndUnavailable(d);
    const rs: Obj = {
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: ns,
        labels: clone(template.metadata.labels),
        annotations: {
          [DESIRED_REPLICAS]: String(d.spec.replicas ?? 1),
          [MAX_REPLICAS]: String((d.spec.replicas ?? 1) + maxSurge),
          [REVISION]: String(revision),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata.name,
            uid: d.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector: { ...clone(d.spec.selector), matchLabels: { ...d.spec.selector?.matchLabels, [HASH_LABEL]: hash } },
        template,
      },
      status: { replicas: 0 },
    };
    copyAnnotations(d, rs);
    return write('replicasets', rs, { name: 'kube-controller-manager' });
  };

  /** One pass of the deployment controller; `step` also advances a rolling update by one pod. */
  const syncDeployment = (k: string, step: boolean, instantReady = false) => {
    const d0 = store.deployments.get(k);
    if (!d0) return;
    const d = clone(d0);
    const ns: string = d.metadata.namespace;
    const desired: number = d.spec.replicas ?? 1;
    const paused = d.spec.paused === true;
    const owned = () => list('replicasets', ns).filter((rs) => ownedBy(rs, d));
    let rsList = owned();
    let newRS = rsList.find((rs) => templatesEqual(rs.spec.template, d.spec.template));
    let event: 'created' | 'found' | undefined;

    if (!paused) {
      const maxRev = Math.max(0, ...rsList.filter((rs) => rs !== newRS).map(revisionOf));
      if (!newRS) {
        newRS = createReplicaSet(d, maxRev + 1);
        event = 'created';
      } else {
        const next = clone(newRS);
        let changed = copyAnnotations(d, next);
        const rev = revisionOf(newRS);
        if (rev <= maxRev) {
          const history = [next.metadata.annotations[REVISION_HISTORY], String(rev)].filter(Boolean).join(',');
          next.metadata.annotations[REVISION] = String(maxRev + 1);
          next.metadata.annotations[REVISION_HISTORY] = history;
          changed = true;
          event = 'found';
        }
        if (changed) newRS = write('replicasets', next, { name: 'kube-controller-manager' });
      }
      d.metadata.annotations = { ...d.metadata.annotations, [REVISION]: String(revisionOf(newRS)) };
    }
    rsList = owned();
    const olds = rsList.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    const oldTotal = () =>
      olds.reduce((n, rs) => n + (store.replicasets.get(key(ns, rs.metadata.name))?.spec.replicas ?? 0), 0);
    const podsOf = (rs: Obj) => list('pods', ns).filter((p) => ownedBy(p, rs));
    const specReplicas = (rs: Obj) => store.replicasets.get(key(ns, rs.metadata.name))?.spec.replicas ?? 0;

    if (paused) {
      // paused: scale only (the single active ReplicaSet follows spec.replicas), never roll
      const active = rsList.filter((rs) => specReplicas(rs) > 0);
      if (active.length === 1 && specReplicas(active[0]!) !== desired) setReplicas(active[0]!, desired, d);
    } else if (newRS) {
      const recreate = d.spec.strategy?.type === 'Recreate';
      if (oldTotal() === 0) {
        if (specReplicas(newRS) !== desired) setReplicas(newRS, desired, d);
      } else if (recreate) {
        if (step) for (const rs of olds) if (specReplicas(rs) > 0) setReplicas(rs, 0, d);
      } else if (step) {
        // old ReplicaSets' unhealthy pods go first (cleanupUnhealthyReplicas), then one pod is replaced per step
        for (const rs of olds) {
          const unhealthy = podsOf(rs).filter((p) => !podReady(p)).length;
          if (unhealthy && specReplicas(rs) > 0)
            setReplicas(rs, specReplicas(rs) - Math.min(unhealthy, specReplicas(rs)), d);
        }
        const newPods = podsOf(newRS);
        const newReady = newPods.filter(podReady).length;
        if (specReplicas(newRS) > desired) setReplicas(newRS, desired, d);
        if (newReady >= specReplicas(newRS) && oldTotal() > 0 && specReplicas(newRS) + oldTotal() > desired) {
          const victim = [...olds]
            .filter((rs) => specReplicas(rs) > 0)
            .sort((a, b) => revisionOf(a) - revisionOf(b))[0];
          if (victim) setReplicas(victim, specReplicas(victim) - 1, d);
        }
        while (specReplicas(newRS) + oldTotal() > desired + 1 && oldTotal() > 0) {
          const victim = [...olds]
            .filter((rs) => specReplicas(rs) > 0)
            .sort((a, b) => revisionOf(a) - revisionOf(b))[0]!;
          setReplicas(victim, specReplicas(victim) - 1, d);
        }
        if (specReplicas(newRS) < desired && specReplicas(newRS) + oldTotal() < desired + 1)
          setReplicas(newRS, specReplicas(newRS) + 1, d);
      }
    }
    for (const rs of owned()) reconcileReplicaSet(rs, instantReady);

    // revisionHistoryLimit: drop the oldest idle ReplicaSets
    const limit: number = d.spec.revisionHistoryLimit ?? 10;
    const idle = owned()
      .filter(
        (rs) => rs.metadata.uid !== newRS?.metadata.uid && (rs.spec.replicas ?? 0) === 0 && !(rs.status?.replicas ?? 0),
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) remove('replicasets', rs);

    // status, as calculateStatus + syncRolloutStatus
    const all = owned();
    const cur = newRS ? store.replicasets.get(key(ns, newRS.metadata.name)) : undefined;
    const sum = (rss: Obj[], f: (rs: Obj) => number) => rss.reduce((n, rs) => n + f(rs), 0);
    const replicas = sum(all, (rs) => rs.status?.replicas ?? 0);
    const updated = cur?.status?.replicas ?? 0;
    const ready = sum(all, (rs) => rs.status?.readyReplicas ?? 0);
    const available = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    const total = sum(all, (rs) => rs.spec.replicas ?? 0);
    const prev: Obj = d.status ?? {};
    const status: Obj = {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
    };
    for (const f of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'])
      if (!status[f]) delete status[f];
    if (prev.collisionCount !== undefined) status.collisionCount = prev.collisionCount;

    const conditions: Obj[] = clone(prev.conditions ?? []);
    const t = nowIso();
    const setCondition = (type: string, value: string, reason: string, message: string) => {
      const c = conditions.find((x) => x.type === type);
      if (c && c.status === value && c.reason === reason && c.message === message) return false;
      const entry = {
        type,
        status: value,
        lastUpdateTime: t,
        lastTransitionTime: c && c.status === value ? c.lastTransitionTime : t,
        reason,
        message,
      };
      if (c) Object.assign(c, entry);
      else conditions.push(entry);
      return true;
    };
    const { maxUnavailable } = surgeAndUnavailable(d);
    if (available >= desired - maxUnavailable)
      setCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    else
      setCondition(
        'Available',
        'False',
        'MinimumReplicasUnavailable',
        'Deployment does not have minimum availability.',
      );

    const rsName = cur?.metadata.name ?? '';
    const progressing = conditions.find((c) => c.type === 'Progressing');
    const deadline: number | undefined = d.spec.progressDeadlineSeconds;
    const uid: string = d.metadata.uid;
    const complete =
      !!cur &&
      updated === desired &&
      replicas === desired &&
      available === desired &&
      (status.observedGeneration ?? 0) >= d.metadata.generation;
    const oldPods = replicas - updated;
    const prevOld = (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
    const madeProgress =
      (prev.updatedReplicas ?? 0) < updated ||
      (prev.readyReplicas ?? 0) < ready ||
      (prev.availableReplicas ?? 0) < available ||
      prevOld > oldPods;
    const markProgress = () => progressAt.set(uid, Date.now());
    if (paused) {
      if (progressing?.reason !== 'DeploymentPaused')
        setCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    } else if (progressing?.reason === 'DeploymentPaused') {
      setCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
      markProgress();
    } else if (complete) {
      if (progressing?.reason !== 'NewReplicaSetAvailable' || progressing.status !== 'True') {
        setCondition(
          'Progressing',
          'True',
          'NewReplicaSetAvailable',
          `ReplicaSet "${rsName}" has successfully progressed.`,
        );
        markProgress();
      }
    } else if (event === 'created') {
      setCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${rsName}"`);
      markProgress();
    } else if (event === 'found') {
      setCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${rsName}"`);
      markProgress();
    } else if (madeProgress && cur) {
      const c = conditions.find((x) => x.type === 'Progressing');
      if (c) Object.assign(c, { lastUpdateTime: t }); // re-set even when unchanged, like the controller does
      setCondition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`);
      markProgress();
    } else if (
      deadline !== undefined &&
      progressing &&
      progressing.reason !== 'NewReplicaSetAvailable' &&
      progressing.reason !== 'ProgressDeadlineExceeded'
    ) {
      const since = progressAt.get(uid) ?? Date.parse(progressing.lastUpdateTime);
      if (Date.now() - since > deadline * 1000)
        setCondition(
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          `ReplicaSet "${rsName}" has timed out progressing.`,
        );
    }
    if (!conditions.some((c) => c.type === 'Progressing') && cur) {
      setCondition(
        'Progressing',
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${rsName}" has successfully progressed.`,
      );
      markProgress();
    }
    // the API lists Available before Progressing
    conditions.sort((a, b) => (a.type === 'Available' ? -1 : b.type === 'Available' ? 1 : 0));
    status.conditions = conditions;
    d.status = status;
    write('deployments', d, { name: 'kube-controller-manager', subresource: 'status' });
  };

  function queueSync(k: string) {
    if (closed || syncQueued.has(k)) return;
    syncQueued.add(k);
    const timer = setTimeout(() => {
      timers.delete(timer);
      syncQueued.delete(k);
      try {
        if (!closed) syncDeployment(k, false);
      } catch (err) {
        console.error('fake-kube controller error', err);
      }
    }, observeDelayMs);
    timers.add(timer);
  }

  /** Kubelet: pods created before this tick become ready (healthy images), crash-looping ones restart now and then. */
  const advancePods = () => {
    for (const pod of [...store.pods.values()]) {
      const info = podInfo.get(pod.metadata.uid);
      if (!info || info.createdTick >= tick) continue;
      if (info.mode === 'ok' && !podReady(pod)) {
        write('pods', { ...clone(pod), status: podStatus(pod, info, true) });
      } else if (info.mode === 'crash') {
        const age = tick - info.createdTick;
        const restarts = ((pod.status?.containerStatuses ?? [])[0]?.restartCount ?? 0) as number;
        if (age === 1 || age % 3 === 0)
          write('pods', {
            ...clone(pod),
            status: podStatus(pod, info, false, age === 1 ? Math.max(restarts, 1) : restarts + 1),
          });
      }
    }
  };

  const interval = setInterval(() => {
    if (closed) return;
    tick++;
    try {
      advancePods();
      // A change not yet observed (observeDelayMs) waits for its queued sync.
      for (const k of [...store.deployments.keys()]) if (!syncQueued.has(k)) syncDeployment(k, true);
    } catch (err) {
      console.error('fake-kube controller error', err);
    }
  }, stepMs);

  /* ---------------------------------------------- defaults ---------------------------------------------- */

  const defaultTemplate = (template: Obj) => {
    template.metadata ??= {};
    const spec = (template.spec ??= {});
    spec.restartPolicy ??= 'Always';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.securityContext ??= {};
    spec.schedulerName ??= 'default-scheduler';
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Obj[]) {
      if (!isObject(c)) continue;
      const image = String(c.image ?? '');
      const tagless = !/:[^:/]+$/.test(image.replace(/@.*$/, '')) && !image.includes('@');
      c.imagePullPolicy ??= image.endsWith(':latest') || tagless ? 'Always' : 'IfNotPresent';
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.resources ??= {};
      for (const p of (c.ports ?? []) as Obj[]) p.protocol ??= 'TCP';
    }
  };
  const defaultDeployment = (d: Obj) => {
    d.spec ??= {};
    d.spec.replicas ??= 1;
    d.spec.revisionHistoryLimit ??= 10;
    d.spec.progressDeadlineSeconds ??= defaultDeadline;
    d.spec.strategy ??= { type: 'RollingUpdate' };
    if ((d.spec.strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
      d.spec.strategy.type = 'RollingUpdate';
      d.spec.strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...d.spec.strategy.rollingUpdate };
    }
    d.spec.template ??= {};
    defaultTemplate(d.spec.template);
  };
  const defaultService = (s: Obj) => {
    s.spec ??= {};
    s.spec.type ??= 'ClusterIP';
    s.spec.sessionAffinity ??= 'None';
    if (s.spec.type !== 'ExternalName') {
      s.spec.clusterIP ??= `10.96.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 2}`;
      s.spec.clusterIPs ??= [s.spec.clusterIP];
      s.spec.ipFamilies ??= ['IPv4'];
      s.spec.ipFamilyPolicy ??= 'SingleStack';
      s.spec.internalTrafficPolicy ??= 'Cluster';
    }
    for (const p of (s.spec.ports ?? []) as Obj[]) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
    }
    s.status ??= { loadBalancer: {} };
  };

  const invalid = (resource: Resource, name: string, causes: Array<{ field: string; message: string }>) => {
    const info = RESOURCES[resource];
    const msg = `${info.kind}${info.group ? `.${info.group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
    return new ApiError(422, 'Invalid', msg, {
      name,
      group: info.group || undefined,
      kind: info.kind,
      causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
    });
  };
  const validateDeployment = (d: Obj, prev?: Obj) => {
    const causes: Array<{ field: string; message: string }> = [];
    const name = d.metadata?.name ?? '';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name))
      causes.push({
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      });
    const r = d.spec?.replicas;
    if (!Number.isInteger(r) || r < 0)
      causes.push({
        field: 'spec.replicas',
        message: `Invalid value: ${JSON.stringify(r)}: must be greater than or equal to 0`,
      });
    const sel = d.spec?.selector;
    if (!isObject(sel) || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length))
      causes.push({ field: 'spec.selector', message: 'Required value' });
    else if (!selectorMatches(sel, d.spec.template?.metadata?.labels)) {
      causes.push({
        field: 'spec.template.metadata.labels',
        message: `Invalid value: ${JSON.stringify(d.spec.template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``,
      });
    }
    if (prev && !sameJson(prev.spec.selector, sel))
      causes.push({ field: 'spec.selector', message: `Invalid value: ${JSON.stringify(sel)}: field is immutable` });
    const containers = d.spec?.template?.spec?.containers;
    if (!Array.isArray(containers) || !containers.length)
      causes.push({ field: 'spec.template.spec.containers', message: 'Required value' });
    else {
      const seen = new Set<string>();
      containers.forEach((c: Obj, i: number) => {
        if (!c?.name) causes.push({ field: `spec.template.spec.containers[${i}].name`, message: 'Required value' });
        else if (seen.has(c.name))
          causes.push({ field: `spec.template.spec.containers[${i}].name`, message: `Duplicate value: "${c.name}"` });
        else seen.add(c.name);
        if (!c?.image) causes.push({ field: `spec.template.spec.containers[${i}].image`, message: 'Required value' });
      });
    }
    if (causes.length) throw invalid('deployments', name, causes);
  };
  const validateService = (s: Obj, prev?: Obj) => {
    const causes: Array<{ field: string; message: string }> = [];
    if (!s.metadata?.name) causes.push({ field: 'metadata.name', message: 'Required value' });
    if (prev && prev.spec.clusterIP && s.spec.clusterIP !== prev.spec.clusterIP)
      causes.push({ field: 'spec.clusterIPs[0]', message: 'Invalid value: field is immutable' });
    for (const [k, v] of Object.entries(s.spec?.selector ?? {}))
      if (typeof v !== 'string')
        causes.push({ field: `spec.selector.${k}`, message: 'Invalid value: must be a string' });
    if (causes.length) throw invalid('services', s.metadata?.name ?? '', causes);
  };

  /* ------------------------------------------------ test API ------------------------------------------------ */

  const addDeployment = (spec: DeploymentSpecInput) => {
    const labels = spec.labels ?? { app: spec.name };
    const k = key(spec.namespace, spec.name);
    if (store.deployments.has(k)) throw new Error(`deployment ${k} already exists`);
    const d: Obj = {
      metadata: {
        name: spec.name,
        namespace: spec.namespace,
        labels: { ...labels },
        annotations: { ...spec.annotations },
      },
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: { ...labels } },
        progressDeadlineSeconds: spec.progressDeadlineSeconds ?? defaultDeadline,
        template: {
          metadata: { labels: { ...labels } },
          spec: { containers: spec.containers.map((c) => ({ name: c.name, image: c.image })) },
        },
      },
    };
    defaultDeployment(d);
    validateDeployment(d);
    syncQueued.add(k); // synced right here, not on the timer
    write('deployments', d);
    syncQueued.delete(k);
    syncDeployment(k, false, true);
  };
  const addService = (spec: ServiceSpecInput) => {
    const s: Obj = {
      metadata: { name: spec.name, namespace: spec.namespace },
      spec: {
        selector: { ...spec.selector },
        ports: (spec.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((p) => ({
          ...(p.name ? { name: p.name } : {}),
          protocol: 'TCP',
          port: p.port,
          targetPort: p.targetPort ?? p.port,
        })),
      },
    };
    defaultService(s);
    validateService(s);
    write('services', s);
  };

  /* ------------------------------------------------- HTTP ------------------------------------------------- */

  const statusJson = (code: number, reason: string, message: string, details?: Obj) => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details: stripNulls(details) } : {}),
    code,
  });
  const notFound = (resource: Resource, name: string) => {
    const info = RESOURCES[resource];
    return new ApiError(404, 'NotFound', `${resource}${info.group ? `.${info.group}` : ''} "${name}" not found`, {
      name,
      group: info.group || undefined,
      kind: resource,
    });
  };
  const conflict = (resource: Resource, name: string) => {
    const info = RESOURCES[resource];
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resource}${info.group ? `.${info.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: info.group || undefined, kind: resource },
    );
  };
  const reasonFor = (code: number): string =>
    (<Record<number, string>>{
      400: 'BadRequest',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'NotFound',
      405: 'MethodNotAllowed',
      409: 'Conflict',
      410: 'Expired',
      415: 'UnsupportedMediaType',
      422: 'Invalid',
      429: 'TooManyRequests',
      500: 'InternalError',
      503: 'ServiceUnavailable',
      504: 'Timeout',
    })[code] ?? 'Unknown';

  const sendJson = (res: http.ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
    });
    res.end(text);
  };

  const discoveryResource = (name: string, info: ResourceInfo, extra: Obj = {}) => ({
    name,
    singularName: info.singular,
    namespaced: true,
    kind: info.kind,
    verbs: info.verbs,
    ...(info.shortNames.length ? { shortNames: info.shortNames } : {}),
    ...(name === 'pods' || name === 'deployments' || name === 'replicasets' || name === 'services'
      ? { categories: ['all'] }
      : {}),
    storageVersionHash: Buffer.from(name).toString('base64').slice(0, 11),
    ...extra,
  });
  const coreResources = () => ({
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'namespaces',
        singularName: 'namespace',
        namespaced: false,
        kind: 'Namespace',
        verbs: ['get', 'list'],
        shortNames: ['ns'],
      },
      discoveryResource('pods', RESOURCES.pods),
      { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
      discoveryResource('services', RESOURCES.services),
      { name: 'services/status', singularName: '', namespaced: true, kind: 'Service', verbs: ['get'] },
    ],
  });
  const appsResources = () => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'apps/v1',
    resources: [
      discoveryResource('deployments', RESOURCES.deployments),
      {
        name: 'deployments/scale',
        singularName: '',
        namespaced: true,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      },
      { name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: ['get'] },
      discoveryResource('replicasets', RESOURCES.replicasets),
    ],
  });

  const scaleOf = (d: Obj) => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: d.metadata.name,
      namespace: d.metadata.namespace,
      uid: d.metadata.uid,
      resourceVersion: d.metadata.resourceVersion,
      creationTimestamp: d.metadata.creationTimestamp,
    },
    spec: { replicas: d.spec.replicas ?? 1 },
    status: { replicas: d.status?.replicas ?? 0, selector: selectorString(d.spec.selector) },
  });

  const wantsTable = (accept: string | undefined) => !!accept && /as=Table/.test(accept);
  const table = (resource: Resource, objs: Obj[], includeObject: string | null, rvText: string) => ({
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: rvText },
    columnDefinitions: tableColumns(resource).map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: c.priority ?? 0,
    })),
    rows: objs.map((o) => ({
      cells: tableCells(resource, o),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? external(resource, o)
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: clone(o.metadata) },
    })),
  });

  const parseBody = (raw: string, contentType: string): unknown => {
    if (!raw) return undefined;
    try {
      return contentType.includes('yaml') ? parseYaml(raw) : JSON.parse(raw);
    } catch {
      return raw;
    }
  };

  /** Applies a PATCH (or apply) body to a copy of `current`. */
  const patchObject = (current: Obj, body: unknown, contentType: string, kind: string): Obj => {
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    if (typeof body === 'string' || body === undefined)
      throw new ApiError(400, 'BadRequest', 'error decoding patch: invalid character in request body');
    switch (type) {
      case 'application/json-patch+json':
        return applyJsonPatch(current, body);
      case 'application/merge-patch+json':
        if (!isObject(body))
          throw new ApiError(
            400,
            'BadRequest',
            'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
          );
        return mergePatch(current, body);
      case 'application/strategic-merge-patch+json':
        if (!isObject(body))
          throw new ApiError(
            400,
            'BadRequest',
            'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
          );
        return strategicMerge(current, body, '', kind);
      case 'application/apply-patch+yaml':
      case 'application/apply-patch+cbor':
        if (!isObject(body))
          throw new ApiError(400, 'BadRequest', 'error decoding YAML: apply patch must be an object');
        return strategicMerge(current, body, '', kind);
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        );
    }
  };

  /** Common update path for PATCH and PUT of deployments and services (status is preserved, identity is fixed). */
  const update = (
    resource: 'deployments' | 'services',
    current: Obj,
    candidate: Obj,
    q: URLSearchParams,
    operation: string,
    userAgent: string,
  ) => {
    if (!isObject(candidate)) throw new ApiError(400, 'BadRequest', 'the request body must be an object');
    const name = current.metadata.name;
    const sentRv = candidate.metadata?.resourceVersion;
    if (sentRv !== undefined && sentRv !== '' && String(sentRv) !== current.metadata.resourceVersion)
      throw conflict(resource, name);
    if (candidate.metadata?.name !== undefined && candidate.metadata.name !== name) {
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${candidate.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const next = stripNulls(clone(candidate));
    next.metadata = {
      ...next.metadata,
      name,
      namespace: current.metadata.namespace,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: current.metadata.generation,
      resourceVersion: current.metadata.resourceVersion,
      managedFields: current.metadata.managedFields,
    };
    next.status = clone(current.status);
    if (resource === 'deployments') {
      defaultDeployment(next);
      validateDeployment(next, current);
    } else {
      if (next.spec && current.spec.clusterIP && next.spec.clusterIP === undefined) {
        next.spec.clusterIP = current.spec.clusterIP;
        next.spec.clusterIPs = current.spec.clusterIPs;
      }
      defaultService(next);
      validateService(next, current);
    }
    if (q.get('dryRun') === 'All')
      return { ...next, apiVersion: RESOURCES[resource].apiVersion, kind: RESOURCES[resource].kind };
    const manager = q.get('fieldManager') ?? userAgent.split('/')[0] ?? 'unknown';
    return write(resource, next, { name: manager, operation });
  };

  /** POST (and server-side apply of a missing object): defaults, validation, 409 AlreadyExists. */
  const create = (
    resource: 'deployments' | 'services',
    ns: string,
    body: unknown,
    q: URLSearchParams,
    userAgent: string,
    operation = 'Update',
  ): Obj => {
    const info = RESOURCES[resource];
    if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'the request body must be a JSON object');
    const obj = stripNulls(clone(body));
    obj.metadata ??= {};
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
      throw new ApiError(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = ns;
    for (const f of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields'])
      delete obj.metadata[f];
    delete obj.status;
    if (store[resource].has(key(ns, obj.metadata.name ?? ''))) {
      throw new ApiError(
        409,
        'AlreadyExists',
        `${resource}${info.group ? `.${info.group}` : ''} "${obj.metadata.name}" already exists`,
        { name: obj.metadata.name, group: info.group || undefined, kind: resource },
      );
    }
    if (resource === 'deployments') {
      defaultDeployment(obj);
      validateDeployment(obj);
    } else {
      defaultService(obj);
      validateService(obj);
    }
    if (q.get('dryRun') === 'All')
      return { ...obj, metadata: { ...obj.metadata, uid: randomUUID(), creationTimestamp: nowIso(), generation: 1 } };
    return write(resource, obj, { name: q.get('fieldManager') ?? userAgent.split('/')[0] ?? 'unknown', operation });
  };

  const handleWatch = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    resource: Resource,
    ns: string | undefined,
    filter: (o: Obj) => boolean,
    q: URLSearchParams,
  ) => {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
      'Audit-Id': randomUUID(),
    });
    res.flushHeaders(); // kubectl rollout status hangs if headers wait for the first event
    // `kubectl get -w` asks for Table events; each object then arrives as a one-row Table
    const asTable = wantsTable(req.headers.accept);
    const includeObject = q.get('includeObject');
    const wrap = (type: string, object: Obj) =>
      asTable && type !== 'ERROR' && type !== 'BOOKMARK'
        ? table(resource, [object], includeObject, String(object.metadata?.resourceVersion ?? rv))
        : object;
    const w: Watcher = { resource, namespace: ns, filter, res, wrap };
    const send = (type: string, object: Obj) => res.write(JSON.stringify({ type, object: wrap(type, object) }) + '\n');
    const current = () => list(resource, ns).filter(filter);
    const fromRv = q.get('resourceVersion');
    if (q.get('sendInitialEvents') === 'true') {
      for (const o of current()) send('ADDED', external(resource, o));
      send('BOOKMARK', {
        kind: RESOURCES[resource].kind,
        apiVersion: RESOURCES[resource].apiVersion,
        metadata: { resourceVersion: String(rv), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    } else if (!fromRv || fromRv === '0') {
      for (const o of current()) send('ADDED', external(resource, o));
    } else {
      const since = Number(fromRv);
      if (!Number.isFinite(since) || since < compactedRv) {
        send('ERROR', statusJson(410, 'Expired', `too old resource version: ${fromRv} (${compactedRv + 1})`));
        res.end();
        return;
      }
      for (const e of events) {
        if (e.rv <= since || e.resource !== resource) continue;
        if (ns && e.object.metadata.namespace !== ns) continue;
        if (filter(e.object)) send(e.type, external(resource, e.object));
      }
    }
    watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) {
      w.timer = setTimeout(() => res.end(), timeout * 1000);
      timers.add(w.timer);
    }
    const done = () => {
      watchers.delete(w);
      if (w.timer) {
        clearTimeout(w.timer);
        timers.delete(w.timer);
      }
    };
    res.on('close', done);
    req.on('close', done);
  };

  const handleResource = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    segments: string[],
    group: '' | 'apps',
    body: unknown,
  ) => {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const contentType = req.headers['content-type'] ?? '';
    const userAgent = req.headers['user-agent'] ?? 'unknown';
    let ns: string | undefined;
    let rest = segments;
    if (rest[0] === 'namespaces') {
      if (group !== '' && rest.length < 3)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (rest.length === 1) {
        if (method !== 'GET')
          throw new ApiError(
            405,
            'MethodNotAllowed',
            `the server does not allow this method on the requested resource`,
          );
        return sendJson(res, 200, {
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(rv) },
          items: [...namespaces].map(([name, created]) => ({
            metadata: { name, creationTimestamp: created, labels: { 'kubernetes.io/metadata.name': name } },
            spec: { finalizers: ['kubernetes'] },
            status: { phase: 'Active' },
          })),
        });
      }
      ns = rest[1]!;
      if (rest.length === 2) {
        if (method !== 'GET')
          throw new ApiError(
            405,
            'MethodNotAllowed',
            `the server does not allow this method on the requested resource`,
          );
        const created = namespaces.get(ns);
        if (!created)
          throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
        return sendJson(res, 200, {
          kind: 'Namespace',
          apiVersion: 'v1',
          metadata: { name: ns, creationTimestamp: created, labels: { 'kubernetes.io/metadata.name': ns } },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Active' },
        });
      }
      rest = rest.slice(2);
    }
    const resource = rest[0] as Resource;
    const info = RESOURCES[resource];
    if (!info || info.group !== group || rest.length > 3)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const name = rest[1];
    const sub = rest[2];
    const notAllowed = () =>
      new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);

    if (name === undefined) {
      if (method === 'GET') {
        const labelSel = q.get('labelSelector');
        const fieldSel = q.get('fieldSelector');
        const lp = labelSel ? parseLabelSelector(labelSel) : () => true;
        const fp = fieldSel ? parseFieldSelector(fieldSel, resource) : () => true;
        const filter = (o: Obj) => lp(o.metadata.labels) && fp(o);
        if (q.get('watch') === 'true' || q.get('watch') === '1') return handleWatch(req, res, resource, ns, filter, q);
        const items = list(resource, ns).filter(filter);
        if (wantsTable(req.headers.accept))
          return sendJson(res, 200, table(resource, items, q.get('includeObject'), String(rv)));
        return sendJson(res, 200, {
          kind: info.listKind,
          apiVersion: info.apiVersion,
          metadata: { resourceVersion: String(rv) },
          items: items.map(listItem),
        });
      }
      if (method === 'POST' && (resource === 'deployments' || resource === 'services') && ns) {
        return sendJson(res, 201, external(resource, create(resource, ns, body, q, userAgent)));
      }
      throw notAllowed();
    }

    if (!ns) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const k = key(ns, name);
    const current = store[resource].get(k);

    if (sub !== undefined) {
      if (resource === 'deployments' && sub === 'scale') {
        if (!current) throw notFound(resource, name);
        if (method === 'GET') return sendJson(res, 200, scaleOf(current));
        let scale: Obj;
        if (method === 'PUT') scale = isObject(body) ? body : {};
        else if (method === 'PATCH') scale = patchObject(scaleOf(current), body, contentType, 'Scale');
        else throw notAllowed();
        const sentRv = scale.metadata?.resourceVersion;
        if (sentRv && String(sentRv) !== current.metadata.resourceVersion) throw conflict(resource, name);
        const replicas = scale.spec?.replicas ?? 0;
        if (!Number.isInteger(replicas) || replicas < 0)
          throw new ApiError(
            422,
            'Invalid',
            `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`,
          );
        if (q.get('dryRun') === 'All') return sendJson(res, 200, { ...scaleOf(current), spec: { replicas } });
        const next = clone(current);
        next.spec.replicas = replicas;
        const saved = write('deployments', next, {
          name: q.get('fieldManager') ?? userAgent.split('/')[0] ?? 'unknown',
          subresource: 'scale',
        });
        return sendJson(res, 200, scaleOf(saved));
      }
      if (sub === 'status' && method === 'GET') {
        if (!current) throw notFound(resource, name);
        return sendJson(res, 200, external(resource, current));
      }
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }

    if (method === 'GET') {
      if (q.get('watch') === 'true' || q.get('watch') === '1')
        return handleWatch(req, res, resource, ns, (o) => o.metadata.name === name, q);
      if (!current) throw notFound(resource, name);
      if (wantsTable(req.headers.accept))
        return sendJson(res, 200, table(resource, [current], q.get('includeObject'), current.metadata.resourceVersion));
      return sendJson(res, 200, external(resource, current));
    }
    if (method === 'PATCH' && (resource === 'deployments' || resource === 'services')) {
      const type = contentType.split(';')[0]!.trim().toLowerCase();
      if (type === 'application/apply-patch+yaml' && !q.get('fieldManager')) {
        throw new ApiError(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      }
      if (!current) {
        if (type === 'application/apply-patch+yaml' || type === 'application/apply-patch+cbor') {
          // server-side apply creates the object when it does not exist
          const obj = isObject(body) ? { ...body, metadata: { ...body.metadata, name } } : body;
          return sendJson(res, 201, external(resource, create(resource, ns, obj, q, userAgent, 'Apply')));
        }
        patchObject({}, body, contentType, info.kind); // 415 / 400 take precedence over 404, as in the API server
        throw notFound(resource, name);
      }
      const patched = patchObject(external(resource, current), body, contentType, info.kind);
      const saved = update(
        resource,
        current,
        patched,
        q,
        type.startsWith('application/apply-patch') ? 'Apply' : 'Update',
        userAgent,
      );
      return sendJson(res, 200, external(resource, saved));
    }
    if (method === 'PUT' && (resource === 'deployments' || resource === 'services')) {
      if (!current) throw notFound(resource, name);
      if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'the request body must be a JSON object');
      const saved = update(resource, current, body, q, 'Update', userAgent);
      return sendJson(res, 200, external(resource, saved));
    }
    if (method === 'DELETE' && resource !== 'replicasets') {
      if (!current) throw notFound(resource, name);
      if (q.get('dryRun') === 'All') return sendJson(res, 200, external(resource, current));
      remove(resource, current);
      if (resource === 'deployments') {
        // garbage collection (background propagation): owned ReplicaSets and their pods go too
        for (const rs of list('replicasets', ns).filter((r) => ownedBy(r, current))) {
          for (const p of list('pods', ns).filter((x) => ownedBy(x, rs))) remove('pods', p);
          remove('replicasets', rs);
        }
        progressAt.delete(current.metadata.uid);
      }
      if (resource === 'pods') {
        return sendJson(res, 200, external(resource, current));
      }
      return sendJson(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, group: info.group || undefined, kind: resource, uid: current.metadata.uid },
      });
    }
    throw notAllowed();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type'];
    const body = parseBody(raw, contentType ?? '');
    const method = req.method ?? 'GET';
    requests.push({
      at,
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      ...(contentType ? { contentType } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(url.searchParams.get('fieldManager') ? { fieldManager: url.searchParams.get('fieldManager')! } : {}),
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      ...(req.headers.accept ? { accept: req.headers.accept } : {}),
    });
    try {
      const p = url.pathname.replace(/\/+$/, '') || '/';
      if (p === '/healthz' || p === '/readyz' || p === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end('ok');
      }
      // kubectl (clientcmd) never sends kubeconfig credentials to an http:// server, so a request without
      // credentials is served as on an insecure port; a wrong Bearer token is refused like a real server does.
      const auth = req.headers.authorization;
      if (auth !== undefined && auth !== `Bearer ${token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const contentType = req.headers['content-type']?.split(';')[0]?.trim();
      const failure = failures.find(
        (f) =>
          (!f.method || f.method.toUpperCase() === method) &&
          (!f.path || (typeof f.path === 'string' ? f.path === url.pathname : f.path.test(url.pathname))) &&
          (!f.contentType || f.contentType === contentType),
      );
      if (failure) {
        if (--failure.left <= 0) failures.splice(failures.indexOf(failure), 1);
        if (failure.code === 429) res.setHeader('Retry-After', '1');
        throw new ApiError(failure.code, reasonFor(failure.code), `injected failure (${failure.code})`);
      }
      if (p === '/version') {
        return sendJson(res, 200, {
          major: version.major,
          minor: version.minor,
          gitVersion: `v${version.major}.${version.minor}.0-fake`,
          gitCommit: '0000000000000000000000000000000000000000',
          gitTreeState: 'clean',
          buildDate: '2025-01-01T00:00:00Z',
          goVersion: 'go1.23.4',
          compiler: 'gc',
          platform: 'linux/amd64',
        });
      }
      if (p === '/api') {
        return sendJson(res, 200, {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: url.host }],
        });
      }
      if (p === '/apis') {
        const gv = { groupVersion: 'apps/v1', version: 'v1' };
        return sendJson(res, 200, {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [{ name: 'apps', versions: [gv], preferredVersion: gv }],
        });
      }
      if (p === '/apis/apps') {
        const gv = { groupVersion: 'apps/v1', version: 'v1' };
        return sendJson(res, 200, {
          kind: 'APIGroup',
          apiVersion: 'v1',
          name: 'apps',
          versions: [gv],
          preferredVersion: gv,
        });
      }
      if (p === '/api/v1') return sendJson(res, 200, coreResources());
      if (p === '/apis/apps/v1') return sendJson(res, 200, appsResources());
      const segs = p.split('/').filter(Boolean).map(decodeURIComponent);
      if (segs[0] === 'api' && segs[1] === 'v1') return await handleResource(req, res, url, segs.slice(2), '', body);
      if (segs[0] === 'apis' && segs[1] === 'apps' && segs[2] === 'v1')
        return await handleResource(req, res, url, segs.slice(3), 'apps', body);
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    } catch (err) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (err instanceof ApiError)
        return sendJson(res, err.code, statusJson(err.code, err.reason, err.message, err.details));
      return sendJson(
        res,
        500,
        statusJson(500, 'InternalError', `Internal error occurred: ${(err as Error)?.message ?? String(err)}`),
      );
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const kubeconfigYaml = (context = 'fake') => {
    const q = JSON.stringify;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${q(`${context}-cluster`)}`,
      '  cluster:',
      `    server: ${q(url)}`,
      // client-node 2.x refuses an http:// server unless TLS verification is (nominally) skipped
      '    insecure-skip-tls-verify: true',
      'users:',
      `- name: ${q(`${context}-user`)}`,
      '  user:',
      `    token: ${q(token)}`,
      'contexts:',
      `- name: ${q(context)}`,
      '  context:',
      `    cluster: ${q(`${context}-cluster`)}`,
      `    user: ${q(`${context}-user`)}`,
      '    namespace: default',
      `current-context: ${q(context)}`,
      'preferences: {}',
      '',
    ].join('\n');
  };

  const findOr = (resource: Resource, ns: string, name: string) => {
    const o = store[resource].get(key(ns, name));
    return o ? external(resource, o) : undefined;
  };

  const rolloutComplete = (ns: string, name: string) => {
    const d = store.deployments.get(key(ns, name));
    if (!d) return false;
    const s = d.status ?? {};
    const want = d.spec.replicas ?? 1;
    return (
      (s.observedGeneration ?? 0) >= d.metadata.generation &&
      (s.updatedReplicas ?? 0) === want &&
      (s.replicas ?? 0) === want &&
      (s.availableReplicas ?? 0) === want
    );
  };

  return {
    url,
    kubeconfigYaml,
    addDeployment,
    addService,
    deployment: (ns, name) => findOr('deployments', ns, name),
    replicaSets: (ns) => list('replicasets', ns).map((o) => external('replicasets', o)),
    pods: (ns) => list('pods', ns).map((o) => external('pods', o)),
    service: (ns, name) => findOr('services', ns, name),
    selectedPods: (ns, name) => {
      const svc = store.services.get(key(ns, name));
      if (!svc || !Object.keys(svc.spec.selector ?? {}).length) return [];
      return list('pods', ns)
        .filter((p) => selectorMatches({ matchLabels: svc.spec.selector }, p.metadata.labels))
        .map((o) => external('pods', o));
    },
    breakImage: (image, reason) => void imageModes.set(image, reason === 'CrashLoopBackOff' ? 'crash' : 'pull'),
    stallImage: (image) => void imageModes.set(image, 'stall'),
    healImage: (image) => void imageModes.delete(image),
    failNext: (f) => void failures.push({ ...f, code: f.code ?? 500, left: f.times ?? 1 }),
    requests,
    rolloutCompletions,
    waitForRollout: (ns, name, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const abort = () => reject(new Error('fake kube closed'));
        waiters.add(abort);
        const check = () => {
          if (rolloutComplete(ns, name) && !syncQueued.has(key(ns, name))) {
            waiters.delete(abort);
            return resolve();
          }
          if (closed) return abort();
          if (Date.now() - started > timeoutMs)
            return (
              waiters.delete(abort),
              reject(
                new Error(
                  `rollout of ${ns}/${name} not complete after ${timeoutMs} ms: ${JSON.stringify(store.deployments.get(key(ns, name))?.status)}`,
                ),
              )
            );
          const t = setTimeout(
            () => {
              timers.delete(t);
              check();
            },
            Math.max(5, Math.floor(stepMs / 2)),
          );
          timers.add(t);
        };
        check();
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const w of watchers) w.res.end();
      watchers.clear();
      for (const abort of waiters) abort();
      waiters.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

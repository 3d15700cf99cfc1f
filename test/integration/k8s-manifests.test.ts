/**
 * manifests/k8s: what a platform team applies (issues 8 and 27). A Kustomize base and two overlays, sqlite (one
 * replica, Recreate, the database on a PVC) and postgres (several replicas, a rolling update, DATABASE_URL from the
 * Secret, a PodDisruptionBudget, spread across nodes). Three checks:
 *
 * 1. The layout, read as files: every kustomization, and that neither the Secret template nor rbac.yaml (which goes
 *    in each target namespace) is part of any, so `kubectl apply -k` never overwrites the real Secret. rbac.yaml is
 *    a least-privilege Role (exactly the verbs firelane needs, nothing on Secrets, create only on Deployments for
 *    the canary, no update/delete); the Secret template holds placeholders only.
 * 2. Each overlay rendered by the machine's `kubectl kustomize`, and the RENDERED objects asserted: for both, a
 *    non-root, read-only, capability-less container, probes on /healthz and /readyz, the config file from the
 *    ConfigMap (itself a valid firelane.yaml); then what is particular to each variant.
 * 3. `kubectl apply --dry-run=client --validate=false -f <rendered overlay> -o json`. Client dry-run still needs the
 *    API server for discovery (the REST mapping of each kind) and GETs each object to compute the apply; with an
 *    unreachable server it fails ("unable to recognize ... connection refused"). So the kubeconfig points at a
 *    loopback server: the project's fake Kubernetes API (startFakeKube), fronted by a small shim that adds discovery
 *    for the kinds the fake does not model (ConfigMap, Secret, PVC, ServiceAccount, RBAC, PodDisruptionBudget) and
 *    answers their GETs with NotFound. Nothing real is contacted, and the test asserts kubectl only read.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseFileConfig } from '../../src/config.js';
import { startFakeKube, type FakeKube } from '../fakes/fake-kube.js';
import { requireTool, TOOLS } from '../support/require-tool.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DIR = path.join(REPO, 'manifests/k8s');
const OVERLAYS = ['sqlite', 'postgres'] as const;
type Overlay = (typeof OVERLAYS)[number];

type Obj = Record<string, any>;

function parseYaml(text: string, label: string): Obj[] {
  const objs: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${label}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as Obj | null;
    if (obj !== null) objs.push(obj);
  }
  return objs;
}
const readText = (rel: string) => readFileSync(path.join(DIR, rel), 'utf8');
const readYaml = (rel: string) => parseYaml(readText(rel), rel);
const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const hits = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(hits, `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return hits[0]!;
};
const byName = (list: Obj[] | undefined, key = 'name'): Obj => Object.fromEntries((list ?? []).map((e) => [e[key], e]));

const RBAC = readYaml('rbac.yaml');
const SECRET_TEMPLATE = readYaml('secret.example.yaml');
const SECRET_NAME: string = one(SECRET_TEMPLATE, 'Secret').metadata.name;

const SHARED_KINDS = ['ConfigMap', 'Deployment', 'Namespace', 'Service', 'ServiceAccount'];
const EXPECTED_KINDS: Record<Overlay, string[]> = {
  sqlite: [...SHARED_KINDS, 'PersistentVolumeClaim'].sort(),
  postgres: [...SHARED_KINDS, 'PodDisruptionBudget'].sort(),
};

/* ------------------------------------------------------------------------------------------------------------ */
/* 1. Layout, read as files                                                                                      */
/* ------------------------------------------------------------------------------------------------------------ */

/** Every kustomization.yaml under manifests/k8s, by its directory relative to DIR. */
function kustomizations(): Record<string, Obj> {
  const found: Record<string, Obj> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(DIR, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name === 'kustomization.yaml') found[rel] = readYaml(child)[0]!;
    }
  };
  walk('.');
  return found;
}

describe('manifests/k8s layout (read as files)', () => {
  it('a base and the overlays sqlite and postgres; every YAML file of theirs is used by its kustomization', () => {
    const ks = kustomizations();
    expect(Object.keys(ks).sort()).toEqual(['base', 'overlays/postgres', 'overlays/sqlite']);
    for (const [dir, k] of Object.entries(ks)) {
      expect(k, dir).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' });
      // Patches are files (path) or inline (patch); only files count here.
      const patchFiles = (k.patches ?? []).flatMap((p: Obj) => (p.path ? [p.path] : []));
      const used = [...(k.resources ?? []), ...patchFiles] as string[];
      const files = readdirSync(path.join(DIR, dir)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
      expect(used.filter((u) => !u.startsWith('..')).sort(), `${dir}: files and what the kustomization uses`).toEqual(
        files.sort(),
      );
    }
    for (const overlay of OVERLAYS) expect(ks[`overlays/${overlay}`]!.resources).toContain('../../base');
    expect(readdirSync(DIR).sort()).toEqual(['README.md', 'base', 'overlays', 'rbac.yaml', 'secret.example.yaml']);
  });

  it('neither the Secret template nor rbac.yaml is part of any kustomization, and none generates a Secret', () => {
    for (const [dir, k] of Object.entries(kustomizations())) {
      const text = JSON.stringify(k);
      expect(text, dir).not.toMatch(/secret\.example|rbac\.yaml/);
      expect(k.secretGenerator, dir).toBeUndefined();
    }
    expect(readText('secret.example.yaml')).toMatch(/#.*no kustomization/);
    expect(readText('rbac.yaml')).toMatch(/#.*no kustomization/);
  });

  it('Secret template: placeholders only, in stringData, with the copy-fill-never-commit warning', () => {
    const raw = readText('secret.example.yaml');
    expect(raw).toMatch(/never commit/i);
    const secret = one(SECRET_TEMPLATE, 'Secret');
    expect(secret.metadata.namespace).toBe('firelane');
    expect(secret.data).toBeUndefined();
    const keys = Object.keys(secret.stringData);
    expect(keys).toEqual(expect.arrayContaining(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'GITHUB_TOKEN']));
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(value, key).toMatch(/REPLACE-ME/);
    }
    expect(raw).toMatch(/MICROSOFT_APP_PASSWORD/);
  });

  it('Secret template: DATABASE_URL is listed for the PostgreSQL variant, commented out so the SQLite variant never gets it', () => {
    const raw = readText('secret.example.yaml');
    expect(one(SECRET_TEMPLATE, 'Secret').stringData.DATABASE_URL).toBeUndefined();
    // Uncommented, as the template says to, it is a placeholder PostgreSQL URL that checks the server's certificate.
    const uncommented = raw.replace(/^( +)# (DATABASE_URL: )/m, '$1$2');
    const url: string = one(parseYaml(uncommented, 'secret.example.yaml (postgres)'), 'Secret').stringData.DATABASE_URL;
    expect(url).toMatch(/^postgres(ql)?:\/\/.*REPLACE-ME/);
    expect(new URL(url).searchParams.get('sslmode')).toBe('verify-full');
  });

  it('RBAC: Role firelane-deployer with exactly the verbs a deploy needs, bound to the firelane ServiceAccount', () => {
    const role = one(RBAC, 'Role', 'firelane-deployer');
    expect(role.metadata.namespace).toBe('payments');
    const grants = new Map<string, string[]>();
    for (const rule of role.rules as Obj[]) {
      expect(rule.resourceNames, 'no resourceNames needed').toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
      for (const group of rule.apiGroups as string[]) {
        for (const resource of rule.resources as string[]) {
          const key = `${group || 'core'}/${resource}`;
          grants.set(key, [...(grants.get(key) ?? []), ...(rule.verbs as string[])].sort());
        }
      }
    }
    expect(Object.fromEntries(grants)).toEqual({
      'apps/deployments': ['create', 'get', 'list', 'patch', 'watch'],
      'apps/replicasets': ['get', 'list', 'watch'],
      'core/pods': ['list', 'watch'],
      'core/services': ['get', 'patch'],
    });
    // create only where the canary needs it (a new `<deployment>-canary`), nowhere else.
    const everything = [...grants.entries()].flatMap(([key, verbs]) =>
      key === 'apps/deployments' ? verbs.filter((v) => v !== 'create') : verbs,
    );
    for (const verb of ['create', 'update', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate', '*']) {
      expect(everything, verb).not.toContain(verb);
    }
    expect([...grants.keys()].some((k) => /secrets|\*/.test(k))).toBe(false);
    // A namespaced Role only: nothing cluster-wide.
    expect(RBAC.map((o) => o.kind).sort()).toEqual(['Role', 'RoleBinding']);

    const binding = one(RBAC, 'RoleBinding');
    expect(binding.metadata.namespace).toBe(role.metadata.namespace);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'firelane-deployer' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'firelane', namespace: 'firelane' }]);
    expect(readText('rbac.yaml')).toMatch(/#.*[Cc]opy .*per target namespace/);
  });

  it('the docs name the kustomize way to apply, and every manifests/k8s/ path they mention exists', () => {
    const readme = readText('README.md');
    for (const overlay of OVERLAYS) expect(readme).toContain(`kubectl apply -k manifests/k8s/overlays/${overlay}`);
    const docs = ['README.md', 'SECURITY.md', 'manifests/k8s/README.md', 'manifests/grafana/README.md'];
    for (const doc of docs.filter((d) => existsSync(path.join(REPO, d)))) {
      const text = readFileSync(path.join(REPO, doc), 'utf8');
      for (const [mention] of text.matchAll(/manifests\/k8s\/[\w./-]*/g)) {
        const rel = mention.replace(/[.]+$/, '');
        expect(existsSync(path.join(REPO, rel)), `${doc} mentions ${rel}`).toBe(true);
      }
    }
  });
});

/* ------------------------------------------------------------------------------------------------------------ */
/* 2. Each overlay rendered by kubectl kustomize                                                                 */
/* ------------------------------------------------------------------------------------------------------------ */

const KUBECTL = requireTool(TOOLS.kubectl);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as NodeJS.ErrnoException).code === 'number'
          ? Number((err as NodeJS.ErrnoException).code)
          : 1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'k8s-manifests-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The rendered YAML of each overlay, and its objects; rendered once, for both blocks that need it. */
const RENDERED = new Map<Overlay, { yaml: string; objs: Obj[] }>();
let rendering: Promise<void> | undefined;
const renderAll = () => (rendering ??= renderOverlays());
async function renderOverlays(): Promise<void> {
  const home = await tempDir();
  for (const overlay of OVERLAYS) {
    // Own HOME, no KUBECONFIG: rendering reads only the files.
    const r = await run(KUBECTL!, ['kustomize', path.join(DIR, 'overlays', overlay)], {
      PATH: process.env.PATH,
      HOME: home,
    });
    if (r.code !== 0) throw new Error(`kubectl kustomize overlays/${overlay} failed: ${r.stderr}`);
    RENDERED.set(overlay, { yaml: r.stdout, objs: parseYaml(r.stdout, `overlays/${overlay} rendered`) });
  }
}
const rendered = (overlay: Overlay) => RENDERED.get(overlay)!.objs;
const deploymentOf = (overlay: Overlay) => one(rendered(overlay), 'Deployment', 'firelane');
const containerOf = (overlay: Overlay) => {
  const pod = deploymentOf(overlay).spec.template.spec;
  expect(pod.containers).toHaveLength(1);
  return pod.containers[0] as Obj;
};
/** Pod labels selected by a label selector (matchLabels only; the manifests use no matchExpressions). */
const selects = (selector: Obj, labels: Obj) =>
  selector.matchExpressions === undefined &&
  Object.keys(selector.matchLabels ?? {}).length > 0 &&
  Object.entries(selector.matchLabels as Obj).every(([k, v]) => labels[k] === v);

describe.skipIf(!KUBECTL)('manifests/k8s overlays rendered by kubectl kustomize', () => {
  beforeAll(renderAll);

  describe.each(OVERLAYS)('both variants: overlays/%s', (overlay) => {
    it('renders exactly the expected kinds, all in the namespace firelane, with no Secret and no RBAC', () => {
      const objs = rendered(overlay);
      expect(objs.map((o) => o.kind).sort()).toEqual(EXPECTED_KINDS[overlay]);
      expect(one(objs, 'Namespace').metadata.name).toBe('firelane');
      for (const o of objs) {
        expect(typeof o.apiVersion, `${o.kind}: apiVersion`).toBe('string');
        if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('firelane');
      }
      // The ServiceAccount gets no rights in its own namespace; rbac.yaml grants them per target namespace.
      expect(objs.filter((o) => o.apiVersion.startsWith('rbac.authorization.k8s.io/'))).toEqual([]);
      expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
      const sa = one(objs, 'ServiceAccount');
      const subject = one(RBAC, 'RoleBinding').subjects[0];
      expect({ name: sa.metadata.name, namespace: sa.metadata.namespace }).toEqual({
        name: subject.name,
        namespace: subject.namespace,
      });
    });

    it('Deployment: the image (with a pin-a-tag comment), probes on /healthz and /readyz, resources', () => {
      const d = deploymentOf(overlay);
      const pod = d.spec.template.spec;
      expect(d.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
      expect(pod.serviceAccountName).toBe(one(rendered(overlay), 'ServiceAccount').metadata.name);
      const c = containerOf(overlay);
      expect(c.image).toBe('ghcr.io/firelane/firelane:latest');
      expect(readText(`overlays/${overlay}/kustomization.yaml`)).toMatch(/#.*[Pp]in .*tag/);

      const port = byName(c.ports).http;
      expect(port.containerPort).toBe(3000);
      const probePort = (probe: Obj) => (probe.httpGet.port === 'http' ? 3000 : probe.httpGet.port);
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(probePort(c.livenessProbe)).toBe(3000);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(probePort(c.readinessProbe)).toBe(3000);

      expect(c.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
      expect(c.resources.limits.memory).toBe('512Mi');
      // firelane's graceful stop waits up to 10 s for running jobs.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(10);
    });

    it('Deployment: environment (port, bind address, console off, config from the ConfigMap, secrets from the Secret)', () => {
      const c = containerOf(overlay);
      const env = byName(c.env);
      expect(Object.fromEntries(Object.entries(env).map(([k, e]) => [k, e.value]))).toMatchObject({
        PORT: '3000',
        HOST: '0.0.0.0', // else local-console mode (no chat credentials) binds 127.0.0.1 and the probes fail
        FIRELANE_CONSOLE: '0', // the console is unauthenticated
        FIRELANE_CONFIG: '/etc/firelane/firelane.yaml',
      });
      // No secret value inline in the Deployment.
      for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'GITHUB_TOKEN', 'MICROSOFT_APP_PASSWORD']) {
        expect(env[name], name).toBeUndefined();
      }
      for (const e of Object.values(env)) expect(e.value ?? '', e.name).not.toMatch(/:\/\/[^/]*:[^/]*@/);
      expect(c.envFrom).toEqual([{ secretRef: { name: SECRET_NAME, optional: true } }]);

      const d = deploymentOf(overlay);
      const volumes = byName(d.spec.template.spec.volumes);
      const mounts = byName(c.volumeMounts, 'mountPath');
      expect(volumes[mounts['/etc/firelane'].name].configMap.name).toBe(
        one(rendered(overlay), 'ConfigMap').metadata.name,
      );
      expect(mounts['/etc/firelane'].readOnly).toBe(true);
      // The root filesystem is read-only: /tmp is the scratch space.
      expect(volumes[mounts['/tmp'].name].emptyDir).toBeDefined();
    });

    it('Deployment: non-root (uid 1000), read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
      const pod = deploymentOf(overlay).spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      const sc = containerOf(overlay).securityContext;
      expect(sc).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(sc.capabilities.add).toBeUndefined();
      expect(sc.privileged).not.toBe(true);
      expect(pod.hostNetwork).not.toBe(true);
      expect(pod.hostPID).not.toBe(true);
      for (const v of pod.volumes as Obj[]) expect(v.hostPath, `volume ${v.name}`).toBeUndefined();
      // The namespace enforces the Pod Security "restricted" profile these settings meet.
      expect(one(rendered(overlay), 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe(
        'restricted',
      );
    });

    it('Service ClusterIP 80 -> the container port 3000 of the Deployment pods', () => {
      const svc = one(rendered(overlay), 'Service', 'firelane');
      expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
      expect(svc.spec.ports).toHaveLength(1);
      expect(svc.spec.ports[0].port).toBe(80);
      expect(['http', 3000]).toContain(svc.spec.ports[0].targetPort);
      expect(selects({ matchLabels: svc.spec.selector }, deploymentOf(overlay).spec.template.metadata.labels)).toBe(
        true,
      );
    });

    it('ConfigMap firelane.yaml is a valid config as shipped and with its commented example uncommented', () => {
      const text: string = one(rendered(overlay), 'ConfigMap').data['firelane.yaml'];
      const shipped = parseFileConfig(text, `overlays/${overlay} firelane.yaml`);
      expect(shipped.services).toEqual({}); // works without a real cluster

      // The documented way to configure it: drop `services: {}` and the "# " in front of the example lines.
      const uncommented = text
        .split('\n')
        .filter((line) => line.trim() !== 'services: {}')
        .map((line) => line.replace(/^(\s*)# /, '$1'))
        .join('\n');
      const example = parseFileConfig(uncommented, `overlays/${overlay} firelane.yaml (example)`);
      expect(example.services.payments?.kubernetes).toMatchObject({
        namespace: 'payments',
        deployment: 'payments',
        strategy: 'rolling',
      });
      expect(example.approvals.production?.approvers.length).toBeGreaterThan(0);
      expect(example.incidents.announceChannel).toBeDefined();
      // The example's target namespace is the one rbac.yaml grants access to.
      expect(one(RBAC, 'Role').metadata.namespace).toBe(example.services.payments!.kubernetes!.namespace);
    });
  });

  it('the variants share the namespace, identity, config, Service and all of the pod but its database and scheduling', () => {
    for (const kind of ['Namespace', 'ServiceAccount', 'ConfigMap', 'Service']) {
      expect(one(rendered('postgres'), kind), kind).toEqual(one(rendered('sqlite'), kind));
    }
    const shared = (overlay: Overlay) => {
      const { env, volumeMounts, lifecycle, ...container } = containerOf(overlay);
      const { containers, volumes, topologySpreadConstraints, affinity, ...pod } =
        deploymentOf(overlay).spec.template.spec;
      return { container, pod, labels: deploymentOf(overlay).spec.template.metadata };
    };
    expect(shared('postgres')).toEqual(shared('sqlite'));
  });

  describe('overlays/sqlite: one replica on a SQLite file', () => {
    it('one replica, Recreate: the old pod stops before the new one opens the file', () => {
      const d = deploymentOf('sqlite');
      expect(d.spec.replicas).toBe(1);
      expect(d.spec.strategy).toEqual({ type: 'Recreate' });
      expect(rendered('sqlite').filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    });

    it('the database on a 1Gi ReadWriteOnce PVC mounted at /data; DATABASE_PATH there; no DATABASE_URL', () => {
      const pvc = one(rendered('sqlite'), 'PersistentVolumeClaim');
      expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
      expect(pvc.spec.resources.requests.storage).toBe('1Gi');

      const c = containerOf('sqlite');
      const volumes = byName(deploymentOf('sqlite').spec.template.spec.volumes);
      const mounts = byName(c.volumeMounts, 'mountPath');
      expect(volumes[mounts['/data'].name].persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
      expect(Object.keys(mounts).sort()).toEqual(['/data', '/etc/firelane', '/tmp']);

      const env = byName(c.env);
      expect(env.DATABASE_PATH).toEqual({ name: 'DATABASE_PATH', value: '/data/firelane.db' });
      expect(env.DATABASE_URL).toBeUndefined();
    });
  });

  describe('overlays/postgres: several replicas on PostgreSQL', () => {
    it('at least two replicas, rolled one at a time without ever going below the desired count', () => {
      const d = deploymentOf('postgres');
      expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(d.spec.strategy.type).toBe('RollingUpdate');
      expect([0, '0%']).toContain(d.spec.strategy.rollingUpdate.maxUnavailable);
      expect(d.spec.strategy.rollingUpdate.maxSurge).toBe(1);
    });

    it('DATABASE_URL from the Secret (secretKeyRef, required); no DATABASE_PATH, no PVC, no /data', () => {
      const c = containerOf('postgres');
      const env = byName(c.env);
      expect(env.DATABASE_URL).toEqual({
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: SECRET_NAME, key: 'DATABASE_URL' } },
      });
      expect(env.DATABASE_PATH).toBeUndefined();

      expect(rendered('postgres').filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
      const volumes = deploymentOf('postgres').spec.template.spec.volumes as Obj[];
      expect(volumes.filter((v) => v.persistentVolumeClaim !== undefined)).toEqual([]);
      expect(Object.keys(byName(c.volumeMounts, 'mountPath')).sort()).toEqual(['/etc/firelane', '/tmp']);
    });

    it('a PodDisruptionBudget over the pods that lets a drain proceed but keeps one serving', () => {
      const pdb = one(rendered('postgres'), 'PodDisruptionBudget');
      expect(pdb.apiVersion).toBe('policy/v1');
      const d = deploymentOf('postgres');
      expect(selects(pdb.spec.selector, d.spec.template.metadata.labels), 'the PDB selects the pods').toBe(true);
      const replicas: number = d.spec.replicas;
      const { minAvailable, maxUnavailable } = pdb.spec;
      expect(
        [minAvailable, maxUnavailable].filter((v) => v !== undefined),
        'one of the two',
      ).toHaveLength(1);
      const mayStop = maxUnavailable ?? replicas - minAvailable;
      expect(mayStop).toBeGreaterThanOrEqual(1);
      expect(mayStop).toBeLessThan(replicas);
    });

    it('readiness on /readyz (503 while the database is unreachable), spread across nodes, stop covered by the grace period', () => {
      const c = containerOf('postgres');
      expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
      expect(c.livenessProbe.httpGet.path).toBe('/healthz'); // a database outage must not restart the pods

      const pod = deploymentOf('postgres').spec.template.spec;
      const labels = deploymentOf('postgres').spec.template.metadata.labels;
      const spread = (pod.topologySpreadConstraints ?? []).filter(
        (t: Obj) =>
          t.topologyKey === 'kubernetes.io/hostname' &&
          t.whenUnsatisfiable === 'ScheduleAnyway' && // a single-node cluster still schedules every replica
          selects(t.labelSelector, labels),
      );
      const antiAffinity = (
        pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []
      ).filter(
        (p: Obj) =>
          p.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' &&
          selects(p.podAffinityTerm.labelSelector, labels),
      );
      expect(spread.length + antiAffinity.length, 'spread or preferred anti-affinity over kubernetes.io/hostname').toBe(
        1,
      );
      expect(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();

      // preStop pause + firelane's 10 s graceful stop must end before the kubelet's SIGKILL.
      const preStop = c.lifecycle?.preStop;
      const pause =
        preStop?.sleep?.seconds ?? Number(preStop?.exec?.command?.join(' ').match(/^sleep (\d+)$/)?.[1] ?? 0);
      expect(pause).toBeLessThanOrEqual(10);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + 10);
    });
  });
});

/* ------------------------------------------------------------------------------------------------------------ */
/* 3. kubectl apply --dry-run=client on each rendered overlay                                                    */
/* ------------------------------------------------------------------------------------------------------------ */

const ALL_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** Discovery for the kinds the fake does not model (legacy discovery documents, as a real API server serves them). */
const EXTRA_CORE = [
  {
    name: 'configmaps',
    singularName: 'configmap',
    namespaced: true,
    kind: 'ConfigMap',
    verbs: ALL_VERBS,
    shortNames: ['cm'],
  },
  { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ALL_VERBS },
  {
    name: 'persistentvolumeclaims',
    singularName: 'persistentvolumeclaim',
    namespaced: true,
    kind: 'PersistentVolumeClaim',
    verbs: ALL_VERBS,
    shortNames: ['pvc'],
  },
  {
    name: 'serviceaccounts',
    singularName: 'serviceaccount',
    namespaced: true,
    kind: 'ServiceAccount',
    verbs: ALL_VERBS,
    shortNames: ['sa'],
  },
];

/** API groups the fake does not serve at all: the shim answers their discovery and 404s their objects. */
const EXTRA_GROUPS = [
  {
    name: 'rbac.authorization.k8s.io',
    resources: [
      { name: 'roles', singularName: 'role', namespaced: true, kind: 'Role', verbs: ALL_VERBS },
      { name: 'rolebindings', singularName: 'rolebinding', namespaced: true, kind: 'RoleBinding', verbs: ALL_VERBS },
      { name: 'clusterroles', singularName: 'clusterrole', namespaced: false, kind: 'ClusterRole', verbs: ALL_VERBS },
      {
        name: 'clusterrolebindings',
        singularName: 'clusterrolebinding',
        namespaced: false,
        kind: 'ClusterRoleBinding',
        verbs: ALL_VERBS,
      },
    ],
  },
  {
    name: 'policy',
    resources: [
      {
        name: 'poddisruptionbudgets',
        singularName: 'poddisruptionbudget',
        namespaced: true,
        kind: 'PodDisruptionBudget',
        verbs: ALL_VERBS,
        shortNames: ['pdb'],
      },
      {
        name: 'poddisruptionbudgets/status',
        singularName: '',
        namespaced: true,
        kind: 'PodDisruptionBudget',
        verbs: ['get'],
      },
    ],
  },
].map((g) => {
  const gv = { groupVersion: `${g.name}/v1`, version: 'v1' };
  return {
    group: { name: g.name, versions: [gv], preferredVersion: gv },
    resourceList: { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv.groupVersion, resources: g.resources },
  };
});

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const EXTRA_RESOURCE_PATH = new RegExp(
  `^/(?:api/v1|apis/(?:${EXTRA_GROUPS.map((g) => escapeRe(g.group.name)).join('|')})/v1)/namespaces/[^/]+/(${[
    ...EXTRA_CORE.map((r) => r.name),
    ...EXTRA_GROUPS.flatMap((g) => g.resourceList.resources.filter((r) => r.namespaced).map((r) => r.name)),
  ]
    .filter((n) => !n.includes('/'))
    .join('|')})(/|$)`,
);

interface Shim {
  url: string;
  requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

/** Loopback server in front of the fake: extends its discovery and 404s objects it does not model; proxies the rest. */
async function startShim(fake: FakeKube): Promise<Shim> {
  const requests: Shim['requests'] = [];
  const sendJson = (res: http.ServerResponse, code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const fromFake = async (p: string) =>
    (await (await fetch(fake.url + p, { headers: { Accept: 'application/json' } })).json()) as Obj;
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? '?', path: p });
    (async () => {
      if (req.method === 'GET' && p === '/apis') {
        const list = await fromFake('/apis');
        return sendJson(res, 200, { ...list, groups: [...list.groups, ...EXTRA_GROUPS.map((g) => g.group)] });
      }
      for (const g of EXTRA_GROUPS) {
        if (req.method === 'GET' && p === `/apis/${g.group.name}`)
          return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g.group });
        if (req.method === 'GET' && p === `/apis/${g.resourceList.groupVersion}`)
          return sendJson(res, 200, g.resourceList);
      }
      if (req.method === 'GET' && p === '/api/v1') {
        const list = await fromFake('/api/v1');
        return sendJson(res, 200, { ...list, resources: [...list.resources, ...EXTRA_CORE] });
      }
      const extra = EXTRA_RESOURCE_PATH.exec(p);
      if (extra) {
        const name = p.split('/').pop();
        return sendJson(res, 404, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
          message: `${extra[1]} "${name}" not found`,
          details: { name, kind: extra[1] },
        });
      }
      // Everything else (version, core and apps discovery, namespaces, deployments, services) is the fake's.
      const upstream = http.request(fake.url + (req.url ?? '/'), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!KUBECTL)('manifests/k8s overlays with kubectl apply --dry-run=client', () => {
  beforeAll(renderAll);

  /** Own KUBECONFIG, HOME and discovery cache: the user's real kubeconfig and cache are never read or written. */
  async function kubeEnv(server: string): Promise<{ env: NodeJS.ProcessEnv; cacheDir: string; dir: string }> {
    const dir = await tempDir();
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: local',
        `  cluster: { server: ${JSON.stringify(server)} }`,
        'users:',
        '- name: local',
        '  user: {}',
        'contexts:',
        '- name: local',
        '  context: { cluster: local, user: local, namespace: default }',
        'current-context: local',
        '',
      ].join('\n'),
    );
    return {
      env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig },
      cacheDir: path.join(dir, 'cache'),
      dir,
    };
  }

  /** The rendered overlay as a file for `kubectl apply -f`. */
  async function renderedFile(dir: string, overlay: Overlay): Promise<string> {
    const file = path.join(dir, `${overlay}.yaml`);
    await writeFile(file, RENDERED.get(overlay)!.yaml);
    return file;
  }

  const dryRun = (cacheDir: string, file: string, timeout: string) => [
    'apply',
    '--dry-run=client',
    '--validate=false',
    `--request-timeout=${timeout}`,
    '--cache-dir',
    cacheDir,
    '-f',
    file,
    '-o',
    'json',
  ];

  it('client dry-run needs an API server for discovery: an unreachable one fails (why the test serves one)', async () => {
    const { env, cacheDir, dir } = await kubeEnv('http://127.0.0.1:9');
    const r = await run(KUBECTL!, dryRun(cacheDir, await renderedFile(dir, 'sqlite'), '5s'), env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/127\.0\.0\.1:9/);
  });

  it.each(OVERLAYS)(
    'kubectl apply --dry-run=client --validate=false -f <overlays/%s rendered> accepts every object, only reading',
    async (overlay) => {
      const fake = await startFakeKube();
      cleanups.push(() => fake.close());
      const shim = await startShim(fake);
      cleanups.push(() => shim.close());
      const { env, cacheDir, dir } = await kubeEnv(shim.url);

      const r = await run(KUBECTL!, dryRun(cacheDir, await renderedFile(dir, overlay), '10s'), env);
      expect(r.stderr, r.stderr).toBe('');
      expect(r.code).toBe(0);

      const out = JSON.parse(r.stdout) as Obj;
      const items: Obj[] = out.kind === 'List' ? out.items : [out];
      expect(items.map((o) => o.kind).sort()).toEqual(EXPECTED_KINDS[overlay]);
      // kubectl saw the same objects the rendering holds (name and namespace each).
      const ids = (list: Obj[]) => list.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
      expect(ids(items)).toEqual(ids(rendered(overlay)));
      const deployment = items.find((o) => o.kind === 'Deployment')!;
      expect(deployment.spec.strategy.type).toBe(overlay === 'sqlite' ? 'Recreate' : 'RollingUpdate');
      expect(deployment.spec.replicas).toBe(deploymentOf(overlay).spec.replicas);

      // A client dry run only reads: discovery and one GET per object, never a write.
      expect(shim.requests.length).toBeGreaterThan(0);
      expect(shim.requests.filter((q) => q.method !== 'GET')).toEqual([]);
      expect(fake.requests.filter((q) => q.method !== 'GET')).toEqual([]);
      if (overlay === 'postgres') {
        expect(shim.requests.map((q) => q.path)).toContain(
          '/apis/policy/v1/namespaces/firelane/poddisruptionbudgets/firelane',
        );
      }
    },
  );
});

/**
 * manifests/k8s: what a platform team applies (issue 8). Two checks:
 *
 * 1. Every file is parsed with the `yaml` package and the properties that matter are asserted: one replica and the
 *    Recreate strategy (one SQLite writer), the database on a PVC, probes on /healthz and /readyz, a non-root,
 *    read-only, capability-less container, the config file from the ConfigMap (itself a valid firelane.yaml), and
 *    a least-privilege Role (exactly the verbs firelane needs, nothing on Secrets, create only on Deployments for the canary, no update/delete).
 * 2. The machine image's `kubectl` runs `kubectl apply --dry-run=client --validate=false -f manifests/k8s -o json`.
 *    Client dry-run still needs the API server for discovery (the REST mapping of each kind) and GETs each object to
 *    compute the apply; with an unreachable server it fails ("unable to recognize ... connection refused"). So the
 *    kubeconfig points at a loopback server: the project's fake Kubernetes API (startFakeKube), fronted by a small
 *    shim that adds discovery for the kinds the fake does not model (ConfigMap, Secret, PVC, ServiceAccount, RBAC)
 *    and answers their GETs with NotFound. Nothing real is contacted, and the test asserts kubectl only read.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseFileConfig } from '../../src/config.js';
import { startFakeKube, type FakeKube } from '../fakes/fake-kube.js';
import { requireTool, TOOLS } from '../support/require-tool.js';

const DIR = path.resolve(import.meta.dirname, '../../manifests/k8s');

type Obj = Record<string, any>;
interface Doc {
  file: string;
  obj: Obj;
}

const FILES = readdirSync(DIR)
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .sort();

function loadAll(): Doc[] {
  const docs: Doc[] = [];
  for (const file of FILES) {
    for (const doc of parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as Obj | null;
      if (obj !== null) docs.push({ file, obj });
    }
  }
  return docs;
}

const DOCS = loadAll();
const find = (kind: string, name?: string): Obj => {
  const hits = DOCS.filter((d) => d.obj.kind === kind && (name === undefined || d.obj.metadata?.name === name));
  expect(hits, `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return hits[0]!.obj;
};

const EXPECTED_FILES = [
  'configmap.yaml',
  'deployment.yaml',
  'namespace.yaml',
  'pvc.yaml',
  'rbac.yaml',
  'secret.example.yaml',
  'service.yaml',
  'serviceaccount.yaml',
];
const EXPECTED_KINDS = [
  'ConfigMap',
  'Deployment',
  'Namespace',
  'PersistentVolumeClaim',
  'Role',
  'RoleBinding',
  'Secret',
  'Service',
  'ServiceAccount',
].sort();

describe('manifests/k8s (parsed with yaml)', () => {
  it('has the expected files, each a parseable Kubernetes object with apiVersion, kind and name', () => {
    expect(FILES).toEqual(EXPECTED_FILES);
    for (const file of FILES)
      expect(
        DOCS.some((d) => d.file === file),
        `${file} holds an object`,
      ).toBe(true);
    for (const { file, obj } of DOCS) {
      expect(typeof obj.apiVersion, `${file}: apiVersion`).toBe('string');
      expect(typeof obj.kind, `${file}: kind`).toBe('string');
      expect(typeof obj.metadata?.name, `${file}: metadata.name`).toBe('string');
    }
    expect(DOCS.map((d) => d.obj.kind).sort()).toEqual(EXPECTED_KINDS);
    expect(readFileSync(path.join(DIR, 'README.md'), 'utf8')).toMatch(/kubectl apply/);
  });

  it('everything of firelane itself lives in the namespace firelane', () => {
    expect(find('Namespace').metadata.name).toBe('firelane');
    for (const kind of ['ServiceAccount', 'Deployment', 'PersistentVolumeClaim', 'Service', 'ConfigMap', 'Secret']) {
      expect(find(kind).metadata.namespace, kind).toBe('firelane');
    }
  });

  it('Deployment: one replica, Recreate, the image with a pin-a-tag comment, probes on /healthz and /readyz', () => {
    const d = find('Deployment', 'firelane');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    const pod = d.spec.template.spec;
    expect(d.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
    expect(pod.serviceAccountName).toBe(find('ServiceAccount').metadata.name);
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    expect(c.image).toBe('ghcr.io/firelane/firelane:latest');
    expect(readFileSync(path.join(DIR, 'deployment.yaml'), 'utf8')).toMatch(/#.*[Pp]in .*tag/);

    const port = c.ports.find((p: Obj) => p.name === 'http');
    expect(port.containerPort).toBe(3000);
    const probePort = (probe: Obj) => (probe.httpGet.port === 'http' ? 3000 : probe.httpGet.port);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(probePort(c.livenessProbe)).toBe(3000);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(probePort(c.readinessProbe)).toBe(3000);

    expect(c.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(c.resources.limits.memory).toBe('512Mi');
  });

  it('Deployment: environment (port, bind address, database on /data, config from the ConfigMap, secrets from the Secret)', () => {
    const d = find('Deployment', 'firelane');
    const c = d.spec.template.spec.containers[0];
    const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      PORT: '3000',
      HOST: '0.0.0.0', // else local-console mode (no chat credentials) binds 127.0.0.1 and the probes fail
      FIRELANE_CONSOLE: '0', // the console is unauthenticated
      DATABASE_PATH: '/data/firelane.db',
      FIRELANE_CONFIG: '/etc/firelane/firelane.yaml',
    });
    // No secret value inline in the Deployment.
    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'GITHUB_TOKEN', 'MICROSOFT_APP_PASSWORD']) {
      expect(env[name], name).toBeUndefined();
    }
    const secret = find('Secret');
    expect(c.envFrom).toEqual([{ secretRef: { name: secret.metadata.name, optional: true } }]);

    const volumes = Object.fromEntries((d.spec.template.spec.volumes as Obj[]).map((v) => [v.name, v]));
    const mounts = Object.fromEntries((c.volumeMounts as Obj[]).map((m) => [m.mountPath, m]));
    expect(volumes[mounts['/data'].name].persistentVolumeClaim.claimName).toBe(
      find('PersistentVolumeClaim').metadata.name,
    );
    expect(volumes[mounts['/etc/firelane'].name].configMap.name).toBe(find('ConfigMap').metadata.name);
    expect(mounts['/etc/firelane'].readOnly).toBe(true);
    expect(volumes[mounts['/tmp'].name].emptyDir).toBeDefined();
    expect(Object.keys(mounts).sort()).toEqual(['/data', '/etc/firelane', '/tmp']);
  });

  it('Deployment: non-root (uid 1000), read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    const pod = find('Deployment', 'firelane').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const sc = pod.containers[0].securityContext;
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
  });

  it('PVC 1Gi ReadWriteOnce; Service ClusterIP 80 -> the container port 3000 of the Deployment pods', () => {
    const pvc = find('PersistentVolumeClaim');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec.resources.requests.storage).toBe('1Gi');

    const svc = find('Service', 'firelane');
    expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(svc.spec.ports).toHaveLength(1);
    expect(svc.spec.ports[0].port).toBe(80);
    expect(['http', 3000]).toContain(svc.spec.ports[0].targetPort);
    const labels = find('Deployment', 'firelane').spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(labels[k], `pod label ${k}`).toBe(v);
  });

  it('ConfigMap firelane.yaml is a valid config as shipped and with its commented example uncommented', () => {
    const text: string = find('ConfigMap').data['firelane.yaml'];
    const shipped = parseFileConfig(text, 'configmap.yaml firelane.yaml');
    expect(shipped.services).toEqual({}); // works without a real cluster

    // The documented way to configure it: drop `services: {}` and the "# " in front of the example lines.
    const uncommented = text
      .split('\n')
      .filter((line) => line.trim() !== 'services: {}')
      .map((line) => line.replace(/^(\s*)# /, '$1'))
      .join('\n');
    const example = parseFileConfig(uncommented, 'configmap.yaml firelane.yaml (example)');
    expect(example.services.payments?.kubernetes).toMatchObject({
      namespace: 'payments',
      deployment: 'payments',
      strategy: 'rolling',
    });
    expect(example.approvals.production?.approvers.length).toBeGreaterThan(0);
    expect(example.incidents.announceChannel).toBeDefined();
    // The example's target namespace is the one rbac.yaml grants access to.
    expect(find('Role').metadata.namespace).toBe(example.services.payments!.kubernetes!.namespace);
  });

  it('Secret template: placeholders only, in stringData, with the copy-fill-never-commit warning', () => {
    const raw = readFileSync(path.join(DIR, 'secret.example.yaml'), 'utf8');
    expect(raw).toMatch(/never commit/i);
    const secret = find('Secret');
    expect(secret.data).toBeUndefined();
    const keys = Object.keys(secret.stringData);
    expect(keys).toEqual(expect.arrayContaining(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'GITHUB_TOKEN']));
    for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(value, key).toMatch(/REPLACE-ME/);
    }
    expect(raw).toMatch(/MICROSOFT_APP_PASSWORD/);
  });

  it('RBAC: Role firelane-deployer with exactly the verbs a deploy needs, bound to the firelane ServiceAccount', () => {
    const role = find('Role', 'firelane-deployer');
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
    expect(DOCS.some((d) => d.obj.kind === 'ClusterRole' || d.obj.kind === 'ClusterRoleBinding')).toBe(false);

    const binding = find('RoleBinding');
    expect(binding.metadata.namespace).toBe(role.metadata.namespace);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'firelane-deployer' });
    const sa = find('ServiceAccount');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace },
    ]);
    expect(readFileSync(path.join(DIR, 'rbac.yaml'), 'utf8')).toMatch(/#.*[Cc]opy .*per target namespace/);
  });
});

/* ------------------------------------------------------------------------------------------------------------ */
/* kubectl apply --dry-run=client                                                                                */
/* ------------------------------------------------------------------------------------------------------------ */

const KUBECTL = requireTool(TOOLS.kubectl);

/** Discovery for the kinds the fake does not model (legacy discovery documents, as a real API server serves them). */
const EXTRA_CORE = [
  {
    name: 'configmaps',
    singularName: 'configmap',
    namespaced: true,
    kind: 'ConfigMap',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['cm'],
  },
  {
    name: 'secrets',
    singularName: 'secret',
    namespaced: true,
    kind: 'Secret',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
  {
    name: 'persistentvolumeclaims',
    singularName: 'persistentvolumeclaim',
    namespaced: true,
    kind: 'PersistentVolumeClaim',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['pvc'],
  },
  {
    name: 'serviceaccounts',
    singularName: 'serviceaccount',
    namespaced: true,
    kind: 'ServiceAccount',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['sa'],
  },
];
const RBAC_GV = { groupVersion: 'rbac.authorization.k8s.io/v1', version: 'v1' };
const RBAC_GROUP = { name: 'rbac.authorization.k8s.io', versions: [RBAC_GV], preferredVersion: RBAC_GV };
const RBAC_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: RBAC_GV.groupVersion,
  resources: [
    {
      name: 'roles',
      singularName: 'role',
      namespaced: true,
      kind: 'Role',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
    {
      name: 'rolebindings',
      singularName: 'rolebinding',
      namespaced: true,
      kind: 'RoleBinding',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
    {
      name: 'clusterroles',
      singularName: 'clusterrole',
      namespaced: false,
      kind: 'ClusterRole',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
    {
      name: 'clusterrolebindings',
      singularName: 'clusterrolebinding',
      namespaced: false,
      kind: 'ClusterRoleBinding',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    },
  ],
};
const EXTRA_RESOURCE_PATH = new RegExp(
  `^/(api/v1|apis/rbac\\.authorization\\.k8s\\.io/v1)/namespaces/[^/]+/(${[...EXTRA_CORE.map((r) => r.name), 'roles', 'rolebindings'].join('|')})(/|$)`,
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
        return sendJson(res, 200, { ...list, groups: [...list.groups, RBAC_GROUP] });
      }
      if (req.method === 'GET' && p === '/apis/rbac.authorization.k8s.io')
        return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...RBAC_GROUP });
      if (req.method === 'GET' && p === '/apis/rbac.authorization.k8s.io/v1') return sendJson(res, 200, RBAC_RESOURCES);
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
          message: `${extra[2]} "${name}" not found`,
          details: { name, kind: extra[2] },
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

describe('manifests/k8s with kubectl', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function kubeEnv(server: string): Promise<{ env: NodeJS.ProcessEnv; cacheDir: string }> {
    const dir = await mkdtemp(path.join(tmpdir(), 'k8s-manifests-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
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
    // Own KUBECONFIG, HOME and discovery cache: the user's real kubeconfig and cache are never read or written.
    return { env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig }, cacheDir: path.join(dir, 'cache') };
  }

  it.skipIf(!KUBECTL)(
    'client dry-run needs an API server for discovery: an unreachable one fails (why the test serves one)',
    async () => {
      const { env, cacheDir } = await kubeEnv('http://127.0.0.1:9');
      const r = await run(
        KUBECTL!,
        [
          'apply',
          '--dry-run=client',
          '--validate=false',
          '--request-timeout=5s',
          '--cache-dir',
          cacheDir,
          '-f',
          DIR,
          '-o',
          'json',
        ],
        env,
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/127\.0\.0\.1:9/);
    },
  );

  it.skipIf(!KUBECTL)(
    'kubectl apply --dry-run=client --validate=false -f manifests/k8s parses every file and yields the expected kinds',
    async () => {
      const fake = await startFakeKube();
      cleanups.push(() => fake.close());
      const shim = await startShim(fake);
      cleanups.push(() => shim.close());
      const { env, cacheDir } = await kubeEnv(shim.url);

      const r = await run(
        KUBECTL!,
        [
          'apply',
          '--dry-run=client',
          '--validate=false',
          '--request-timeout=10s',
          '--cache-dir',
          cacheDir,
          '-f',
          DIR,
          '-o',
          'json',
        ],
        env,
      );
      expect(r.stderr, r.stderr).toBe('');
      expect(r.code).toBe(0);

      const out = JSON.parse(r.stdout) as Obj;
      const items: Obj[] = out.kind === 'List' ? out.items : [out];
      expect(items.map((o) => o.kind).sort()).toEqual(EXPECTED_KINDS);
      // kubectl saw the same objects the YAML holds (name and namespace each).
      const ids = (list: Obj[]) => list.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
      expect(ids(items)).toEqual(ids(DOCS.map((d) => d.obj)));
      const deployment = items.find((o) => o.kind === 'Deployment')!;
      expect(deployment.spec.strategy.type).toBe('Recreate');

      // A client dry run only reads: discovery and one GET per object, never a write.
      expect(shim.requests.length).toBeGreaterThan(0);
      expect(shim.requests.filter((q) => q.method !== 'GET')).toEqual([]);
      expect(fake.requests.filter((q) => q.method !== 'GET')).toEqual([]);
    },
  );
});

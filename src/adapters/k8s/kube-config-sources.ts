// Where a kubeconfig may come from, checked without loading client-node (which costs a second of
// start-up): local mode needs to know only whether any is there.
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface KubeConfigSources {
  /** Path(s) of kubeconfig files (KUBECONFIG); the first is used. */
  kubeconfig?: string;
  /** The home folder, for ~/.kube/config. */
  home?: string;
  /** KUBERNETES_SERVICE_HOST and _PORT are set: running in a pod. */
  inCluster?: boolean;
}

export type KubeConfigSource = { kind: 'file'; path: string } | { kind: 'in-cluster' };

/** The source kubectl would use (KUBECONFIG, then ~/.kube/config, then the pod's service account), if any. */
export function findKubeConfig(sources: KubeConfigSources): KubeConfigSource | undefined {
  if (sources.kubeconfig) return { kind: 'file', path: sources.kubeconfig.split(path.delimiter)[0]! };
  const home = sources.home && path.join(sources.home, '.kube', 'config');
  if (home && existsSync(home)) return { kind: 'file', path: home };
  if (sources.inCluster) return { kind: 'in-cluster' };
  return undefined;
}

export const NO_KUBE_CONFIG =
  'no Kubernetes configuration found (no KUBECONFIG, no ~/.kube/config, not running in a cluster)';

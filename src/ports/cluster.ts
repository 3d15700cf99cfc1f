// What firelane needs from Kubernetes: read a Deployment and its revision history, set an image,
// follow a rollout the way `kubectl rollout status` decides, and undo to a revision; for blue-green,
// read and switch a Service's selector; for canary, copy a Deployment and scale Deployments.
// The real implementation is adapters/k8s (client-node); tests also use a stateful fake.

export interface DeploymentTarget {
  /** kubeconfig context; the current one when absent. */
  context?: string;
  namespace: string;
  deployment: string;
}

export interface ServiceTarget {
  context?: string;
  namespace: string;
  service: string;
}

export interface ServiceState {
  namespace: string;
  name: string;
  /** spec.selector: the labels of the pods it sends traffic to. */
  selector: Record<string, string>;
  resourceVersion: string;
}

/** A Deployment made from another one's pod template (the canary). */
export interface DeploymentCopy {
  /** Name of the new Deployment. */
  name: string;
  /** Added to the selector, the pod labels and the Deployment's labels (e.g. `track: canary`). */
  labels: Record<string, string>;
  container: string;
  image: string;
  replicas: number;
}

export interface DeploymentState {
  namespace: string;
  name: string;
  /** Image of each container, by container name. */
  images: Record<string, string>;
  /** The `deployment.kubernetes.io/revision` annotation (0 when absent). */
  revision: number;
  generation: number;
  observedGeneration: number;
  /** spec.replicas */
  desired: number;
  updated: number;
  ready: number;
  available: number;
  paused: boolean;
  /** The Progressing condition reports ProgressDeadlineExceeded. */
  deadlineExceeded: boolean;
  resourceVersion: string;
}

/** One entry of the rollout history: a ReplicaSet owned by the Deployment. */
export interface Revision {
  revision: number;
  replicaSet: string;
  images: Record<string, string>;
  changeCause?: string;
}

export interface RolloutProgress {
  /** Complete as `kubectl rollout status` would say. */
  done: boolean;
  /** Why the rollout cannot succeed: deadline exceeded, or pods of the new ReplicaSet crash-looping, unable to pull, restarting. */
  failure?: string;
  desired: number;
  updated: number;
  ready: number;
  available: number;
}

export interface ChangeMeta {
  /** `kubernetes.io/change-cause`: names the request and its approver. */
  changeCause: string;
}

export interface Cluster {
  readDeployment(target: DeploymentTarget): Promise<DeploymentState | undefined>;
  history(target: DeploymentTarget): Promise<Revision[]>;
  /** Sets one container's image (strategic merge patch, fieldManager firelane). */
  setImage(target: DeploymentTarget, container: string, image: string, meta: ChangeMeta): Promise<DeploymentState>;
  rolloutProgress(target: DeploymentTarget): Promise<RolloutProgress>;
  /** `kubectl rollout undo [--to-revision]`: the pod template of that revision (default: the previous one). */
  undo(target: DeploymentTarget, meta: ChangeMeta, toRevision?: number): Promise<DeploymentState>;
  /** spec.replicas of a Deployment (a patch: no new revision). */
  scale(target: DeploymentTarget, replicas: number, meta: ChangeMeta): Promise<DeploymentState>;
  readService(target: ServiceTarget): Promise<ServiceState | undefined>;
  /** Sets one label of the Service's selector (blue-green: `slot`). */
  setSelector(target: ServiceTarget, label: string, value: string, meta: ChangeMeta): Promise<ServiceState>;
  /**
   * Creates `copy.name` from the pod template of `from` with the extra labels, the image set and the
   * replicas; when it exists already, replaces its pod template and replicas the same way.
   */
  copyDeployment(from: DeploymentTarget, copy: DeploymentCopy, meta: ChangeMeta): Promise<DeploymentState>;
}

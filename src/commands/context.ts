// What a command handler gets: the parsed input, its dependencies, and a transactional write.
import type { Logger } from 'pino';
import type { FileConfig } from '../config.js';
import type { Clock } from '../ports/clock.js';
import type { Cluster } from '../ports/cluster.js';
import type { GitHost } from '../ports/git-host.js';
import type { Store } from '../ports/store.js';
import type { CommandInput } from './command.js';
import type { Token } from './parse-command.js';

export interface CommandDeps {
  store: Store;
  clock: Clock;
  config: FileConfig;
  /** Kubernetes, when connected: /deploy and /rollback refuse without it. */
  cluster?: Cluster;
  /** Why there is no cluster (no kubeconfig found, unreadable…), for that refusal. */
  clusterProblem?: string;
  /** The cluster is firelane's built-in simulation (local mode): cards say so. */
  clusterSimulated?: boolean;
  /** GitHub, when GITHUB_TOKEN is set: /hotfix refuses without it. */
  git?: GitHost;
}

export interface HandlerContext {
  input: CommandInput;
  /** Positional tokens after the subcommand. */
  args: Token[];
  flags: Record<string, string>;
  deps: CommandDeps;
  /** This command's logger: platform, command and user bound; `concerns` adds the incident. */
  log: Logger;
  /** Names the incident this command is about, in its log lines (INC-n). */
  concerns(incidentId: number | null): void;
  /**
   * Runs `fn` in one transaction together with claiming the request's idempotency key: a retried
   * delivery of the same request throws DuplicateRequest instead of writing twice.
   */
  write<T>(fn: () => Promise<T>): Promise<T>;
}

export { DuplicateRequest } from '../ports/store.js';

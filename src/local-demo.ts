// What `npm start` on a fresh clone runs with: no credentials and no firelane.yaml. Then the
// console is on, deploys go to the built-in simulated cluster, and so that every command can be
// tried at once, three demo services (one per strategy) and two approvers are configured.
import type { FileConfig } from './config.js';
import type { ServiceConfig } from './config/types.js';

const IMAGE = 'registry.local/demo';

function demoService(name: string, strategy: 'rolling' | 'blue-green' | 'canary'): ServiceConfig {
  return {
    productionBranch: 'production',
    developBranch: 'main',
    hotfixFrom: 'branch',
    kubernetes: {
      namespace: 'demo',
      deployment: name,
      container: 'app',
      image: `${IMAGE}/${name}`,
      strategy,
      ...(strategy !== 'rolling' && { service: name }),
      canarySteps: [25, 50, 100],
      ...(strategy === 'canary' && { canaryIntervalMs: 20_000 }),
    },
    healthCheck: { windowMs: 30_000 },
  };
}

/** The built-in defaults plus the demo services and approvers (only what the config leaves empty). */
export function withLocalDemo(file: FileConfig): FileConfig {
  const next = structuredClone(file);
  if (Object.keys(next.services).length === 0) {
    next.services = {
      payments: demoService('payments', 'rolling'),
      web: demoService('web', 'blue-green'),
      search: demoService('search', 'canary'),
    };
  }
  const production = next.approvals.production;
  if (production && production.approvers.length === 0) production.approvers = ['alice', 'bob'];
  return next;
}

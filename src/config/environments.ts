// Where `/deploy <service> <version> --env=<e>` goes: the service's own `kubernetes` for the default
// environment, or `environments.<e>` (already merged over it). The environment also names the
// approval rules (`approvals.<e>`), so one flag always selects target and rules together.
import { DEFAULT_ENVIRONMENT } from './defaults.js';
import type { EnvironmentTarget, FileConfig, ServiceConfig } from './types.js';

/** The target of `environment`, or undefined when the service has none there. */
export function environmentTarget(service: ServiceConfig, environment: string): EnvironmentTarget | undefined {
  if (environment === DEFAULT_ENVIRONMENT)
    return service.kubernetes && { kubernetes: service.kubernetes, healthCheck: service.healthCheck };
  return service.environments && Object.hasOwn(service.environments, environment)
    ? service.environments[environment]
    : undefined;
}

/** The environments the service can deploy to, the default first. */
export function targetEnvironments(service: ServiceConfig): string[] {
  return [...(service.kubernetes ? [DEFAULT_ENVIRONMENT] : []), ...Object.keys(service.environments ?? {})];
}

/** The target a request of `service` in `environment` goes to under the config as it is now. */
export function requestTarget(config: FileConfig, service: string, environment: string): EnvironmentTarget | undefined {
  const s = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
  return s && environmentTarget(s, environment);
}

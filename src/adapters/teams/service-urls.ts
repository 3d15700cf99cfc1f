// Where firelane may send Bot Connector calls (replies, proactive posts, new threads, member look-ups).
// A serviceUrl arrives in every activity and is stored with every conversation; firelane's credentials
// go to it. Only Microsoft's Bot Connector hosts qualify, never an address a caller wrote into an
// activity (no SDK import here: the gate runs before the SDK is loaded).

/**
 * The Bot Connector hosts Microsoft lists per cloud (Teams SDK, "Service URL Validation"):
 * public cloud and GCC, GCC High, DoD, China (21Vianet). Regional paths (`/amer/`, `/emea/`, `/teams/`)
 * all live under these hosts.
 */
export const TEAMS_SERVICE_HOSTS: readonly string[] = [
  'smba.trafficmanager.net',
  'smba.onyx.prod.teams.trafficmanager.net',
  'smba.infra.gcc.teams.microsoft.com',
  'smba.infra.gov.teams.microsoft.us',
  'smba.infra.dod.teams.microsoft.us',
  'frontend.botapi.msg.infra.teams.microsoftonline.cn',
];

/** Other Bot Framework channels answer under botframework.com (and only its subdomains). */
const BOT_FRAMEWORK_DOMAIN = 'botframework.com';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface ServiceUrlPolicyOptions {
  /** The local Bot Framework Emulator: http(s) to loopback, any port. */
  emulator?: boolean;
  /** Exact origins allowed besides Microsoft's (tests: the fake Bot Connector on loopback). */
  extra?: readonly string[];
}

export interface ServiceUrlPolicy {
  /** The SDK's OutboundUrlPolicy shape: it asks before every Bot Connector client it builds. */
  readonly enabled: true;
  isAllowed(url: string | URL | null | undefined): boolean;
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

export function createServiceUrlPolicy(options: ServiceUrlPolicyOptions = {}): ServiceUrlPolicy {
  const extra = new Set((options.extra ?? []).map(originOf).filter((o): o is string => o !== undefined));
  return {
    enabled: true,
    isAllowed(input) {
      if (!input) return false;
      let url: URL;
      try {
        url = input instanceof URL ? input : new URL(input);
      } catch {
        return false;
      }
      // Credentials in the URL would be sent as Basic auth: no Bot Connector address has them.
      if (url.username || url.password) return false;
      if (extra.has(url.origin)) return true;
      const host = url.hostname.toLowerCase().replace(/\.$/, '');
      if (options.emulator && (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(host))
        return true;
      if (url.protocol !== 'https:' || url.port !== '') return false;
      return TEAMS_SERVICE_HOSTS.includes(host) || host.endsWith(`.${BOT_FRAMEWORK_DOMAIN}`);
    },
  };
}

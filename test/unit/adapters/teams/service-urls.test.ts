// Where firelane's Bot Connector calls (and credentials) may go: Microsoft's Bot Connector hosts, the emulator's
// loopback address in emulator mode, and origins given explicitly; nothing that only looks like them.
import { describe, expect, it } from 'vitest';
import { createServiceUrlPolicy, TEAMS_SERVICE_HOSTS } from '../../../../src/adapters/teams/service-urls.js';

describe('the service URL policy', () => {
  const strict = createServiceUrlPolicy();

  it.each([
    'https://smba.trafficmanager.net/teams/',
    'https://smba.trafficmanager.net/amer/',
    'https://smba.trafficmanager.net/emea/',
    'https://SMBA.trafficmanager.net/apac/',
    'https://smba.onyx.prod.teams.trafficmanager.net/teams/',
    'https://smba.infra.gcc.teams.microsoft.com/teams',
    'https://smba.infra.gov.teams.microsoft.us/teams',
    'https://smba.infra.dod.teams.microsoft.us/teams',
    'https://frontend.botapi.msg.infra.teams.microsoftonline.cn/teams',
    'https://webchat.botframework.com/',
    'https://directline.botframework.com/',
  ])('allows %s', (url) => {
    expect(strict.isAllowed(url)).toBe(true);
  });

  it.each([
    ['plain http to a Bot Connector host', 'http://smba.trafficmanager.net/teams/'],
    ['a look-alike host', 'https://smba.trafficmanager.net.attacker.example/teams/'],
    ['a look-alike domain', 'https://evilbotframework.com/'],
    ['botframework.com itself (no channel lives there)', 'https://botframework.com/'],
    ['another port', 'https://smba.trafficmanager.net:8443/teams/'],
    ['credentials in the URL', 'https://user:pw@smba.trafficmanager.net/teams/'],
    ['an invented host', 'http://attacker.example/'],
    ['loopback outside emulator mode', 'http://127.0.0.1:3978/'],
    ['localhost outside emulator mode', 'http://localhost:3978/'],
    ['not a URL', 'smba.trafficmanager.net/teams'],
    ['nothing', undefined],
    ['empty', ''],
  ])('refuses %s', (_name, url) => {
    expect(strict.isAllowed(url)).toBe(false);
  });

  it('emulator mode adds the loopback addresses (any port), nothing else', () => {
    const emulator = createServiceUrlPolicy({ emulator: true });
    for (const url of [
      'http://127.0.0.1:3978/',
      'http://localhost:53211',
      'http://[::1]:3978/',
      'https://smba.trafficmanager.net/teams/',
    ])
      expect(emulator.isAllowed(url), url).toBe(true);
    for (const url of [
      'http://attacker.example/',
      'http://10.0.0.5:3978/',
      'http://127.0.0.2:3978/',
      'file:///etc/passwd',
    ])
      expect(emulator.isAllowed(url), url).toBe(false);
  });

  it('an explicit origin is allowed as given: scheme, host and port', () => {
    const policy = createServiceUrlPolicy({ extra: ['http://127.0.0.1:4100/'] });
    expect(policy.isAllowed('http://127.0.0.1:4100/v3/conversations')).toBe(true);
    expect(policy.isAllowed('http://127.0.0.1:4101/')).toBe(false);
    expect(policy.isAllowed('https://127.0.0.1:4100/')).toBe(false);
  });

  it('is the shape the Agents SDK takes as its OutboundUrlPolicy, switched on', () => {
    expect(strict.enabled).toBe(true);
    expect(TEAMS_SERVICE_HOSTS).toContain('smba.trafficmanager.net');
  });
});

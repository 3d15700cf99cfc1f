// Which person a console sign-in proves: chat user id claims first (Slack's user id; Entra's object
// id only from Microsoft's issuers), then a verified e-mail; anyone else is nobody, told why.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { personOfClaims, SLACK_USER_CLAIM } from '../../../../src/adapters/console/sign-in-person.js';
import { unmatchableEntries } from '../../../../src/app.js';
import { loadConfig } from '../../../../src/config.js';
import type { People } from '../../../../src/domain/identity.js';

const OID = '6f1c2d3e-0000-4000-8000-00000000abcd';
const PEOPLE: People = {
  lee: { slack: 'U0LEE', email: 'lee@acme.example' },
  sam: { teams: OID, email: 'sam@acme.example' },
  kim: { email: 'Kim@Acme.example' },
};
const SLACK = new URL('https://slack.com');
const ENTRA = new URL('https://login.microsoftonline.com/tenant/v2.0');
const OKTA = new URL('https://acme.okta.com');

describe('personOfClaims', () => {
  it('matches Slack’s user id claim to people.<p>.slack, before any e-mail', () => {
    expect(
      personOfClaims(
        { sub: 's', name: 'Lee', [SLACK_USER_CLAIM]: 'U0LEE', email: 'sam@acme.example', email_verified: true },
        PEOPLE,
        SLACK,
      ),
    ).toEqual({ name: 'Lee', person: 'lee', matchedBy: 'slack user id' });
  });

  it('matches Entra’s oid to people.<p>.teams (any case) only from a Microsoft issuer', () => {
    expect(personOfClaims({ sub: 's', oid: OID.toUpperCase() }, PEOPLE, ENTRA)).toMatchObject({
      person: 'sam',
      matchedBy: 'teams object id',
    });
    const elsewhere = personOfClaims({ sub: 's', oid: OID }, PEOPLE, OKTA);
    expect(elsewhere.person).toBeUndefined();
    expect(elsewhere.why).toMatch(/no one under people/);
  });

  it('matches a verified e-mail (any case); an unverified one never', () => {
    expect(personOfClaims({ sub: 's', email: 'KIM@acme.EXAMPLE', email_verified: true }, PEOPLE, OKTA)).toMatchObject({
      person: 'kim',
      matchedBy: 'e-mail',
    });
    expect(personOfClaims({ sub: 's', email: 'kim@acme.example', email_verified: 'true' }, PEOPLE, OKTA)).toMatchObject(
      { why: expect.stringMatching(/not verified by the provider/) },
    );
    expect(personOfClaims({ sub: 's', email: 'kim@acme.example' }, PEOPLE, OKTA).person).toBeUndefined();
  });

  it('an unknown Slack id falls through to the e-mail; nothing known is nobody, named by what was tried', () => {
    expect(
      personOfClaims(
        { sub: 's', [SLACK_USER_CLAIM]: 'U0NEW', email: 'lee@acme.example', email_verified: true },
        PEOPLE,
        SLACK,
      ),
    ).toMatchObject({ person: 'lee', matchedBy: 'e-mail' });
    const nobody = personOfClaims({ sub: 'abc', [SLACK_USER_CLAIM]: 'U0NEW' }, PEOPLE, SLACK);
    expect(nobody).toEqual({
      name: 'abc',
      why: "You are signed in as abc, but no one under people in firelane's config has Slack user id U0NEW: you can read this console, not act in it.",
    });
  });
});

describe('start-up warnings with console sign-in', () => {
  it('a person with only an e-mail, or a console name, can match through sign-in: no warning then', () => {
    const dir = mkdtempSync(join(tmpdir(), 'firelane-entries-'));
    writeFileSync(
      join(dir, 'firelane.yaml'),
      'people:\n  kim: { email: kim@acme.example }\napprovals:\n  production: { approvers: [kim, console:ops, U0LEAD] }\n',
    );
    const slack = {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 'sig',
      FIRELANE_CONFIG: join(dir, 'firelane.yaml'),
    };
    const oidc = {
      FIRELANE_OIDC_ISSUER: 'https://slack.com',
      FIRELANE_OIDC_CLIENT_ID: 'c',
      FIRELANE_OIDC_CLIENT_SECRET: 's',
      FIRELANE_PUBLIC_URL: 'https://firelane.acme.example',
    };
    const warnings = (env: Record<string, string>) => {
      const config = loadConfig(env, dir);
      return unmatchableEntries(config.file, config.env);
    };
    // Slack only: kim and the console name can match nobody.
    expect(warnings(slack)).toEqual([
      'approvals.production.approvers: "kim" matches nobody here (only an e-mail, and console sign-in is off)',
      'approvals.production.approvers: "console:ops" matches nobody here (console is off)',
    ]);
    // The console forced on but read-only (no sign-in): still nobody.
    expect(warnings({ ...slack, FIRELANE_CONSOLE: '1' })).toHaveLength(2);
    // With sign-in: both can.
    expect(warnings({ ...slack, ...oidc, FIRELANE_CONSOLE: '1' })).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});

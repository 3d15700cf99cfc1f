// statusPage.showTitles from firelane.yaml to GET /status and /status.json, through the whole app:
// an incident declared over Slack is listed by id, severity and status, its title only when allowed.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_YAML, startHarness, type Harness } from '../support/harness.js';
import { declare } from './slack-helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const TITLE = 'Card data of Bigcustomer exposed';

async function status(): Promise<{ html: string; body: any }> {
  const [html, body] = await Promise.all([
    fetch(`${h.url}/status`).then((r) => r.text()),
    fetch(`${h.url}/status.json`).then((r) => r.json()),
  ]);
  return { html, body };
}

describe('statusPage.showTitles in firelane.yaml', () => {
  it('false: the status page and its JSON show the incident without its title', async () => {
    h = await startHarness({ configYaml: `${DEFAULT_YAML}statusPage:\n  showTitles: false\n` });
    const incident = await declare(h, `sev1 ${TITLE}`);
    const { html, body } = await status();
    expect(html).toContain(`INC-${incident.id}`);
    expect(html).toContain('SEV1');
    expect(html).not.toContain('Bigcustomer');
    expect(body.open).toEqual([
      expect.objectContaining({ id: `INC-${incident.id}`, title: null, severity: 'sev1', status: 'investigating' }),
    ]);
  });

  it('unset: titles are shown, as before', async () => {
    h = await startHarness();
    const incident = await declare(h, `sev1 ${TITLE}`);
    const { html, body } = await status();
    expect(html).toContain(TITLE);
    expect(body.open).toEqual([expect.objectContaining({ id: `INC-${incident.id}`, title: TITLE })]);
  });
});

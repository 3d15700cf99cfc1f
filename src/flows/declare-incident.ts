// A declaration's writes: the incident, its first timeline event, its checklist and the war room job.
// /incident and an alert rule both declare through this; the caller holds the transaction.
import type { FileConfig } from '../config.js';
import type { Incident } from '../domain/incident.js';
import { afterUpdate } from '../domain/reminders.js';
import type { Severity } from '../domain/severity.js';
import type { Clock } from '../ports/clock.js';
import { OPEN_WAR_ROOM } from '../ports/jobs.js';
import type { Store } from '../ports/store.js';
import { severityLabel } from '../views/incident-card.js';
import { playbookTexts } from '../views/playbook-card.js';

export interface Declaration {
  title: string;
  description: string | null;
  severity: Severity;
  /** The chat platform that owns the incident (its war room opens there). */
  platform: string;
  /** What proved who declared (the audit row's platform): `slack`, `cli`, `alertmanager`... */
  via: string;
  actor: string;
  /** Where it was declared: Teams opens the war room as a thread of that channel. */
  origin?: string;
}

export async function recordDeclaration(
  deps: { store: Store; clock: Clock; config: FileConfig },
  declaration: Declaration,
): Promise<Incident> {
  const { store, clock, config } = deps;
  const { title, severity, actor, via } = declaration;
  const now = clock.now();
  const created = await store.incidents.create(
    {
      title,
      description: declaration.description,
      severity,
      platform: declaration.platform,
      declaredBy: actor,
      declaredAt: now,
      nextReminderAt: afterUpdate(now, config.incidents.severities[severity]).nextReminderAt!,
    },
    via,
    { at: now, actor, platform: via, kind: 'declared', text: `Declared ${severityLabel(severity)}: ${title}` },
  );
  await store.playbooks.create(created.id, playbookTexts(config, severity), { actor, platform: via });
  // Nothing here reads back what it wrote: on PostgreSQL the declaration goes out as one statement.
  await store.jobs.enqueueLater({
    kind: OPEN_WAR_ROOM,
    key: `war-room:${created.id}`,
    payload: { incidentId: created.id, ...(declaration.origin && { origin: declaration.origin }) },
  });
  return created;
}

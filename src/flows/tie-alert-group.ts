// A person's declaration tied to an alert group (the triage card's Declare button carries the group's
// id): later deliveries of the group join that incident, and its resolution asks the war room.
// The caller holds the transaction the incident was declared in.
import type { Incident } from '../domain/incident.js';
import { notFound } from '../errors.js';
import type { Store } from '../ports/store.js';

/**
 * Ties the group to `incident` unless it is tied to another open incident already (a second click,
 * or a group that joined one meanwhile keeps it). The id only links: it grants nothing, but a group
 * that does not exist is refused, and with it the declaration.
 */
export async function tieAlertGroup(store: Store, groupId: number, incident: Incident): Promise<boolean> {
  const group = await store.alertGroups.byId(groupId);
  if (!group) throw notFound(`Alert group ${groupId} does not exist.`);
  if (group.incidentId !== null && group.incidentId !== incident.id) {
    const tied = await store.incidents.get(group.incidentId);
    if (tied && tied.status !== 'resolved') return false;
  }
  await store.alertGroups.update(group.id, { incidentId: incident.id, declared: false });
  return true;
}

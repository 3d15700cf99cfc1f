// What the war room is asked when an alert group of its incident resolves: resolve it, with a button.
import { incidentKey, type Incident } from '../domain/incident.js';
import { channelReply, stripTokens, type Reply } from '../ports/reply.js';

/** `stillFiring`: the incident's other alert groups that have not resolved. */
export function resolvePrompt(incident: Incident, stillFiring: number): Reply {
  const key = incidentKey(incident.id);
  const others =
    stillFiring > 0 ? ` ${stillFiring} other alert group${stillFiring === 1 ? '' : 's'} of ${key} still firing.` : '';
  return channelReply(`✅ The alerts of *${key}* resolved. Resolve the incident?`, {
    title: stripTokens(`${key}: alerts resolved`),
    text: `Every alert of this incident's alert group is resolved.${others} Resolve ${key} if the incident is over.`,
    accent: 'good',
    fields: [],
    buttons: [{ label: 'Resolve', command: `incident resolve ${key}`, style: 'primary' }],
    footer: `Or add a root cause: /incident resolve ${key} --root-cause="..."`,
  });
}

// The /incident subcommands: name -> handler, usage and accepted flags.
import { looksLikeSeverity } from '../../domain/severity.js';
import type { HandlerContext } from '../context.js';
import { INCIDENT_USAGE, incidentHelp } from '../usage.js';
import { helpSubcommand, type CommandFamily } from '../router.js';
import { addNote } from './add-note.js';
import { assignRole } from './assign-role.js';
import { changeSeverity } from './change-severity.js';
import { checkItem, showChecklist } from './checklist.js';
import { declareIncident } from './declare-incident.js';
import { listIncidents } from './list-incidents.js';
import { postmortem } from './postmortem.js';
import { reopenIncident } from './reopen-incident.js';
import { resolveIncident } from './resolve-incident.js';
import { snoozeIncident } from './snooze-incident.js';
import { showIncident } from './show-incident.js';
import { updateIncident } from './update-incident.js';

const help = helpSubcommand(incidentHelp, INCIDENT_USAGE.help);

export const incidentCommands: CommandFamily = {
  name: 'incident',
  help: incidentHelp,
  subcommands: {
    update: { run: updateIncident, usage: INCIDENT_USAGE.update, flags: ['eta'] },
    lead: { run: assignRole('lead'), usage: INCIDENT_USAGE.lead, flags: ['take'] },
    comms: { run: assignRole('comms'), usage: INCIDENT_USAGE.comms, flags: [] },
    note: { run: addNote, usage: INCIDENT_USAGE.note, flags: [] },
    severity: { run: changeSeverity, usage: INCIDENT_USAGE.severity, flags: [] },
    snooze: { run: snoozeIncident, usage: INCIDENT_USAGE.snooze, flags: [] },
    resolve: { run: resolveIncident, usage: INCIDENT_USAGE.resolve, flags: ['root-cause', 'action-items'] },
    reopen: { run: reopenIncident, usage: INCIDENT_USAGE.reopen, flags: [] },
    list: { run: listIncidents, usage: INCIDENT_USAGE.list, flags: [], readOnly: true },
    show: { run: showIncident, usage: INCIDENT_USAGE.show, flags: [], readOnly: true },
    checklist: { run: showChecklist, usage: INCIDENT_USAGE.checklist, flags: [], readOnly: true },
    check: { run: checkItem, usage: INCIDENT_USAGE.check, flags: [] },
    postmortem: { run: postmortem, usage: INCIDENT_USAGE.postmortem, flags: [] },
    help,
  },
  /** `/incident sev1 ...` has no subcommand word: a severity-looking first word means declare. */
  fallback(first: string | undefined) {
    if (first === undefined) return help;
    if (looksLikeSeverity(first) || /^sev/i.test(first))
      return {
        name: 'declare',
        run: declareIncident,
        usage: INCIDENT_USAGE.declare,
        flags: ['description', 'alert-group'],
      };
    return undefined;
  },
};

export type { HandlerContext };

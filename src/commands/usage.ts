// Usage lines shown with every error and by `help`.
export const INCIDENT_USAGE = {
  declare: '/incident <sev0|sev1|sev2|sev3> <title>   e.g. /incident sev1 Payment gateway down',
  update: '/incident update [INC-n] <investigating|identified|monitoring> <text> [--eta=30m]',
  lead: '/incident lead [INC-n] @user   (or @me)',
  comms: '/incident comms [INC-n] @user   (or @me)',
  note: '/incident note [INC-n] <text>',
  severity: '/incident severity [INC-n] <sev0|sev1|sev2|sev3>',
  snooze: '/incident snooze [INC-n] <duration>   e.g. /incident snooze 30m',
  resolve: '/incident resolve [INC-n] [--root-cause="..."] [--action-items="a; b; c"]',
  reopen: '/incident reopen [INC-n]',
  list: '/incident list',
  show: '/incident show [INC-n]',
  checklist: '/incident checklist [INC-n]',
  check: '/incident check [INC-n] <number>   e.g. /incident check 2 (the number as shown by /incident checklist)',
  postmortem: '/incident postmortem [INC-n]',
  help: '/incident help',
} as const;

/** Help text of a command family: a title, every usage line, then notes. */
export function helpText(title: string, usage: Record<string, string>, notes: string[]): string {
  return [`*${title}*`, ...Object.values(usage).map((line) => `\`${line}\``), ...notes].join('\n');
}

export function incidentHelp(): string {
  return helpText('firelane incident commands', INCIDENT_USAGE, [
    'Inside a war room the incident is implied; elsewhere name it: `INC-3`.',
    'Quote values with "..." and pass options as `--flag=value`.',
  ]);
}

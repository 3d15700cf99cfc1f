// Whether a commit's checks let it through: the contexts branch protection requires, or every
// check reported when the branch declares none. Pure; the checks come from GitHub.

/** One check as firelane sees it (ports/git-host Check without where it came from). */
export interface CheckState {
  name: string;
  /** success | failure | pending | neutral | skipped | cancelled | timed_out | action_required | error */
  state: string;
}

const PASSING = new Set(['success', 'neutral', 'skipped']);
const PENDING = new Set(['pending']);

export interface CheckGate {
  ok: boolean;
  /** Each check that stops it, as `name (state)`; a required one never reported is `name (expected, not reported yet)`. */
  blocking: string[];
  /** Required (or, with none declared, any) checks that finished unsuccessfully: not merely pending. */
  failed: string[];
}

export function checkGate(checks: readonly CheckState[], required: readonly string[] | undefined): CheckGate {
  const names = required ?? [...new Set(checks.map((c) => c.name))];
  const blocking: string[] = [];
  const failed: string[] = [];
  for (const name of names) {
    const found = checks.filter((c) => c.name === name);
    if (found.length === 0) {
      blocking.push(`${name} (expected, not reported yet)`);
      continue;
    }
    if (found.every((c) => PASSING.has(c.state))) continue;
    blocking.push(`${name} (${found.map((c) => c.state).join(', ')})`);
    if (found.some((c) => !PASSING.has(c.state) && !PENDING.has(c.state))) failed.push(name);
  }
  return { ok: blocking.length === 0, blocking, failed };
}

export const isPassing = (check: CheckState) => PASSING.has(check.state);

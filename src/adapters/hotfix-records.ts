// Hotfixes on any database (adapters/db, adapters/postgres): a row as the domain sees it, the live
// statuses, the branch conflict and the audit entries of a write. The two schemas declare the same
// columns (schema-parity.test.ts), so one row type serves both.
import { hotfixKey, type Hotfix, type HotfixStatus } from '../domain/hotfix.js';
import { conflict, type FirelaneError } from '../errors.js';
import type { AuditEntry, ChangeBy, HotfixPatch, NewHotfix } from '../ports/store.js';
import type { hotfixes } from './db/schema.js';

export type HotfixRow = typeof hotfixes.$inferSelect;

export const toHotfix = (row: HotfixRow): Hotfix => ({ ...row, status: row.status as HotfixStatus });

/** What `live()` lists: every status but the final ones. */
export const LIVE: HotfixStatus[] = ['creating', 'open', 'merged'];

/** The row a new hotfix is inserted as. */
export const newHotfixRow = (input: NewHotfix) => ({
  ...input,
  status: 'creating' as const,
  updatedAt: input.createdAt,
});

/** A live hotfix (`holder`, if it is still found) already has the branch (hotfixes_live_branch_idx). */
export const branchConflict = (input: NewHotfix, holder: Hotfix | undefined): FirelaneError =>
  conflict(
    `${input.branch} is already a hotfix in ${input.repo}${holder ? ` (${hotfixKey(holder.id)}, ${holder.status})` : ''}. Describe the fix differently, or continue that one with /hotfix pr ${input.branch}.`,
  );

/** `hotfix.requested`, with the whole hotfix. */
export const requestedEntry = (created: Hotfix, via: string): AuditEntry => ({
  actor: created.requester,
  platform: via,
  action: 'hotfix.requested',
  incidentId: created.incidentId,
  before: null,
  after: { hotfix: hotfixKey(created.id), ...created },
});

/** An update's audit entry: the patched fields, before and after. */
export function updateEntry(before: Hotfix, after: Hotfix, patch: HotfixPatch, by: ChangeBy): AuditEntry {
  const keys = Object.keys(patch) as Array<keyof HotfixPatch>;
  const pick = (h: Hotfix) => Object.fromEntries(keys.map((k) => [k, h[k]]));
  return {
    actor: by.actor,
    platform: by.platform,
    action: by.action,
    incidentId: after.incidentId,
    before: { hotfix: hotfixKey(after.id), ...pick(before) },
    after: { hotfix: hotfixKey(after.id), ...pick(after) },
  };
}

// Alert groups on any database (adapters/db, adapters/postgres): the row as the domain sees it, and the
// hash that keys a group (a group key may be longer than an index entry may be).
import { createHash } from 'node:crypto';
import type { AlertGroup, AlertGroupRef } from '../domain/alert-group.js';
import type { alertGroups } from './db/schema.js';

export type AlertGroupRow = typeof alertGroups.$inferSelect;

export const groupHash = (ref: AlertGroupRef): string =>
  createHash('sha256')
    .update(JSON.stringify([ref.source, ref.receiver, ref.groupKey]))
    .digest('hex');

export const toAlertGroup = ({ groupHash: _hash, ...row }: AlertGroupRow): AlertGroup => ({ ...row });

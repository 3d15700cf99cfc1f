// PostgreSQL schema (drizzle pg-core): the same tables, columns and indexes as the SQLite schema
// (adapters/db/schema.ts; a test compares the two), in PostgreSQL's types. Times are bigint
// milliseconds since the epoch, UTC, read as JavaScript numbers (exact until the year 287396).
// JSON columns are jsonb, except the audit log's before/after: their exact text is hashed.
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, serial, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Approval, GoNoGo, TargetRef } from '../../domain/deploy-request.js';
import type { AlertState } from '../../domain/alert-group.js';

const ms = (name: string) => bigint(name, { mode: 'number' });

export const incidents = pgTable(
  'incidents',
  {
    id: serial('id').primaryKey(),
    title: text('title').notNull(),
    description: text('description'),
    severity: text('severity').notNull(),
    status: text('status').notNull(),
    platform: text('platform').notNull(),
    declaredBy: text('declared_by').notNull(),
    commander: text('commander'),
    commsLead: text('comms_lead'),
    declaredAt: ms('declared_at').notNull(),
    lastUpdateAt: ms('last_update_at').notNull(),
    resolvedAt: ms('resolved_at'),
    rootCause: text('root_cause'),
    nextReminderAt: ms('next_reminder_at'),
    missedReminders: integer('missed_reminders').notNull().default(0),
    snoozedUntil: ms('snoozed_until'),
    roomId: text('room_id'),
    roomName: text('room_name'),
    cardRef: text('card_ref'),
    playbookRef: text('playbook_ref'),
  },
  (t) => [
    uniqueIndex('incidents_room_idx').on(t.platform, t.roomId),
    index('incidents_status_idx').on(t.status),
    index('incidents_reminder_idx').on(t.nextReminderAt),
    index('incidents_resolved_idx').on(t.status, t.resolvedAt),
  ],
);

export const timelineEvents = pgTable(
  'timeline_events',
  {
    id: serial('id').primaryKey(),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    at: ms('at').notNull(),
    actor: text('actor').notNull(),
    platform: text('platform').notNull(),
    kind: text('kind').notNull(),
    text: text('text').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>(),
    dedupeKey: text('dedupe_key'),
  },
  (t) => [index('timeline_incident_idx').on(t.incidentId, t.at), uniqueIndex('timeline_dedupe_idx').on(t.dedupeKey)],
);

export const jobs = pgTable(
  'jobs',
  {
    id: serial('id').primaryKey(),
    kind: text('kind').notNull(),
    key: text('key').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['queued', 'running', 'done', 'dead'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    runAt: ms('run_at').notNull(),
    lockedBy: text('locked_by'),
    lockedUntil: ms('locked_until'),
    lastError: text('last_error'),
    progress: jsonb('progress').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: ms('created_at').notNull(),
    finishedAt: ms('finished_at'),
  },
  (t) => [uniqueIndex('jobs_key_idx').on(t.key), index('jobs_due_idx').on(t.status, t.runAt)],
);

export const receipts = pgTable('receipts', {
  key: text('key').primaryKey(),
  reply: jsonb('reply').$type<unknown>(),
  createdAt: ms('created_at').notNull(),
});

export const consoleRooms = pgTable('console_rooms', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  topic: text('topic'),
  createdAt: ms('created_at').notNull(),
});

export const consoleMembers = pgTable(
  'console_members',
  {
    roomId: text('room_id')
      .notNull()
      .references(() => consoleRooms.id),
    user: text('user').notNull(),
  },
  (t) => [uniqueIndex('console_members_idx').on(t.roomId, t.user)],
);

export const consoleMessages = pgTable(
  'console_messages',
  {
    id: serial('id').primaryKey(),
    roomId: text('room_id')
      .notNull()
      .references(() => consoleRooms.id),
    author: text('author').notNull(),
    body: jsonb('body').$type<unknown>().notNull(),
    pinned: boolean('pinned').notNull().default(false),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at'),
  },
  (t) => [index('console_messages_room_idx').on(t.roomId, t.id)],
);

export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    name: text('name').notNull(),
    person: text('person'),
    actorId: text('actor_id'),
    matchedBy: text('matched_by'),
    why: text('why'),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

export const consoleLogins = pgTable(
  'console_logins',
  {
    idHash: text('id_hash').primaryKey(),
    verifier: text('verifier').notNull(),
    state: text('state').notNull(),
    nonce: text('nonce').notNull(),
    expiresAt: ms('expires_at').notNull(),
  },
  (t) => [index('console_logins_expires_idx').on(t.expiresAt)],
);

export const actionItems = pgTable(
  'action_items',
  {
    id: serial('id').primaryKey(),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    text: text('text').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: ms('created_at').notNull(),
  },
  (t) => [index('action_items_incident_idx').on(t.incidentId)],
);

export const playbookItems = pgTable(
  'playbook_items',
  {
    id: serial('id').primaryKey(),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    position: integer('position').notNull(),
    text: text('text').notNull(),
    doneBy: text('done_by'),
    doneAt: ms('done_at'),
  },
  (t) => [uniqueIndex('playbook_items_position_idx').on(t.incidentId, t.position)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    seq: integer('seq').primaryKey(),
    at: ms('at').notNull(),
    actor: text('actor').notNull(),
    platform: text('platform').notNull(),
    action: text('action').notNull(),
    incidentId: integer('incident_id'),
    before: text('before'),
    after: text('after'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_incident_idx').on(t.incidentId)],
);

/** The last row of the audit log; appends lock it (SELECT ... FOR UPDATE), so the chain never forks. */
export const auditHead = pgTable('audit_head', {
  id: integer('id').primaryKey(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
});

export const deployRequests = pgTable(
  'deploy_requests',
  {
    id: serial('id').primaryKey(),
    kind: text('kind', { enum: ['deploy', 'rollback'] }).notNull(),
    service: text('service').notNull(),
    environment: text('environment').notNull(),
    strategy: text('strategy').notNull(),
    requester: text('requester').notNull(),
    platform: text('platform').notNull(),
    roomId: text('room_id').notNull(),
    cardRef: text('card_ref'),
    target: text('target'),
    container: text('container').notNull(),
    fromRevision: integer('from_revision'),
    fromImage: text('from_image'),
    toImage: text('to_image'),
    toRevision: integer('to_revision'),
    fromSlot: text('from_slot', { enum: ['blue', 'green'] }),
    toSlot: text('to_slot', { enum: ['blue', 'green'] }),
    planReplicas: integer('plan_replicas'),
    facts: jsonb('facts').$type<GoNoGo>(),
    githubDeploymentId: bigint('github_deployment_id', { mode: 'number' }),
    whereTo: jsonb('where_to').$type<TargetRef>(),
    undoes: integer('undoes'),
    requesterPerson: text('requester_person'),
    expiresAt: ms('expires_at').notNull(),
    status: text('status').notNull(),
    approvals: jsonb('approvals').$type<Approval[]>().notNull().default([]),
    rejectedBy: text('rejected_by'),
    reason: text('reason'),
    incidentId: integer('incident_id').references(() => incidents.id),
    resultRevision: integer('result_revision'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
    startedAt: ms('started_at'),
    finishedAt: ms('finished_at'),
    changeCount: integer('change_count').notNull().default(0),
  },
  (t) => [
    uniqueIndex('deploy_requests_running_idx')
      .on(t.service, t.environment)
      .where(sql`${t.status} in ('approved', 'executing')`),
    index('deploy_requests_service_idx').on(t.service, t.status),
  ],
);

export const deployHealthSignals = pgTable('deploy_health_signals', {
  requestId: integer('request_id')
    .primaryKey()
    .references(() => deployRequests.id),
  reason: text('reason').notNull(),
  actor: text('actor').notNull(),
  at: ms('at').notNull(),
});

export const hotfixes = pgTable(
  'hotfixes',
  {
    id: serial('id').primaryKey(),
    service: text('service').notNull(),
    repo: text('repo').notNull(),
    branch: text('branch').notNull(),
    baseRef: text('base_ref').notNull(),
    baseSha: text('base_sha'),
    incidentId: integer('incident_id').references(() => incidents.id),
    requester: text('requester').notNull(),
    platform: text('platform').notNull(),
    roomId: text('room_id').notNull(),
    description: text('description').notNull(),
    status: text('status').notNull(),
    reason: text('reason'),
    prNumber: integer('pr_number'),
    prUrl: text('pr_url'),
    mergeSha: text('merge_sha'),
    tag: text('tag'),
    releaseUrl: text('release_url'),
    backMergeUrl: text('back_merge_url'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('hotfixes_live_branch_idx')
      .on(t.repo, t.branch)
      .where(sql`${t.status} <> 'failed'`),
    index('hotfixes_incident_idx').on(t.incidentId),
  ],
);

export const teamsConversations = pgTable('teams_conversations', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  channelId: text('channel_id'),
  teamId: text('team_id'),
  reference: jsonb('reference').$type<Record<string, unknown>>().notNull(),
  updatedAt: ms('updated_at').notNull(),
});

export const teamsUsers = pgTable('teams_users', {
  aadObjectId: text('aad_object_id').primaryKey(),
  teamsId: text('teams_id').notNull(),
  name: text('name'),
  tenantId: text('tenant_id'),
  personalConversationId: text('personal_conversation_id'),
  updatedAt: ms('updated_at').notNull(),
});

export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  epoch: integer('epoch').notNull(),
  expiresAt: ms('expires_at').notNull(),
});

export const alertGroups = pgTable(
  'alert_groups',
  {
    id: serial('id').primaryKey(),
    groupHash: text('group_hash').notNull(),
    source: text('source').notNull(),
    receiver: text('receiver').notNull(),
    groupKey: text('group_key').notNull(),
    service: text('service'),
    incidentId: integer('incident_id').references(() => incidents.id),
    declared: boolean('declared').notNull().default(false),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    alerts: jsonb('alerts').$type<Record<string, AlertState>>().notNull(),
    cardRef: text('card_ref'),
    firstDeliveryAt: ms('first_delivery_at').notNull(),
    lastDeliveryAt: ms('last_delivery_at').notNull(),
  },
  (t) => [
    uniqueIndex('alert_groups_hash_idx').on(t.groupHash),
    index('alert_groups_incident_idx').on(t.incidentId),
    index('alert_groups_service_idx').on(t.service, t.lastDeliveryAt),
  ],
);

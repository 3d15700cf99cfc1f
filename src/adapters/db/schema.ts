// SQLite schema (drizzle). Times are integer milliseconds since the epoch, UTC.
import { sql } from 'drizzle-orm';
import { sqliteTable, integer, text, index, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { Approval, GoNoGo, TargetRef } from '../../domain/deploy-request.js';
import type { AlertState } from '../../domain/alert-group.js';

export const incidents = sqliteTable(
  'incidents',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    title: text('title').notNull(),
    description: text('description'),
    severity: text('severity').notNull(),
    status: text('status').notNull(),
    platform: text('platform').notNull(),
    declaredBy: text('declared_by').notNull(),
    commander: text('commander'),
    commsLead: text('comms_lead'),
    declaredAt: integer('declared_at').notNull(),
    lastUpdateAt: integer('last_update_at').notNull(),
    resolvedAt: integer('resolved_at'),
    rootCause: text('root_cause'),
    // Reminders: the next due time (null when none is due: resolved), reminders in a row without
    // an update, and the end of a snooze.
    nextReminderAt: integer('next_reminder_at'),
    missedReminders: integer('missed_reminders').notNull().default(0),
    snoozedUntil: integer('snoozed_until'),
    // War room and its pinned card, filled in by the open-war-room job.
    roomId: text('room_id'),
    roomName: text('room_name'),
    cardRef: text('card_ref'),
    // The checklist card, posted after the room opens and updated in place as items are ticked.
    playbookRef: text('playbook_ref'),
  },
  (t) => [
    uniqueIndex('incidents_room_idx').on(t.platform, t.roomId),
    index('incidents_status_idx').on(t.status),
    index('incidents_reminder_idx').on(t.nextReminderAt),
    // The status page's recently resolved incidents: a range on resolved_at within status = 'resolved'.
    index('incidents_resolved_idx').on(t.status, t.resolvedAt),
  ],
);

export const timelineEvents = sqliteTable(
  'timeline_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    at: integer('at').notNull(),
    actor: text('actor').notNull(),
    platform: text('platform').notNull(),
    kind: text('kind').notNull(),
    text: text('text').notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>(),
    /** Set for events that must be recorded once (a pinned message): a second insert is ignored. */
    dedupeKey: text('dedupe_key'),
  },
  (t) => [index('timeline_incident_idx').on(t.incidentId, t.at), uniqueIndex('timeline_dedupe_idx').on(t.dedupeKey)],
);

/** Outbox: slow or external work done after the acknowledgement. `key` makes enqueueing idempotent. */
export const jobs = sqliteTable(
  'jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').notNull(),
    key: text('key').notNull(),
    payload: text('payload', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['queued', 'running', 'done', 'dead'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    runAt: integer('run_at').notNull(),
    lockedBy: text('locked_by'),
    lockedUntil: integer('locked_until'),
    lastError: text('last_error'),
    /** Results of the job's finished steps by name, so a retried job skips them. */
    progress: text('progress', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: integer('created_at').notNull(),
    finishedAt: integer('finished_at'),
  },
  (t) => [uniqueIndex('jobs_key_idx').on(t.key), index('jobs_due_idx').on(t.status, t.runAt)],
);

/** One row per handled request that must not run twice (Slack trigger_id, event_id, button click). */
export const receipts = sqliteTable('receipts', {
  key: text('key').primaryKey(),
  reply: text('reply', { mode: 'json' }).$type<unknown>(),
  createdAt: integer('created_at').notNull(),
});

/** The local console's own chat: rooms and messages live in the database (see adapters/console). */
export const consoleRooms = sqliteTable('console_rooms', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  /** Neutral text, like a Slack channel topic. */
  topic: text('topic'),
  createdAt: integer('created_at').notNull(),
});

export const consoleMembers = sqliteTable(
  'console_members',
  {
    roomId: text('room_id')
      .notNull()
      .references(() => consoleRooms.id),
    user: text('user').notNull(),
  },
  (t) => [uniqueIndex('console_members_idx').on(t.roomId, t.user)],
);

export const consoleMessages = sqliteTable(
  'console_messages',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    roomId: text('room_id')
      .notNull()
      .references(() => consoleRooms.id),
    author: text('author').notNull(),
    /** The neutral reply, rendered by the console page. */
    body: text('body', { mode: 'json' }).$type<unknown>().notNull(),
    pinned: integer('pinned', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at'),
  },
  (t) => [index('console_messages_room_idx').on(t.roomId, t.id)],
);

/**
 * Console sign-in (see adapters/console/session-store.ts): sessions, and logins between /auth/login
 * and their callback, each under the SHA-256 of the random id its cookie holds (never the id itself),
 * so that every replica knows every sign-in.
 */
export const consoleSessions = sqliteTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    /** How the person is shown (the token's name, else e-mail, else subject). */
    name: text('name').notNull(),
    /** The `people` key the claims matched, and the console name they act under. */
    person: text('person'),
    actorId: text('actor_id'),
    matchedBy: text('matched_by'),
    /** When no person matched: why, for the page. */
    why: text('why'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

export const consoleLogins = sqliteTable(
  'console_logins',
  {
    idHash: text('id_hash').primaryKey(),
    /** PKCE code verifier, state and nonce of the authorization request. */
    verifier: text('verifier').notNull(),
    state: text('state').notNull(),
    nonce: text('nonce').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('console_logins_expires_idx').on(t.expiresAt)],
);

/** Follow-ups recorded at resolution (and later). */
export const actionItems = sqliteTable(
  'action_items',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    text: text('text').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('action_items_incident_idx').on(t.incidentId)],
);

/** The severity's checklist, copied into each incident when it is declared. */
export const playbookItems = sqliteTable(
  'playbook_items',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    incidentId: integer('incident_id')
      .notNull()
      .references(() => incidents.id),
    position: integer('position').notNull(),
    text: text('text').notNull(),
    doneBy: text('done_by'),
    doneAt: integer('done_at'),
  },
  (t) => [uniqueIndex('playbook_items_position_idx').on(t.incidentId, t.position)],
);

/**
 * Append-only, hash-chained audit log: every row carries the hash of the one before, so an edited,
 * inserted or deleted row breaks the chain (`firelane audit verify`). Triggers refuse UPDATE and
 * DELETE (migration 0003); the chain catches whoever drops them.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    seq: integer('seq').primaryKey(),
    at: integer('at').notNull(),
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

/** The last row of the audit log (seq and hash): deleting the newest rows is caught too. */
export const auditHead = sqliteTable('audit_head', {
  id: integer('id').primaryKey(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
});

/**
 * Deploy and rollback requests (domain/deploy-request.ts): the plan shown on the card, approvals,
 * and a status changed only by guarded updates (`WHERE status = ...`), so a request executes once.
 * The partial unique index is the per-service rollout lock: one approved or executing request each.
 */
export const deployRequests = sqliteTable(
  'deploy_requests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ['deploy', 'rollback'] }).notNull(),
    service: text('service').notNull(),
    environment: text('environment').notNull(),
    strategy: text('strategy').notNull(),
    requester: text('requester').notNull(),
    platform: text('platform').notNull(),
    roomId: text('room_id').notNull(),
    cardRef: text('card_ref'),
    /** The version asked for, or a rollback's --to (null: the previous revision). */
    target: text('target'),
    container: text('container').notNull(),
    // The plan, read from the cluster when the card was posted (null until then).
    fromRevision: integer('from_revision'),
    fromImage: text('from_image'),
    toImage: text('to_image'),
    toRevision: integer('to_revision'),
    /** Blue-green: the colour live when the card was posted, and the colour that takes the traffic. */
    fromSlot: text('from_slot', { enum: ['blue', 'green'] }),
    toSlot: text('to_slot', { enum: ['blue', 'green'] }),
    /** Replicas of the deployment (blue-green: of the live colour) when the card was posted. */
    planReplicas: integer('plan_replicas'),
    /** Go/no-go facts read from GitHub for the card (checks of the version's commit, commits since the running one). */
    facts: text('facts', { mode: 'json' }).$type<GoNoGo>(),
    /** The GitHub Deployment recording this rollout, once created. */
    githubDeploymentId: integer('github_deployment_id'),
    /** The Deployment the environment pointed at when the request was made: {context?, namespace, deployment}. */
    whereTo: text('where_to', { mode: 'json' }).$type<TargetRef>(),
    /** A rollback that undoes this request: returns its target to what ran before it. */
    undoes: integer('undoes'),
    /** The person (a `people` key) the requester was proven to be, if any. */
    requesterPerson: text('requester_person'),
    expiresAt: integer('expires_at').notNull(),
    status: text('status').notNull(),
    approvals: text('approvals', { mode: 'json' }).$type<Approval[]>().notNull().default([]),
    rejectedBy: text('rejected_by'),
    reason: text('reason'),
    incidentId: integer('incident_id').references(() => incidents.id),
    resultRevision: integer('result_revision'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    changeCount: integer('change_count').notNull().default(0),
  },
  (t) => [
    // One rollout at a time per target (a service's environment).
    uniqueIndex('deploy_requests_running_idx')
      .on(t.service, t.environment)
      .where(sql`${t.status} in ('approved', 'executing')`),
    index('deploy_requests_service_idx').on(t.service, t.status),
  ],
);

/**
 * A failed health signal from outside the deploy job (an alert firing for the service): the health
 * window of the executing deploy reads it at its next look and rolls back. One per request (the
 * first counts); in the database so every replica's job sees it and it survives a restart.
 */
export const deployHealthSignals = sqliteTable('deploy_health_signals', {
  requestId: integer('request_id')
    .primaryKey()
    .references(() => deployRequests.id),
  /** Why the deploy counts as unhealthy, e.g. `alert ProbeFailure firing (Alertmanager)`. */
  reason: text('reason').notNull(),
  actor: text('actor').notNull(),
  at: integer('at').notNull(),
});

/**
 * Hotfixes (domain/hotfix.ts): the branch cut for an incident, its pull request, and what
 * `/hotfix finish` made (merge, tag, release, back-merge). One live hotfix per branch of a repo.
 */
export const hotfixes = sqliteTable(
  'hotfixes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
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
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('hotfixes_live_branch_idx')
      .on(t.repo, t.branch)
      .where(sql`${t.status} <> 'failed'`),
    index('hotfixes_incident_idx').on(t.incidentId),
  ],
);

/**
 * Microsoft Teams: the conversation references the bot has seen (needed to post proactively:
 * service URL, tenant, conversation), and the users it has seen (names for mentions, and the
 * Teams id a personal chat needs). Kept by the Teams adapter only.
 */
export const teamsConversations = sqliteTable('teams_conversations', {
  id: text('id').primaryKey(),
  /** personal | channel | groupChat */
  kind: text('kind').notNull(),
  /** For a channel: the channel (`19:...@thread.tacv2`) and the team it belongs to. */
  channelId: text('channel_id'),
  teamId: text('team_id'),
  reference: text('reference', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const teamsUsers = sqliteTable('teams_users', {
  /** AAD object id: what firelane calls the user's id (approvers are listed by it). */
  aadObjectId: text('aad_object_id').primaryKey(),
  /** The Teams user id (`29:...`) a personal chat is created with. */
  teamsId: text('teams_id').notNull(),
  name: text('name'),
  tenantId: text('tenant_id'),
  /** The personal chat with firelane, once there is one. */
  personalConversationId: text('personal_conversation_id'),
  updatedAt: integer('updated_at').notNull(),
});

/**
 * Leases for what must run on one process at a time (the start-up reconcile of deploys): the holder,
 * until when, and an epoch that grows with every new holder (a fencing token: a holder that lost
 * its lease can tell by its epoch).
 */
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  epoch: integer('epoch').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

/**
 * Alert groups (source, receiver, groupKey; `group_hash` is their hash, as a group key may be long):
 * each alert by fingerprint, the group's status, and the incident the group is tied to.
 */
export const alertGroups = sqliteTable(
  'alert_groups',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    groupHash: text('group_hash').notNull(),
    source: text('source').notNull(),
    receiver: text('receiver').notNull(),
    groupKey: text('group_key').notNull(),
    service: text('service'),
    incidentId: integer('incident_id').references(() => incidents.id),
    /** 1 when the tied incident was declared from this group's alert. */
    declared: integer('declared', { mode: 'boolean' }).notNull().default(false),
    status: text('status', { enum: ['firing', 'resolved'] }).notNull(),
    alerts: text('alerts', { mode: 'json' }).$type<Record<string, AlertState>>().notNull(),
    cardRef: text('card_ref'),
    firstDeliveryAt: integer('first_delivery_at').notNull(),
    lastDeliveryAt: integer('last_delivery_at').notNull(),
  },
  (t) => [
    uniqueIndex('alert_groups_hash_idx').on(t.groupHash),
    index('alert_groups_incident_idx').on(t.incidentId),
    index('alert_groups_service_idx').on(t.service, t.lastDeliveryAt),
  ],
);

CREATE TABLE "action_items" (
	"id" serial PRIMARY KEY NOT NULL,
	"incident_id" integer NOT NULL,
	"text" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_head" (
	"id" integer PRIMARY KEY NOT NULL,
	"seq" integer NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" integer PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL,
	"actor" text NOT NULL,
	"platform" text NOT NULL,
	"action" text NOT NULL,
	"incident_id" integer,
	"before" text,
	"after" text,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console_members" (
	"room_id" text NOT NULL,
	"user" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console_messages" (
	"id" serial PRIMARY KEY NOT NULL,
	"room_id" text NOT NULL,
	"author" text NOT NULL,
	"body" jsonb NOT NULL,
	"pinned" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint
);
--> statement-breakpoint
CREATE TABLE "console_rooms" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"topic" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "console_rooms_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "deploy_requests" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"service" text NOT NULL,
	"environment" text NOT NULL,
	"strategy" text NOT NULL,
	"requester" text NOT NULL,
	"platform" text NOT NULL,
	"room_id" text NOT NULL,
	"card_ref" text,
	"target" text,
	"container" text NOT NULL,
	"from_revision" integer,
	"from_image" text,
	"to_image" text,
	"to_revision" integer,
	"from_slot" text,
	"to_slot" text,
	"plan_replicas" integer,
	"facts" jsonb,
	"github_deployment_id" bigint,
	"where_to" jsonb,
	"undoes" integer,
	"requester_person" text,
	"expires_at" bigint NOT NULL,
	"status" text NOT NULL,
	"approvals" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"rejected_by" text,
	"reason" text,
	"incident_id" integer,
	"result_revision" integer,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"started_at" bigint,
	"finished_at" bigint,
	"change_count" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hotfixes" (
	"id" serial PRIMARY KEY NOT NULL,
	"service" text NOT NULL,
	"repo" text NOT NULL,
	"branch" text NOT NULL,
	"base_ref" text NOT NULL,
	"base_sha" text,
	"incident_id" integer,
	"requester" text NOT NULL,
	"platform" text NOT NULL,
	"room_id" text NOT NULL,
	"description" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"pr_number" integer,
	"pr_url" text,
	"merge_sha" text,
	"tag" text,
	"release_url" text,
	"back_merge_url" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" serial PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"severity" text NOT NULL,
	"status" text NOT NULL,
	"platform" text NOT NULL,
	"declared_by" text NOT NULL,
	"commander" text,
	"comms_lead" text,
	"declared_at" bigint NOT NULL,
	"last_update_at" bigint NOT NULL,
	"resolved_at" bigint,
	"root_cause" text,
	"next_reminder_at" bigint,
	"missed_reminders" integer DEFAULT 0 NOT NULL,
	"snoozed_until" bigint,
	"room_id" text,
	"room_name" text,
	"card_ref" text,
	"playbook_ref" text
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"run_at" bigint NOT NULL,
	"locked_by" text,
	"locked_until" bigint,
	"last_error" text,
	"progress" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" bigint NOT NULL,
	"finished_at" bigint
);
--> statement-breakpoint
CREATE TABLE "playbook_items" (
	"id" serial PRIMARY KEY NOT NULL,
	"incident_id" integer NOT NULL,
	"position" integer NOT NULL,
	"text" text NOT NULL,
	"done_by" text,
	"done_at" bigint
);
--> statement-breakpoint
CREATE TABLE "receipts" (
	"key" text PRIMARY KEY NOT NULL,
	"reply" jsonb,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teams_conversations" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"channel_id" text,
	"team_id" text,
	"reference" jsonb NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "teams_users" (
	"aad_object_id" text PRIMARY KEY NOT NULL,
	"teams_id" text NOT NULL,
	"name" text,
	"tenant_id" text,
	"personal_conversation_id" text,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "timeline_events" (
	"id" serial PRIMARY KEY NOT NULL,
	"incident_id" integer NOT NULL,
	"at" bigint NOT NULL,
	"actor" text NOT NULL,
	"platform" text NOT NULL,
	"kind" text NOT NULL,
	"text" text NOT NULL,
	"data" jsonb,
	"dedupe_key" text
);
--> statement-breakpoint
ALTER TABLE "action_items" ADD CONSTRAINT "action_items_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_members" ADD CONSTRAINT "console_members_room_id_console_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."console_rooms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_messages" ADD CONSTRAINT "console_messages_room_id_console_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."console_rooms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deploy_requests" ADD CONSTRAINT "deploy_requests_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hotfixes" ADD CONSTRAINT "hotfixes_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "playbook_items" ADD CONSTRAINT "playbook_items_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_incident_id_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."incidents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "action_items_incident_idx" ON "action_items" USING btree ("incident_id");--> statement-breakpoint
CREATE INDEX "audit_incident_idx" ON "audit_log" USING btree ("incident_id");--> statement-breakpoint
CREATE UNIQUE INDEX "console_members_idx" ON "console_members" USING btree ("room_id","user");--> statement-breakpoint
CREATE INDEX "console_messages_room_idx" ON "console_messages" USING btree ("room_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "deploy_requests_running_idx" ON "deploy_requests" USING btree ("service","environment") WHERE "deploy_requests"."status" in ('approved', 'executing');--> statement-breakpoint
CREATE INDEX "deploy_requests_service_idx" ON "deploy_requests" USING btree ("service","status");--> statement-breakpoint
CREATE UNIQUE INDEX "hotfixes_live_branch_idx" ON "hotfixes" USING btree ("repo","branch") WHERE "hotfixes"."status" <> 'failed';--> statement-breakpoint
CREATE INDEX "hotfixes_incident_idx" ON "hotfixes" USING btree ("incident_id");--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_room_idx" ON "incidents" USING btree ("platform","room_id");--> statement-breakpoint
CREATE INDEX "incidents_status_idx" ON "incidents" USING btree ("status");--> statement-breakpoint
CREATE INDEX "incidents_reminder_idx" ON "incidents" USING btree ("next_reminder_at");--> statement-breakpoint
CREATE INDEX "incidents_resolved_idx" ON "incidents" USING btree ("status","resolved_at");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_key_idx" ON "jobs" USING btree ("key");--> statement-breakpoint
CREATE INDEX "jobs_due_idx" ON "jobs" USING btree ("status","run_at");--> statement-breakpoint
CREATE UNIQUE INDEX "playbook_items_position_idx" ON "playbook_items" USING btree ("incident_id","position");--> statement-breakpoint
CREATE INDEX "timeline_incident_idx" ON "timeline_events" USING btree ("incident_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "timeline_dedupe_idx" ON "timeline_events" USING btree ("dedupe_key");
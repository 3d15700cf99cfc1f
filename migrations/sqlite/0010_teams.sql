CREATE TABLE `teams_conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`channel_id` text,
	`team_id` text,
	`reference` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `teams_users` (
	`aad_object_id` text PRIMARY KEY NOT NULL,
	`teams_id` text NOT NULL,
	`name` text,
	`tenant_id` text,
	`personal_conversation_id` text,
	`updated_at` integer NOT NULL
);

CREATE TABLE `action_items` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`text` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `action_items_incident_idx` ON `action_items` (`incident_id`);--> statement-breakpoint
CREATE TABLE `audit_head` (
	`id` integer PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`platform` text NOT NULL,
	`action` text NOT NULL,
	`incident_id` integer,
	`before` text,
	`after` text,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_incident_idx` ON `audit_log` (`incident_id`);--> statement-breakpoint
CREATE TABLE `playbook_items` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`position` integer NOT NULL,
	`text` text NOT NULL,
	`done_by` text,
	`done_at` integer,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `playbook_items_position_idx` ON `playbook_items` (`incident_id`,`position`);--> statement-breakpoint
ALTER TABLE `incidents` ADD `root_cause` text;--> statement-breakpoint
ALTER TABLE `incidents` ADD `next_reminder_at` integer;--> statement-breakpoint
ALTER TABLE `incidents` ADD `missed_reminders` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `incidents` ADD `snoozed_until` integer;--> statement-breakpoint
CREATE INDEX `incidents_reminder_idx` ON `incidents` (`next_reminder_at`);
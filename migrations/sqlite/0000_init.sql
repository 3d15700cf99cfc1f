CREATE TABLE `console_members` (
	`room_id` text NOT NULL,
	`user` text NOT NULL,
	FOREIGN KEY (`room_id`) REFERENCES `console_rooms`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `console_members_idx` ON `console_members` (`room_id`,`user`);--> statement-breakpoint
CREATE TABLE `console_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`room_id` text NOT NULL,
	`author` text NOT NULL,
	`body` text NOT NULL,
	`pinned` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer,
	FOREIGN KEY (`room_id`) REFERENCES `console_rooms`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `console_messages_room_idx` ON `console_messages` (`room_id`,`id`);--> statement-breakpoint
CREATE TABLE `console_rooms` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `console_rooms_name_unique` ON `console_rooms` (`name`);--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`title` text NOT NULL,
	`description` text,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`platform` text NOT NULL,
	`declared_by` text NOT NULL,
	`commander` text,
	`comms_lead` text,
	`declared_at` integer NOT NULL,
	`last_update_at` integer NOT NULL,
	`resolved_at` integer,
	`room_id` text,
	`room_name` text,
	`card_ref` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `incidents_room_idx` ON `incidents` (`platform`,`room_id`);--> statement-breakpoint
CREATE INDEX `incidents_status_idx` ON `incidents` (`status`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`run_at` integer NOT NULL,
	`locked_by` text,
	`locked_until` integer,
	`last_error` text,
	`progress` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_key_idx` ON `jobs` (`key`);--> statement-breakpoint
CREATE INDEX `jobs_due_idx` ON `jobs` (`status`,`run_at`);--> statement-breakpoint
CREATE TABLE `receipts` (
	`key` text PRIMARY KEY NOT NULL,
	`reply` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `timeline_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`platform` text NOT NULL,
	`kind` text NOT NULL,
	`text` text NOT NULL,
	`data` text,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `timeline_incident_idx` ON `timeline_events` (`incident_id`,`at`);
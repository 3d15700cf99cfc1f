CREATE TABLE `hotfixes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`service` text NOT NULL,
	`repo` text NOT NULL,
	`branch` text NOT NULL,
	`base_ref` text NOT NULL,
	`base_sha` text,
	`incident_id` integer,
	`requester` text NOT NULL,
	`platform` text NOT NULL,
	`room_id` text NOT NULL,
	`description` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`pr_number` integer,
	`pr_url` text,
	`merge_sha` text,
	`tag` text,
	`release_url` text,
	`back_merge_url` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hotfixes_live_branch_idx` ON `hotfixes` (`repo`,`branch`) WHERE "hotfixes"."status" <> 'failed';--> statement-breakpoint
CREATE INDEX `hotfixes_incident_idx` ON `hotfixes` (`incident_id`);
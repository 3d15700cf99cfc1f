CREATE TABLE `alert_groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`group_hash` text NOT NULL,
	`source` text NOT NULL,
	`receiver` text NOT NULL,
	`group_key` text NOT NULL,
	`service` text,
	`incident_id` integer,
	`declared` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`alerts` text NOT NULL,
	`card_ref` text,
	`first_delivery_at` integer NOT NULL,
	`last_delivery_at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_groups_hash_idx` ON `alert_groups` (`group_hash`);--> statement-breakpoint
CREATE INDEX `alert_groups_incident_idx` ON `alert_groups` (`incident_id`);--> statement-breakpoint
CREATE INDEX `alert_groups_service_idx` ON `alert_groups` (`service`,`last_delivery_at`);
CREATE TABLE `deploy_requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`service` text NOT NULL,
	`environment` text NOT NULL,
	`strategy` text NOT NULL,
	`requester` text NOT NULL,
	`platform` text NOT NULL,
	`room_id` text NOT NULL,
	`card_ref` text,
	`target` text,
	`container` text NOT NULL,
	`from_revision` integer,
	`from_image` text,
	`to_image` text,
	`to_revision` integer,
	`expires_at` integer NOT NULL,
	`status` text NOT NULL,
	`approvals` text DEFAULT '[]' NOT NULL,
	`rejected_by` text,
	`reason` text,
	`incident_id` integer,
	`result_revision` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`change_count` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deploy_requests_running_idx` ON `deploy_requests` (`service`) WHERE "deploy_requests"."status" in ('approved', 'executing');--> statement-breakpoint
CREATE INDEX `deploy_requests_service_idx` ON `deploy_requests` (`service`,`status`);
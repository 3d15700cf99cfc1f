CREATE TABLE `console_logins` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`verifier` text NOT NULL,
	`state` text NOT NULL,
	`nonce` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `console_logins_expires_idx` ON `console_logins` (`expires_at`);--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`person` text,
	`actor_id` text,
	`matched_by` text,
	`why` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `console_sessions_expires_idx` ON `console_sessions` (`expires_at`);
CREATE TABLE `deploy_health_signals` (
	`request_id` integer PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`actor` text NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `deploy_requests`(`id`) ON UPDATE no action ON DELETE no action
);

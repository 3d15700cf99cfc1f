ALTER TABLE `deploy_requests` ADD `from_slot` text;--> statement-breakpoint
ALTER TABLE `deploy_requests` ADD `to_slot` text;--> statement-breakpoint
ALTER TABLE `deploy_requests` ADD `plan_replicas` integer;
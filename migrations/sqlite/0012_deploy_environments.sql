DROP INDEX `deploy_requests_running_idx`;--> statement-breakpoint
ALTER TABLE `deploy_requests` ADD `where_to` text;--> statement-breakpoint
ALTER TABLE `deploy_requests` ADD `undoes` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `deploy_requests_running_idx` ON `deploy_requests` (`service`,`environment`) WHERE "deploy_requests"."status" in ('approved', 'executing');
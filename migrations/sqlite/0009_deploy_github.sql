ALTER TABLE `deploy_requests` ADD `facts` text;--> statement-breakpoint
ALTER TABLE `deploy_requests` ADD `github_deployment_id` integer;
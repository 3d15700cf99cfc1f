ALTER TABLE `timeline_events` ADD `dedupe_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `timeline_dedupe_idx` ON `timeline_events` (`dedupe_key`);
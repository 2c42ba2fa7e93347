ALTER TABLE `deliveries` ADD `claimed_by` text;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `lease_until` integer;--> statement-breakpoint
CREATE INDEX `deliveries_sending_index` ON `deliveries` (`lease_until`) WHERE "deliveries"."status" = 'sending';
DROP INDEX `deliveries_due_index`;--> statement-breakpoint
DROP INDEX `deliveries_external_index`;--> statement-breakpoint
CREATE INDEX `deliveries_due_index` ON `deliveries` (`next_attempt_at`) WHERE "deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX `deliveries_external_index` ON `deliveries` (`channel`,`external_id`) WHERE "deliveries"."external_id" IS NOT NULL;
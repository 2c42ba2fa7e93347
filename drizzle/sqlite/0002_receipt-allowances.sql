CREATE TABLE `receipt_allowances` (
	`channel` text NOT NULL,
	`target_id` text NOT NULL,
	`target_thread` text NOT NULL,
	`tokens` real NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`channel`, `target_id`, `target_thread`)
);
--> statement-breakpoint
DROP INDEX `deliveries_target_index`;
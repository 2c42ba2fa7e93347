CREATE TABLE `rate_buckets` (
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`full_at` real NOT NULL,
	PRIMARY KEY(`kind`, `key`)
);
--> statement-breakpoint
CREATE INDEX `rate_buckets_full_at` ON `rate_buckets` (`kind`,`full_at`);
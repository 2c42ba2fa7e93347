CREATE TABLE `attachments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`letter_id` integer NOT NULL,
	`position` integer NOT NULL,
	`sha256` text NOT NULL,
	`filename` text,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	FOREIGN KEY (`letter_id`) REFERENCES `letters`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`sha256`) REFERENCES `blobs`(`sha256`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `attachments_letter_index` ON `attachments` (`letter_id`);--> statement-breakpoint
CREATE TABLE `blobs` (
	`sha256` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`content` blob NOT NULL
);
--> statement-breakpoint
CREATE TABLE `counters` (
	`year` integer NOT NULL,
	`direction` text NOT NULL,
	`last_sequence` integer NOT NULL,
	PRIMARY KEY(`year`, `direction`)
);
--> statement-breakpoint
CREATE TABLE `letter_departments` (
	`letter_id` integer NOT NULL,
	`department_code` text NOT NULL,
	PRIMARY KEY(`letter_id`, `department_code`),
	FOREIGN KEY (`letter_id`) REFERENCES `letters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `letter_departments_code_index` ON `letter_departments` (`department_code`);--> statement-breakpoint
CREATE TABLE `letter_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`letter_id` integer NOT NULL,
	`type` text NOT NULL,
	`at` integer NOT NULL,
	`actor_channel` text,
	`actor_id` text,
	`actor_name` text,
	`department_code` text,
	`detail` text,
	FOREIGN KEY (`letter_id`) REFERENCES `letters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `letter_events_letter_index` ON `letter_events` (`letter_id`);--> statement-breakpoint
CREATE TABLE `letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`number` text NOT NULL,
	`year` integer NOT NULL,
	`direction` text NOT NULL,
	`sequence` integer NOT NULL,
	`channel` text NOT NULL,
	`external_id` text NOT NULL,
	`sender_id` text NOT NULL,
	`sender_name` text,
	`reply_channel` text,
	`reply_id` text,
	`reply_thread` text,
	`subject` text,
	`body_text` text NOT NULL,
	`body_html` text,
	`original_sha256` text NOT NULL,
	`original_size` integer NOT NULL,
	`received_at` integer NOT NULL,
	`registered_at` integer NOT NULL,
	`status` text NOT NULL,
	`receipt_token` text NOT NULL,
	`language` text NOT NULL,
	`automated` text,
	`answers_letter_id` integer,
	`authentication` text,
	`statement` text,
	`signature` text,
	`previous_entry_hash` text,
	`entry_hash` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `letters_number_unique` ON `letters` (`number`);--> statement-breakpoint
CREATE UNIQUE INDEX `letters_year_direction_sequence_unique` ON `letters` (`year`,`direction`,`sequence`);--> statement-breakpoint
CREATE UNIQUE INDEX `letters_channel_message_unique` ON `letters` (`channel`,`sender_id`,`external_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `letters_receipt_token_unique` ON `letters` (`receipt_token`);--> statement-breakpoint
CREATE INDEX `letters_status_index` ON `letters` (`status`);--> statement-breakpoint
CREATE TABLE `processed_events` (
	`channel` text NOT NULL,
	`event_id` text NOT NULL,
	`at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	PRIMARY KEY(`channel`, `event_id`)
);
--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`letter_id` integer NOT NULL,
	`kind` text NOT NULL,
	`channel` text NOT NULL,
	`target_id` text NOT NULL,
	`target_thread` text,
	`target_name` text,
	`department_code` text,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error_code` text,
	`last_error` text,
	`external_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`letter_id`) REFERENCES `letters`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `deliveries_due_index` ON `deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `deliveries_letter_index` ON `deliveries` (`letter_id`);--> statement-breakpoint
CREATE INDEX `deliveries_external_index` ON `deliveries` (`channel`,`external_id`);--> statement-breakpoint
CREATE INDEX `deliveries_target_index` ON `deliveries` (`kind`,`channel`,`target_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `mailbox_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`delivery_id` integer NOT NULL,
	`envelope_from` text NOT NULL,
	`recipients` text NOT NULL,
	`subject` text NOT NULL,
	`raw` blob NOT NULL,
	`stored_at` integer NOT NULL
);

DROP INDEX `letters_channel_message_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `letters_channel_message_original_unique` ON `letters` (`channel`,`sender_id`,`external_id`,`original_sha256`);
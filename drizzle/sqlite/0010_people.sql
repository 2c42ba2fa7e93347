CREATE TABLE `people` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`handle` text NOT NULL,
	`name` text NOT NULL,
	`added_at` integer NOT NULL,
	`removed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `people_handle_present_unique` ON `people` (`handle`) WHERE "people"."removed_at" IS NULL;--> statement-breakpoint
CREATE TABLE `person_identities` (
	`person_id` integer NOT NULL,
	`channel` text NOT NULL,
	`address` text NOT NULL,
	`removed_at` integer,
	PRIMARY KEY(`person_id`, `channel`, `address`),
	FOREIGN KEY (`person_id`) REFERENCES `people`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `person_identities_present_unique` ON `person_identities` (`channel`,`address`) WHERE "person_identities"."removed_at" IS NULL;--> statement-breakpoint
CREATE TABLE `person_roles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`person_id` integer NOT NULL,
	`role` text NOT NULL,
	`department_code` text,
	FOREIGN KEY (`person_id`) REFERENCES `people`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `person_roles_person_index` ON `person_roles` (`person_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `person_roles_office_unique` ON `person_roles` (`person_id`,`role`) WHERE "person_roles"."department_code" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `person_roles_department_unique` ON `person_roles` (`person_id`,`role`,`department_code`) WHERE "person_roles"."department_code" IS NOT NULL;
CREATE TABLE `namespace_members` (
	`namespace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`added_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`namespace_id`, `user_id`),
	FOREIGN KEY (`namespace_id`) REFERENCES `namespaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`added_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `namespace_members_user_idx` ON `namespace_members` (`user_id`);--> statement-breakpoint
ALTER TABLE `namespaces` ADD `name` text;--> statement-breakpoint
ALTER TABLE `namespaces` ADD `metadata` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `namespaces` ADD `updated_at` integer;--> statement-breakpoint
ALTER TABLE `namespaces` ADD `deleted_at` integer;
CREATE TABLE `namespaces` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`owner_id` text NOT NULL,
	`kind` text DEFAULT 'personal' NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `namespaces_slug_unique` ON `namespaces` (`slug`);--> statement-breakpoint
CREATE UNIQUE INDEX `namespaces_personal_owner_unique` ON `namespaces` (`owner_id`) WHERE "namespaces"."kind" = 'personal';--> statement-breakpoint
CREATE INDEX `namespaces_owner_idx` ON `namespaces` (`owner_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`sub` text NOT NULL,
	`email` text,
	`name` text,
	`username` text,
	`given_name` text,
	`family_name` text,
	`picture` text,
	`email_verified` integer,
	`metadata` text DEFAULT '{}' NOT NULL,
	`token_version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_sub_unique` ON `users` (`sub`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_lower_unique` ON `users` (lower("username"));
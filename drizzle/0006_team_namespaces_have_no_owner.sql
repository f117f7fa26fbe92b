PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_namespaces` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`owner_id` text,
	`kind` text DEFAULT 'personal' NOT NULL,
	`name` text,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer,
	`deleted_at` integer,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_namespaces`("id", "slug", "owner_id", "kind", "name", "metadata", "created_at", "updated_at", "deleted_at") SELECT "id", "slug", "owner_id", "kind", "name", "metadata", "created_at", "updated_at", "deleted_at" FROM `namespaces`;--> statement-breakpoint
DROP TABLE `namespaces`;--> statement-breakpoint
ALTER TABLE `__new_namespaces` RENAME TO `namespaces`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `namespaces_slug_unique` ON `namespaces` (`slug`);--> statement-breakpoint
CREATE UNIQUE INDEX `namespaces_personal_owner_unique` ON `namespaces` (`owner_id`) WHERE "namespaces"."kind" = 'personal';--> statement-breakpoint
CREATE INDEX `namespaces_owner_idx` ON `namespaces` (`owner_id`);
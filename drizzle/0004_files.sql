CREATE TABLE `files` (
	`id` integer PRIMARY KEY NOT NULL,
	`episode_id` integer NOT NULL,
	`prefix` text NOT NULL,
	`filename` text NOT NULL,
	`description` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`content_type` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`checksum` text NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`uploaded_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `files_live_path_unique` ON `files` (`episode_id`,`prefix`,`filename`) WHERE "files"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `files_episode_prefix_idx` ON `files` (`episode_id`,`prefix`);--> statement-breakpoint
CREATE INDEX `files_checksum_idx` ON `files` (`checksum`);
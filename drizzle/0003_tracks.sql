CREATE TABLE `track_chunks` (
	`track_id` integer NOT NULL,
	`start_index` integer NOT NULL,
	`count` integer NOT NULL,
	`min_ts` real,
	`max_ts` real,
	`summary` text NOT NULL,
	`created_at` integer NOT NULL,
	`blocks` blob NOT NULL,
	`data` blob NOT NULL,
	PRIMARY KEY(`track_id`, `start_index`),
	FOREIGN KEY (`track_id`) REFERENCES `tracks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tracks` (
	`id` integer PRIMARY KEY NOT NULL,
	`episode_id` integer NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`keys` text DEFAULT '[]' NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`chunks` integer DEFAULT 0 NOT NULL,
	`first_data_at` integer,
	`last_data_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tracks_episode_name_unique` ON `tracks` (`episode_id`,`name`);
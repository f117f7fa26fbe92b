CREATE TABLE `episodes` (
	`id` integer PRIMARY KEY NOT NULL,
	`project_id` integer NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`status` text DEFAULT 'running' NOT NULL,
	`write_protected` integer DEFAULT false NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `episodes_project_name_unique` ON `episodes` (`project_id`,`name`);--> statement-breakpoint
CREATE INDEX `episodes_project_created_idx` ON `episodes` (`project_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `log_entries` (
	`episode_id` integer NOT NULL,
	`sequence` integer NOT NULL,
	`timestamp` integer NOT NULL,
	`level` integer NOT NULL,
	`message` text NOT NULL,
	`metadata` text,
	`closes_batch` integer,
	PRIMARY KEY(`episode_id`, `sequence`),
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `log_summaries` (
	`episode_id` integer PRIMARY KEY NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`debug` integer DEFAULT 0 NOT NULL,
	`info` integer DEFAULT 0 NOT NULL,
	`warn` integer DEFAULT 0 NOT NULL,
	`error` integer DEFAULT 0 NOT NULL,
	`fatal` integer DEFAULT 0 NOT NULL,
	`first_at` integer,
	`last_at` integer,
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `parameter_entries` (
	`episode_id` integer NOT NULL,
	`version` integer NOT NULL,
	`patch` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text,
	PRIMARY KEY(`episode_id`, `version`),
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE TABLE `parameters` (
	`episode_id` integer PRIMARY KEY NOT NULL,
	`id` integer NOT NULL,
	`data` text NOT NULL,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `parameters_id_unique` ON `parameters` (`id`);--> statement-breakpoint
CREATE TABLE `projects` (
	`id` integer PRIMARY KEY NOT NULL,
	`namespace_id` text NOT NULL,
	`name` text NOT NULL,
	`slug` text NOT NULL,
	`description` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`metadata` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`namespace_id`) REFERENCES `namespaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `projects_namespace_slug_unique` ON `projects` (`namespace_id`,`slug`);--> statement-breakpoint
CREATE INDEX `projects_namespace_created_idx` ON `projects` (`namespace_id`,`created_at`);
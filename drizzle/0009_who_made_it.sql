ALTER TABLE `episodes` ADD `created_by` text REFERENCES users(id) ON DELETE set null;--> statement-breakpoint
ALTER TABLE `episodes` ADD `created_by_name` text;--> statement-breakpoint
ALTER TABLE `episodes` ADD `created_by_key` text;--> statement-breakpoint
ALTER TABLE `episodes` ADD `created_by_key_name` text;--> statement-breakpoint
ALTER TABLE `files` ADD `created_by` text REFERENCES users(id) ON DELETE set null;--> statement-breakpoint
ALTER TABLE `files` ADD `created_by_name` text;--> statement-breakpoint
ALTER TABLE `files` ADD `created_by_key` text;--> statement-breakpoint
ALTER TABLE `files` ADD `created_by_key_name` text;--> statement-breakpoint
ALTER TABLE `parameter_entries` ADD `created_by_name` text;--> statement-breakpoint
ALTER TABLE `parameter_entries` ADD `created_by_key` text;--> statement-breakpoint
ALTER TABLE `parameter_entries` ADD `created_by_key_name` text;
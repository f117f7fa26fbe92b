-- Custom SQL migration file, put your code below! --
-- What drizzle's schema cannot declare (see log_entries and log_summaries in src/db/schema/data.ts).
-- 1. log_entries, still empty here, clustered by (episode_id, sequence): WITHOUT ROWID stores each
--    line once, in key order, so an append writes one B-tree instead of a table and an index.
DROP TABLE `log_entries`;
--> statement-breakpoint
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
) WITHOUT ROWID;
--> statement-breakpoint
-- 2. The per-episode summary follows every INSERT inside the statement itself, so an append is one
--    statement and GET …/logs/stats reads one row. It runs for the statement's last line only (the
--    one with `closes_batch`, the sequence of the statement's first line) and counts the statement's
--    lines in one range read. Lines are never removed one by one (only with their episode, which
--    takes the summary along), so there is no delete trigger.
CREATE TRIGGER `log_entries_summary` AFTER INSERT ON `log_entries` WHEN NEW.`closes_batch` IS NOT NULL BEGIN
	INSERT INTO `log_summaries` (`episode_id`, `total`, `debug`, `info`, `warn`, `error`, `fatal`, `first_at`, `last_at`)
	SELECT NEW.`episode_id`, count(*), sum(`level` = 0), sum(`level` = 1), sum(`level` = 2), sum(`level` = 3), sum(`level` = 4), min(`timestamp`), max(`timestamp`)
	FROM `log_entries` WHERE `episode_id` = NEW.`episode_id` AND `sequence` BETWEEN NEW.`closes_batch` AND NEW.`sequence`
	ON CONFLICT (`episode_id`) DO UPDATE SET
		`total` = `total` + excluded.`total`,
		`debug` = `debug` + excluded.`debug`,
		`info` = `info` + excluded.`info`,
		`warn` = `warn` + excluded.`warn`,
		`error` = `error` + excluded.`error`,
		`fatal` = `fatal` + excluded.`fatal`,
		`first_at` = min(`first_at`, excluded.`first_at`),
		`last_at` = max(`last_at`, excluded.`last_at`);
END;

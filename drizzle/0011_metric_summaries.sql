CREATE TABLE `metric_summaries` (
	`episode_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	`track_id` integer NOT NULL,
	`track_name` text NOT NULL,
	`key` text NOT NULL,
	`count` integer NOT NULL,
	`last` real NOT NULL,
	`last_index` integer NOT NULL,
	`min` real NOT NULL,
	`min_index` integer,
	`min_step` real,
	`max` real NOT NULL,
	`max_index` integer,
	`max_step` real,
	`deleted` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`episode_id`, `track_name`, `key`),
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`track_id`) REFERENCES `tracks`(`id`) ON UPDATE no action ON DELETE cascade

) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `metric_summaries_track_idx` ON `metric_summaries` (`track_id`);--> statement-breakpoint
CREATE TABLE `parameter_values` (
	`episode_id` integer NOT NULL,
	`project_id` integer NOT NULL,
	`key` text NOT NULL,
	`value` blob,
	PRIMARY KEY(`episode_id`, `key`),
	FOREIGN KEY (`episode_id`) REFERENCES `episodes`(`id`) ON UPDATE no action ON DELETE cascade

) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `parameter_values_project_key_value_idx` ON `parameter_values` (`project_id`,`key`,`value`);--> statement-breakpoint
-- Added by hand: WITHOUT ROWID on both tables above (drizzle cannot declare it), and these two statements (drizzle-kit writes no data).
-- What was stored before this migration, summarized once.: what was stored before this migration, summarized once.
INSERT INTO `parameter_values` (`episode_id`, `project_id`, `key`, `value`)
SELECT p.episode_id, e.project_id, j.key,
	CASE WHEN j.type IN ('integer', 'real', 'text') THEN j.value ELSE CAST(CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' ELSE j.value END AS BLOB) END
FROM `parameters` p JOIN `episodes` e ON e.id = p.episode_id, json_each(p.data) j;
--> statement-breakpoint
-- From the chunks' own summaries: where the min and max were is not kept there (null), and the last value's index is its chunk's last point.
INSERT INTO `metric_summaries` (`episode_id`, `project_id`, `track_id`, `track_name`, `key`, `count`, `last`, `last_index`, `min`, `max`, `deleted`)
SELECT t.episode_id, e.project_id, t.id, t.name, s.key, sum(s.n), max(CASE WHEN s.r = 1 THEN s.last END), max(CASE WHEN s.r = 1 THEN s.end_index END), min(s.lo), max(s.hi), t.deleted_at IS NOT NULL
FROM (
	SELECT c.track_id, j.key, json_extract(j.value, '$.count') AS n, json_extract(j.value, '$.min') AS lo, json_extract(j.value, '$.max') AS hi, json_extract(j.value, '$.last') AS last,
		c.start_index + c.count - 1 AS end_index, row_number() OVER (PARTITION BY c.track_id, j.key ORDER BY c.start_index DESC) AS r
	FROM `track_chunks` c, json_each(c.summary) j
	WHERE json_extract(j.value, '$.count') > 0
) s JOIN `tracks` t ON t.id = s.track_id JOIN `episodes` e ON e.id = t.episode_id
GROUP BY s.track_id, s.key;

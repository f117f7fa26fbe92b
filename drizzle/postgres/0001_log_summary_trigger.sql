-- Custom SQL migration file, put your code below! --
-- The twin of SQLite's log_entries_summary trigger (drizzle/0002_log_entries_clustered.sql): the
-- per-episode summary follows every INSERT inside the statement itself, so an append is one
-- statement and GET …/logs/stats reads one row. PostgreSQL hands a statement trigger the rows the
-- statement inserted (a transition table), so it folds them in one pass, grouped by episode, with no
-- range read of the index and no need for `closes_batch` (kept so the columns match; the rows carry
-- it as on SQLite). Lines are never removed one by one (only with their episode, which takes the
-- summary along), so there is no delete trigger.
CREATE FUNCTION "log_entries_summary"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO "log_summaries" AS "s" ("episode_id", "total", "debug", "info", "warn", "error", "fatal", "first_at", "last_at")
	SELECT "episode_id", count(*), count(*) FILTER (WHERE "level" = 0), count(*) FILTER (WHERE "level" = 1), count(*) FILTER (WHERE "level" = 2),
		count(*) FILTER (WHERE "level" = 3), count(*) FILTER (WHERE "level" = 4), min("timestamp"), max("timestamp")
	FROM "inserted" GROUP BY "episode_id"
	ON CONFLICT ("episode_id") DO UPDATE SET
		"total" = "s"."total" + excluded."total",
		"debug" = "s"."debug" + excluded."debug",
		"info" = "s"."info" + excluded."info",
		"warn" = "s"."warn" + excluded."warn",
		"error" = "s"."error" + excluded."error",
		"fatal" = "s"."fatal" + excluded."fatal",
		"first_at" = LEAST("s"."first_at", excluded."first_at"),
		"last_at" = GREATEST("s"."last_at", excluded."last_at");
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "log_entries_summary" AFTER INSERT ON "log_entries" REFERENCING NEW TABLE AS "inserted" FOR EACH STATEMENT EXECUTE FUNCTION "log_entries_summary"();

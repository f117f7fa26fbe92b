CREATE TABLE "metric_summaries" (
	"episode_id" bigint NOT NULL,
	"project_id" bigint NOT NULL,
	"track_id" bigint NOT NULL,
	"track_name" text NOT NULL,
	"key" text NOT NULL,
	"count" bigint NOT NULL,
	"last" double precision NOT NULL,
	"last_index" bigint NOT NULL,
	"min" double precision NOT NULL,
	"min_index" bigint,
	"min_step" double precision,
	"max" double precision NOT NULL,
	"max_index" bigint,
	"max_step" double precision,
	"deleted" boolean DEFAULT false NOT NULL,
	CONSTRAINT "metric_summaries_episode_id_track_name_key_pk" PRIMARY KEY("episode_id","track_name","key")
);
--> statement-breakpoint
CREATE TABLE "parameter_values" (
	"episode_id" bigint NOT NULL,
	"project_id" bigint NOT NULL,
	"key" text NOT NULL,
	"value" "bytea",
	CONSTRAINT "parameter_values_episode_id_key_pk" PRIMARY KEY("episode_id","key")
);
--> statement-breakpoint
ALTER TABLE "metric_summaries" ADD CONSTRAINT "metric_summaries_episode_id_episodes_id_fk" FOREIGN KEY ("episode_id") REFERENCES "public"."episodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metric_summaries" ADD CONSTRAINT "metric_summaries_track_id_tracks_id_fk" FOREIGN KEY ("track_id") REFERENCES "public"."tracks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "parameter_values" ADD CONSTRAINT "parameter_values_episode_id_episodes_id_fk" FOREIGN KEY ("episode_id") REFERENCES "public"."episodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "metric_summaries_track_idx" ON "metric_summaries" USING btree ("track_id");--> statement-breakpoint
CREATE INDEX "parameter_values_project_key_value_idx" ON "parameter_values" USING btree ("project_id","key","value");
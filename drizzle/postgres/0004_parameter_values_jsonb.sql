-- drizzle-kit writes no USING, and PostgreSQL casts no bytea to jsonb by itself; the table is empty
-- wherever this runs (nothing serves from PostgreSQL yet), the USING is for form's sake.
ALTER TABLE "parameter_values" ALTER COLUMN "value" SET DATA TYPE jsonb USING convert_from("value", 'UTF8')::jsonb;

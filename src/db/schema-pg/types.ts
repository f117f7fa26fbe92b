import { bigint, customType, timestamp } from 'drizzle-orm/pg-core'

/**
 * How the SQLite schema's column kinds are spelled here (test/schema-parity.test.ts holds the same
 * table and checks every column against it):
 * - `integer` → `bigint`, read as a JavaScript number: SQLite integers are 64-bit, ids are 53-bit
 *   (db/ids.ts), sizes pass 2^31 (files up to 5 GiB), so one rule and no overflow to think about.
 * - `integer` with mode `timestamp_ms` → `timestamptz(3)`: milliseconds, as the Date SQLite gives back.
 * - `integer` with mode `boolean` → `boolean`; `real` → `double precision`; `blob` → `bytea`.
 * - `text` with mode `json` → `jsonb`: tag filters become `?|` (indexable), not a json_each scan.
 * - `text` (enums too) → `text`; the microsecond log timestamps stay `bigint`, as the SDK sends them.
 */
export const at = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' })
export const int = (name: string) => bigint(name, { mode: 'number' })

/** drizzle-orm 0.45 has no bytea column; Bun's client reads and writes it as a Buffer, as bun:sqlite does a blob. */
/**
 * jsonb, handed to Bun's client as the value itself: drizzle's own jsonb column stringifies it first,
 * and Bun 1.4 then stores that string as a JSON string (drizzle-orm#4942, oven-sh/bun#28819). Bun
 * serializes objects and arrays itself and parses jsonb on the way back.
 */
export const jsonb = <T>(name: string) => customType<{ data: T; driverData: T }>({ dataType: () => 'jsonb', toDriver: (value) => value, fromDriver: (value) => value })(name)

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })

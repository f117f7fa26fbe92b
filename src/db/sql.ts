import { sql, type SQL } from 'drizzle-orm'

/** `LIKE` pattern matching `text` anywhere, with its own `%`, `_` and `\` taken literally (use with ESCAPE '\'). */
export const containing = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

/** `column LIKE '%text%' ESCAPE '\'`: case-insensitive for ASCII, as SQLite's LIKE is. */
export const likeAnywhere = (column: SQL | SQL.Aliased | unknown, text: string): SQL => sql`${column} LIKE ${containing(text)} ESCAPE '\\'`

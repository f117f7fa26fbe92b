// The PostgreSQL twin of schema/: the same tables, file for file, in drizzle's PostgreSQL dialect
// (types.ts says how each column kind maps). Every table for drizzle and for drizzle-kit
// (drizzle.postgres.config.ts reads this file); test/schema-parity.test.ts keeps the two in step.
export * from './auth'
export * from './namespaces'
export * from './data'
export * from './identity'

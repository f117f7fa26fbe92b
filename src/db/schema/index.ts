// Every table, for drizzle and for drizzle-kit (drizzle.config.ts reads this file).
export * from './auth'
export * from './namespaces'
export * from './data'
export * from './identity'

export type { SlowQueryReport, StatementStats } from './analyzer.ts';
export { createDatabase } from './database.ts';
export type { PoolStats } from './driver.ts';
export { IN_MEMORY } from './driver.ts';
export {
  DbClosedError,
  DbConstraintError,
  DbInvalidOptionError,
  DbMigrationError,
  DbNotCacheableError,
  DbPoolTimeoutError,
  DbQueryError,
  DbTransactionConflictError,
  DbUnavailableError,
  sqlstateOf,
  withoutQuotedValues,
} from './errors.ts';
export type { MigrationReport } from './migrations.ts';
export type { Suggestion } from './plan.ts';
export { type CachedQueryOptions, type QueryCacheStore, tableTag } from './query-cache.ts';
export { analyzeStatement, analyzeStatementUncached, loadParser, type StatementInfo } from './sql.ts';
export { assertStorableText, isStorableText, unstorableTextPath } from './text.ts';
export type {
  Database,
  DatabaseOptions,
  DatabaseStats,
  Queryable,
  QueryResult,
} from './types.ts';

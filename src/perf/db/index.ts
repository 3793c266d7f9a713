export type { SlowQueryReport, StatementStats } from './analyzer.ts';
export {
  createDatabase,
  type Database,
  type DatabaseOptions,
  type DatabaseStats,
  type Queryable,
  type QueryResult,
} from './database.ts';
export type { PoolStats } from './driver.ts';
export {
  DbClosedError,
  DbConstraintError,
  DbMigrationError,
  DbNotCacheableError,
  DbPoolTimeoutError,
  DbQueryError,
  DbTransactionConflictError,
  DbUnavailableError,
} from './errors.ts';
export type { MigrationReport } from './migrations.ts';
export { IN_MEMORY } from './pglite-driver.ts';
export type { Suggestion } from './plan.ts';
export { type CachedQueryOptions, type QueryCacheStore, tableTag } from './query-cache.ts';
export { analyzeStatement, analyzeStatementUncached, loadParser, type StatementInfo } from './sql.ts';

/** The public types of the database layer. */
import type { PGlite } from '@electric-sql/pglite';
import type { MetricsRegistry } from '../metrics/index.ts';
import type { Logger, SlowQueryReport, StatementStats } from './analyzer.ts';
import type { PoolStats } from './driver.ts';
import type { MigrationReport } from './migrations.ts';
import type { CachedQueryOptions, QueryCacheCounters, QueryCacheStore } from './query-cache.ts';

export interface DatabaseOptions {
  /** PostgreSQL URL; unset: embedded PGlite under `dataDir`. */
  url?: string | undefined;
  /** PGlite directory (the database goes in `<dataDir>/pglite`), or ':memory:'. @default ':memory:' */
  dataDir?: string;
  /** PGlite's PostgreSQL shared_buffers, MB (docs/database.md, "Embedded PGlite memory"). @default 16 */
  pgliteSharedBuffersMb?: number;
  /**
   * How often PGlite's tables changed since their last ANALYZE are analyzed, ms; 0 turns it off
   * (docs/database.md, "Embedded PGlite statistics"). @default 60000
   */
  pgliteAnalyzeIntervalMs?: number;
  /** Connections kept open. @default 20 */
  poolSize?: number;
  /** Extra connections opened under load. @default 30 */
  maxOverflow?: number;
  /** Wait for a connection before DB_POOL_TIMEOUT, ms. @default 30000 */
  poolTimeoutMs?: number;
  /** Maximum connection lifetime, ms. @default 3600000 */
  poolRecycleMs?: number;
  /** How long an overflow connection may sit idle before it is closed, ms. @default 10000 */
  overflowIdleMs?: number;
  /** Apply the `NNNN_name.sql` files of this directory when the database opens. */
  migrationsDir?: string;
  /**
   * Open PGlite (and run the migrations) on first use instead of now: start-up stays fast for
   * processes that may never query. Errors then surface on the first query. @default false
   */
  lazy?: boolean;
  /** search_path for every PostgreSQL connection (tests use a schema each). @default server default */
  searchPath?: string;
  /** Interval of the background health check, ms; 0 turns it off. @default 30000 */
  healthCheckIntervalMs?: number;
  /** Statements slower than this (ms, pool wait included) are explained and logged. @default 100 */
  slowQueryMs?: number;
  /** A filtered sequential scan on a table with at least this many rows gets an index suggestion. @default 10000 */
  largeTableRows?: number;
  /** A result with at least this many rows and no LIMIT gets a pagination suggestion. @default 1000 */
  largeResultRows?: number;
  /** Where cached results live (the tiered cache). @default an in-process LRU of 1000 results */
  cache?: QueryCacheStore;
  /** false: cachedQuery always reads the database (ENABLE_PERFORMANCE_OPTIMIZATION=false). @default true */
  cacheEnabled?: boolean;
  /** Default cachedQuery TTL, ms. @default 60000 */
  cacheTtlMs?: number;
  /** An existing PGlite to use instead of opening one (it is not closed by close()). */
  pglite?: PGlite;
  metrics?: MetricsRegistry;
  logger?: Logger;
  /** Called with every statement's duration (cache hits included) and whether it failed. */
  onQuery?: (ms: number, failed: boolean) => void;
}

export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  rowCount: number;
  command: string;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface HealthState {
  ok: boolean;
  checkedAt: string | undefined;
  latencyMs: number | undefined;
  error: string | undefined;
}

export interface DatabaseStats {
  backend: 'postgres' | 'pglite';
  pool: PoolStats;
  cache: QueryCacheCounters;
  health: HealthState;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction; the tables it wrote are invalidated after COMMIT, never on rollback. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A read whose result is cached, tagged with the tables it reads (plus `options.tags`). */
  cachedQuery<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: CachedQueryOptions,
  ): Promise<QueryResult<R> & { cached: boolean }>;
  /** Drops cached results tagged with any of `tags` (for data changed outside this layer). */
  invalidateTags(tags: string[]): Promise<void>;
  /** Applies pending `NNNN_name.sql` files from `dir` (a missing dir is no migrations). */
  migrate(dir: string): Promise<MigrationReport>;
  /** SELECT 1 through the pool (readiness). */
  ping(): Promise<void>;
  stats(): DatabaseStats;
  /** Statements by p95, slowest first. */
  worstStatements(limit?: number): StatementStats[];
  /** Slow statements explained so far, with suggestions. */
  slowQueries(): SlowQueryReport[];
  /** Explains a statement now and returns the suggestions the slow-query log would give. */
  analyze(sql: string, params?: readonly unknown[]): Promise<SlowQueryReport>;
  /** Top statements from pg_stat_statements, or undefined when the extension is not installed. */
  serverStatements(limit?: number): Promise<Record<string, unknown>[] | undefined>;
  /** Waits for background work (EXPLAINs of slow statements) to finish. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The database layer: one interface over a PostgreSQL pool or embedded PGlite, with statement
 * timing and analysis, migrations, and a query-result cache invalidated by table after commit.
 */
import { type Analyzer, createAnalyzer, type Logger } from './analyzer.ts';
import type { Driver, RawResult, Session } from './driver.ts';
import {
  DbInvalidOptionError,
  DbMigrationError,
  DbNotCacheableError,
  DbPoolTimeoutError,
  DbQueryError,
  DbUnavailableError,
  toDbError,
} from './errors.ts';
import { lazyDriver } from './lazy-driver.ts';
import { applyMigrations, type MigrationReport, readMigrations } from './migrations.ts';
import type { AnalyzeReport } from './pglite-driver.ts';
import type { PlanNode } from './plan.ts';
import { registerPoolMetrics } from './pool-metrics.ts';
import { type CachedQueryOptions, createLocalStore, QueryCache } from './query-cache.ts';
import { analyzeStatement, loadParser, type StatementInfo } from './sql.ts';
import type { Database, DatabaseOptions, HealthState, Queryable, QueryResult } from './types.ts';

export async function createDatabase(options: DatabaseOptions = {}): Promise<Database> {
  await loadParser();
  const searchPath = checkSearchPath(options.searchPath);
  checkWholeNumber('pgliteSharedBuffersMb', options.pgliteSharedBuffersMb, 1, 'MB, at least 1');
  checkWholeNumber('pgliteAnalyzeIntervalMs', options.pgliteAnalyzeIntervalMs, 0, 'ms, 0 to turn it off');
  const timeoutMs = options.poolTimeoutMs ?? 30_000;
  const migrate = async (driver: Driver): Promise<Driver> => {
    if (options.migrationsDir === undefined) return driver;
    const report = await applyMigrations(driver, await readMigrations(options.migrationsDir));
    logMigrations(report, options.logger);
    return driver;
  };
  let driver: Driver;
  // Each driver's client library is loaded only when it is used: PGlite's or pg's code would
  // otherwise sit in every process's memory (measured: 7 and 10 MB of RSS).
  if (options.url !== undefined) {
    const { createPgDriver } = await import('./pg-driver.ts');
    const pool = createPgDriver({
      url: options.url,
      size: options.poolSize ?? 20,
      maxOverflow: options.maxOverflow ?? 30,
      timeoutMs,
      recycleMs: options.poolRecycleMs ?? 3_600_000,
      overflowIdleMs: options.overflowIdleMs ?? 10_000,
      searchPath,
      applicationName: 'versus',
      onError: (err) =>
        options.logger?.warn({ err: { message: err.message } }, 'idle database connection failed'),
    });
    try {
      driver = await migrate(pool);
    } catch (err) {
      if (!(err instanceof DbUnavailableError || err instanceof DbPoolTimeoutError || isUnavailable(err))) {
        await pool.close();
        throw err;
      }
      // PostgreSQL is down at start-up: start degraded (readiness fails) and apply the migrations
      // before the first statement once it is back.
      options.logger?.warn(
        { err: { message: (err as Error).message } },
        'database unreachable at start-up; migrations will run when it answers',
      );
      driver = lazyDriver(
        'postgres',
        () => migrate(pool),
        () => pool.close(),
      );
    }
  } else {
    const open = async () => {
      const { createPgliteDriver } = await import('./pglite-driver.ts');
      const d = await createPgliteDriver({
        dataDir: options.dataDir ?? ':memory:',
        timeoutMs,
        ...(options.pgliteSharedBuffersMb === undefined
          ? {}
          : { sharedBuffersMb: options.pgliteSharedBuffersMb }),
        ...(options.pglite ? { instance: options.pglite } : {}),
        ...(options.pgliteAnalyzeIntervalMs === undefined
          ? {}
          : { analyzeIntervalMs: options.pgliteAnalyzeIntervalMs }),
        onAnalyze: (r) => logAnalyze(r, options.logger),
      });
      try {
        return await migrate(d);
      } catch (err) {
        await d.close();
        throw err;
      }
    };
    driver = options.lazy === true ? lazyDriver('pglite', open) : await open();
  }
  return buildDatabase(driver, options);
}

function isUnavailable(err: unknown): boolean {
  return (
    err instanceof DbMigrationError &&
    (err.cause instanceof DbUnavailableError || err.cause instanceof DbPoolTimeoutError)
  );
}

function logMigrations(report: MigrationReport, logger: Logger | undefined): void {
  if (report.applied.length > 0) logger?.info?.({ applied: report.applied }, 'database migrations applied');
  if (report.changed.length > 0) {
    logger?.warn(
      { changed: report.changed },
      'applied migrations have changed since they ran; they are not re-applied: add a new migration instead',
    );
  }
}

function logAnalyze(r: AnalyzeReport, logger: Logger | undefined): void {
  const ms = Math.round(r.ms);
  if (r.error === undefined) logger?.debug?.({ tables: r.tables, ms }, 'embedded database tables analyzed');
  else {
    logger?.warn(
      { tables: r.tables, ms, err: { message: r.error.message } },
      'analyzing the embedded database tables failed; the next round tries again',
    );
  }
}

function checkSearchPath(path: string | undefined): string | undefined {
  if (path !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]*(,\s*[A-Za-z_][A-Za-z0-9_$]*)*$/.test(path)) {
    throw new DbInvalidOptionError(
      `searchPath ${JSON.stringify(path)} is not valid: expected schema names separated by commas`,
    );
  }
  return path;
}

/** Refuses an option that is not a whole number of at least `min`; `rule` ends the message. */
function checkWholeNumber(name: string, value: number | undefined, min: number, rule: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw new DbInvalidOptionError(`${name} must be a whole number of ${rule} (got ${value})`);
  }
}

function buildDatabase(driver: Driver, options: DatabaseOptions): Database {
  const cache = new QueryCache(options.cache ?? createLocalStore(), options.cacheTtlMs ?? 60_000);
  const health: HealthState = { ok: true, checkedAt: undefined, latencyMs: undefined, error: undefined };
  let closed = false;

  /** Runs one statement on a session we already hold; no timing (EXPLAIN and bookkeeping). */
  async function internal(sql: string, params: readonly unknown[] = []): Promise<RawResult> {
    const { session } = await driver.acquire();
    try {
      return await session.query(sql, params);
    } finally {
      session.release();
    }
  }

  const poolWait = options.metrics?.histogram({
    name: 'database_pool_wait_seconds',
    help: 'Time statements and transactions waited for a database connection (opening one included).',
  });
  const analyzer: Analyzer = createAnalyzer({
    slowMs: options.slowQueryMs ?? 100,
    largeTableRows: options.largeTableRows ?? 10_000,
    largeResultRows: options.largeResultRows ?? 1000,
    metrics: options.metrics,
    logger: options.logger,
    async explain(sql, params) {
      const r = await internal(`EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`, params);
      const raw = r.rows[0]?.['QUERY PLAN'];
      const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[] | undefined;
      return doc?.[0]?.Plan;
    },
    async tableRows(schema, table) {
      const r = await internal(
        `SELECT c.reltuples::float8 AS n, pg_relation_size(c.oid)::float8 AS bytes
           FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
          WHERE c.relname = $1 AND (ns.nspname = $2 OR ($2 IS NULL AND pg_table_is_visible(c.oid)))`,
        [table, schema ?? null],
      );
      const row = r.rows[0];
      if (row === undefined) return undefined;
      const n = Number(row.n);
      // Never analysed (reltuples -1): estimate from the size, at an assumed ~100 bytes a row.
      return n >= 0 ? n : Number(row.bytes) / 100;
    },
  });

  async function run(
    session: Session,
    info: StatementInfo,
    sql: string,
    params: readonly unknown[],
    waitedMs: number,
    started: number,
  ): Promise<RawResult> {
    try {
      const result = await session.query(sql, params);
      const ms = performance.now() - started;
      analyzer.record(info, ms, { cached: false, rows: result.rowCount, waitedMs, sql, params });
      options.onQuery?.(ms, false);
      return result;
    } catch (err) {
      options.onQuery?.(performance.now() - started, true);
      throw toDbError(err, info.normalized);
    }
  }

  function checkInput(sql: unknown, params: unknown): void {
    if (typeof sql !== 'string' || sql.trim() === '') {
      throw new DbQueryError(
        'the statement is empty or not a string: pass the SQL text as the first argument',
      );
    }
    if (!Array.isArray(params)) {
      throw new DbQueryError(
        'the parameters must be an array (for $1, $2, ...): pass [] when there are none',
      );
    }
  }

  async function query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    checkInput(sql, params);
    const info = analyzeStatement(sql);
    const started = performance.now();
    const acquired = await driver.acquire();
    poolWait?.observe(acquired.waitedMs / 1000);
    const { session } = acquired;
    // Only a wait in the queue says the pool is too small; opening a connection is not that.
    const waitedMs = acquired.queued ? acquired.waitedMs : 0;
    let result: RawResult;
    let broken = false;
    try {
      result = await run(session, info, sql, params, waitedMs, started);
    } catch (err) {
      broken = err instanceof DbUnavailableError;
      throw err;
    } finally {
      session.release(broken);
    }
    if (info.writes.length > 0 || info.writesUnknown) await invalidate(info.writes, info.writesUnknown, info);
    return result as QueryResult<R>;
  }

  async function invalidate(tables: Iterable<string>, all: boolean, info?: StatementInfo): Promise<void> {
    try {
      await cache.invalidate(tables, all);
    } catch (err) {
      // The write is committed; a failed invalidation leaves results that expire with their TTL.
      options.logger?.warn(
        { statement: info?.normalized, err: { message: (err as Error).message } },
        'query cache invalidation failed; cached results may be stale until their TTL',
      );
    }
  }

  async function transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const acquired = await driver.acquire();
    poolWait?.observe(acquired.waitedMs / 1000);
    const { session } = acquired;
    const waitedMs = acquired.queued ? acquired.waitedMs : 0;
    const written = new Set<string>();
    let all = false;
    let broken = false;
    let value: T;
    try {
      try {
        await session.exec('BEGIN');
      } catch (err) {
        broken = true;
        throw toDbError(err, 'BEGIN');
      }
      let first = true;
      const tx: Queryable = {
        async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
          checkInput(sql, params);
          const info = analyzeStatement(sql);
          const result = await run(session, info, sql, params, first ? waitedMs : 0, performance.now());
          first = false;
          for (const t of info.writes) written.add(t);
          if (info.writesUnknown) all = true;
          return result as QueryResult<R>;
        },
      };
      try {
        value = await fn(tx);
        await session.exec('COMMIT');
      } catch (err) {
        await session.exec('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } finally {
      session.release(broken);
    }
    if (written.size > 0 || all) await invalidate(written, all);
    return value;
  }

  async function ping(): Promise<void> {
    // An embedded database not opened yet has nothing that can be down; opening it here would
    // make every readiness probe of an idle test app pay PGlite's start-up.
    if (driver.kind === 'pglite' && driver.isOpen?.() === false) return;
    const started = performance.now();
    try {
      await internal('SELECT 1');
      Object.assign(health, { ok: true, error: undefined, latencyMs: round(performance.now() - started) });
    } catch (err) {
      Object.assign(health, {
        ok: false,
        error: (err as Error).message,
        latencyMs: round(performance.now() - started),
      });
      throw err;
    } finally {
      health.checkedAt = new Date().toISOString();
    }
  }

  const interval = options.healthCheckIntervalMs ?? 30_000;
  const timer =
    interval > 0
      ? setInterval(() => {
          ping().catch((err: unknown) =>
            options.logger?.warn(
              { err: { message: (err as Error).message } },
              'database health check failed',
            ),
          );
        }, interval)
      : undefined;
  timer?.unref();
  const removeMetrics =
    options.metrics !== undefined ? registerPoolMetrics(options.metrics, driver) : () => {};

  let extensionChecked: boolean | undefined;

  return {
    kind: driver.kind,
    query,
    transaction,
    async cachedQuery<R>(sql: string, params: readonly unknown[] = [], o: CachedQueryOptions = {}) {
      checkInput(sql, params);
      const info = analyzeStatement(sql);
      if (!info.cacheable) {
        throw new DbNotCacheableError(
          info.parsed
            ? `cachedQuery only caches single plain reads; this statement is a ${info.operation} (${info.normalized}): use query()`
            : `cachedQuery could not parse the statement (${info.normalized}): use query()`,
        );
      }
      const started = performance.now();
      if (options.cacheEnabled === false) return { ...(await query<R>(sql, params)), cached: false };
      const { result, hit } = await cache.get(sql, params, info.reads, o, () => query(sql, params));
      if (hit) {
        const ms = performance.now() - started;
        analyzer.record(info, ms, { cached: true, rows: result.rowCount, waitedMs: 0, sql, params });
        options.onQuery?.(ms, false);
      }
      return { ...(result as QueryResult<R>), cached: hit };
    },
    invalidateTags: (tags) => cache.invalidateTags(tags),
    async migrate(dir) {
      const files = await readMigrations(dir);
      const report = await applyMigrations(driver, files);
      if (report.applied.length > 0) await invalidate([], true);
      logMigrations(report, options.logger);
      return report;
    },
    ping,
    stats: () => ({
      backend: driver.kind,
      pool: driver.stats(),
      cache: { ...cache.counters },
      health: { ...health },
    }),
    worstStatements: (limit) => analyzer.worst(limit),
    slowQueries: () => analyzer.slow(),
    analyze: (sql, params = []) => analyzer.analyze(sql, params, analyzeStatement(sql)),
    async serverStatements(limit = 10) {
      if (driver.kind !== 'postgres') return undefined;
      if (extensionChecked === undefined) {
        const r = await internal(`SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`);
        extensionChecked = r.rows.length > 0;
      }
      if (!extensionChecked) return undefined;
      const r = await internal(
        `SELECT query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows
           FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1`,
        [limit],
      );
      return r.rows;
    },
    settled: () => analyzer.settled(),
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      removeMetrics();
      await analyzer.settled().catch(() => {});
      await driver.close();
    },
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

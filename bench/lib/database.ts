/**
 * A database of its own for a benchmark, removed afterwards: a fresh schema on the PostgreSQL at
 * `url`, or an in-memory PGlite when `url` is undefined. Its query cache is a memory-only tiered
 * cache of its own.
 */
import pg from 'pg';
import { createCache } from '../../src/perf/cache/index.ts';
import { createDatabase, type Database } from '../../src/perf/db/index.ts';

export interface BenchDatabaseOptions {
  /** Names the schema and the cache: `<prefix>_<pid>_<time>`. */
  prefix: string;
  url: string | undefined;
  poolSize: number;
  slowQueryMs: number;
  /** Migrations applied before `fn` runs. */
  migrationsDir?: string;
}

export async function withBenchDatabase<T>(
  o: BenchDatabaseOptions,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const cache = createCache({ name: `${o.prefix}_${process.pid}` });
  const common = { cache: cache.namespace('db'), slowQueryMs: o.slowQueryMs };
  let admin: pg.Client | undefined;
  let schema: string | undefined;
  let db: Database | undefined;
  try {
    if (o.url === undefined) {
      db = await createDatabase({ dataDir: ':memory:', ...common });
    } else {
      schema = `${o.prefix}_${process.pid}_${Date.now().toString(36)}`;
      admin = new pg.Client({ connectionString: o.url });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      db = await createDatabase({ url: o.url, searchPath: schema, poolSize: o.poolSize, ...common });
    }
    if (o.migrationsDir !== undefined) await db.migrate(o.migrationsDir);
    return await fn(db);
  } finally {
    await db?.close();
    await cache.close();
    if (admin !== undefined) {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  }
}

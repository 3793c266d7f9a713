/** A schema of its own on PostgreSQL with the product migrations applied, dropped afterwards. */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createCache } from '../../src/perf/cache/index.ts';
import { createDatabase, type Database } from '../../src/perf/db/index.ts';

const MIGRATIONS = fileURLToPath(new URL('../../src/platform/migrations', import.meta.url));

export async function withProductSchema<T>(fn: (db: Database) => Promise<T>, poolSize = 8): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (url === undefined) throw new Error('set DATABASE_URL: this benchmark measures PostgreSQL');
  const cache = createCache({ name: `bench_exp_${process.pid}` });
  const schema = `bench_exp_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = await createDatabase({
    url,
    searchPath: schema,
    poolSize,
    cache: cache.namespace('db'),
    slowQueryMs: 600_000,
  });
  try {
    await db.migrate(MIGRATIONS);
    return await fn(db);
  } finally {
    await db.close();
    await cache.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

/** A schema of its own on PostgreSQL with the product migrations applied, dropped afterwards. */
import { fileURLToPath } from 'node:url';
import type { Database } from '../../src/perf/db/index.ts';
import { withBenchDatabase } from './database.ts';

const MIGRATIONS = fileURLToPath(new URL('../../src/platform/migrations', import.meta.url));

export function withProductSchema<T>(fn: (db: Database) => Promise<T>, poolSize = 8): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (url === undefined) throw new Error('set DATABASE_URL: this benchmark measures PostgreSQL');
  return withBenchDatabase(
    { prefix: 'bench_exp', url, poolSize, slowQueryMs: 600_000, migrationsDir: MIGRATIONS },
    fn,
  );
}

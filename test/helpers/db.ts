/**
 * Database backends for tests: in-memory PGlite, and PostgreSQL in a schema of its own that is
 * dropped again afterwards (other developers share the server).
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createDatabase, type Database, type DatabaseOptions } from '../../src/perf/db/index.ts';
import { DATABASE_URL, uniqueName } from './services.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Opens a database; everything opened is closed (and its schema dropped) by `cleanup`. */
  open(options?: DatabaseOptions): Promise<Database>;
  /** The schema name on PostgreSQL (tests that open a second instance share it). */
  schema: string | undefined;
  cleanup(): Promise<void>;
}

let shared: Promise<PGlite> | undefined;

/** Starts the shared PGlite (seconds of CPU on a busy machine): call from a beforeAll with a long timeout. */
export async function warmPglite(): Promise<void> {
  shared ??= PGlite.create();
  await shared;
}

/**
 * In-memory PGlite. Starting PGlite costs seconds of CPU, so a test file shares one instance and
 * `cleanup` empties it (drops and recreates the public schema).
 */
export function pgliteBackend(): Backend {
  const opened: Database[] = [];
  shared ??= PGlite.create();
  const instance = shared;
  return {
    name: 'pglite',
    schema: undefined,
    async open(options = {}) {
      const db = await createDatabase({ pglite: await instance, healthCheckIntervalMs: 0, ...options });
      opened.push(db);
      return db;
    },
    async cleanup() {
      await Promise.all(opened.splice(0).map((d) => d.close()));
      await (await instance).exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    },
  };
}

/** A PostgreSQL backend in a fresh schema; every database opened uses it as search_path. */
export async function postgresBackend(): Promise<Backend> {
  const url = DATABASE_URL;
  if (url === undefined) throw new Error('DATABASE_URL is not set');
  const schema = uniqueName('t_db').toLowerCase();
  await adminQuery(`CREATE SCHEMA ${schema}`);
  const opened: Database[] = [];
  return {
    name: 'postgres',
    schema,
    async open(options = {}) {
      const db = await createDatabase({
        url,
        searchPath: schema,
        poolSize: 4,
        maxOverflow: 4,
        healthCheckIntervalMs: 0,
        ...options,
      });
      opened.push(db);
      return db;
    },
    async cleanup() {
      await Promise.all(opened.splice(0).map((d) => d.close()));
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

export async function adminQuery(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

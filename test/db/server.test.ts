/** The database layer inside the app: built from config, in readiness and parts, closed with the app. */
import { describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.ts';
import { adminQuery } from '../helpers/db.ts';
import { DATABASE_URL, hasPostgres, uniqueName } from '../helpers/services.ts';

describe('database in the server', () => {
  it('tests get in-memory PGlite, opened only on first use', async () => {
    const { app } = await testApp();
    try {
      const db = app.versus.db;
      expect(db.kind).toBe('pglite');
      expect(app.versus.parts.find((p) => p.name === 'database')?.summary).toMatch(/^PGlite in memory/);
      expect(db.stats().pool.acquisitions).toBe(0);
      const ready = await app.inject({ url: '/health/ready' });
      expect(ready.json()).toMatchObject({ checks: { database: { status: 'ok' } } });
      expect(db.stats().pool.acquisitions).toBe(0);
      expect((await db.query('SELECT 40 + 2 AS answer')).rows).toEqual([{ answer: 42 }]);
    } finally {
      await app.close();
    }
    await expect(app.versus.db.query('SELECT 1')).rejects.toMatchObject({ code: 'DB_CLOSED' });
  }, 120_000);

  it('feeds the performance monitor: statement timings, pool figures and the slowest statements', async () => {
    const { app } = await testApp();
    try {
      await app.ready();
      const db = app.versus.db;
      await db.query('CREATE TABLE watched (a int)');
      await db.query('SELECT a FROM watched WHERE a = $1', [1]);
      const snapshot = await app.versus.performance!.evaluate();
      expect(snapshot.db?.count).toBeGreaterThanOrEqual(2);
      expect(snapshot.dbPool).toMatchObject({ size: 1, max: 1 });
      expect(snapshot.slowQueries.map((q) => q.statement)).toContain('SELECT a FROM watched WHERE a = $1');
    } finally {
      await app.close();
    }
  }, 120_000);

  it.runIf(hasPostgres)('with DATABASE_URL readiness goes through the pool', async () => {
    const schema = uniqueName('t_dbsrv').toLowerCase();
    await adminQuery(`CREATE SCHEMA ${schema}`);
    const url = new URL(DATABASE_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const { app } = await testApp({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '3' });
    try {
      expect(app.versus.db.kind).toBe('postgres');
      expect(app.versus.parts.find((p) => p.name === 'database')?.summary).toMatch(
        /^PostgreSQL at .* pool 3 \+ 30/,
      );
      const ready = await app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(app.versus.db.stats().pool.acquisitions).toBeGreaterThan(0);
      await app.versus.db.query('CREATE TABLE t (a int)');
      expect((await adminQuery(`SELECT count(*)::int AS n FROM ${schema}.t`)).rows).toEqual([{ n: 0 }]);
    } finally {
      await app.close();
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  it('an unreachable PostgreSQL degrades readiness instead of failing start-up', async () => {
    const { app } = await testApp({
      DATABASE_URL: 'postgres://versus@127.0.0.1:1/none',
      DATABASE_POOL_TIMEOUT: '1',
    });
    try {
      const ready = await app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE', failed: ['database'] } });
      await expect(app.versus.db.query('SELECT 1')).rejects.toMatchObject({
        code: 'DB_UNAVAILABLE',
        status: 503,
      });
    } finally {
      await app.close();
    }
  });
});

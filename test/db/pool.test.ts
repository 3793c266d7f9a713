/** PostgreSQL pool semantics: overflow, recycling, and the races around the query cache. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Backend, postgresBackend } from '../helpers/db.ts';
import { waitFor } from '../helpers/http.ts';
import { hasPostgres } from '../helpers/services.ts';

describe.runIf(hasPostgres)('PostgreSQL pool', () => {
  let backend: Backend;
  beforeEach(async () => {
    backend = await postgresBackend();
  });
  afterEach(async () => {
    await backend.cleanup();
  });

  it('opens overflow connections under load and closes them when idle', async () => {
    const db = await backend.open({ poolSize: 2, maxOverflow: 3, overflowIdleMs: 200 });
    const busy = Array.from({ length: 5 }, () => db.query('SELECT pg_sleep(0.3)'));
    await waitFor(() => db.stats().pool.total === 5, 5000, 10);
    expect(db.stats().pool).toMatchObject({ total: 5, overflow: 3, overflowInUse: 3, inUse: 5 });
    await Promise.all(busy);
    // The two kept connections stay; the three overflow ones close once idle.
    await waitFor(() => db.stats().pool.total === 2, 5000, 20);
    await new Promise((r) => setTimeout(r, 400));
    expect(db.stats().pool).toMatchObject({ total: 2, idle: 2, overflow: 0, opened: 5, closed: 3 });
  });

  it('queues beyond size + overflow and records the wait', async () => {
    const db = await backend.open({ poolSize: 1, maxOverflow: 1, poolTimeoutMs: 5000, slowQueryMs: 60_000 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 3 }, () => db.query('SELECT pg_sleep(0.2)')));
    expect(performance.now() - started).toBeGreaterThanOrEqual(380);
    const stats = db.stats().pool;
    expect(stats.acquisitions).toBe(3);
    const slowWaits = stats.waitHistogram
      .filter((b) => b.le === '+Inf' || b.le >= 100)
      .reduce((n, b) => n + b.count, 0);
    expect(slowWaits).toBeGreaterThanOrEqual(1);
  });

  it('suggests a bigger pool when a slow statement waited in the queue', async () => {
    const db = await backend.open({ poolSize: 1, maxOverflow: 0, slowQueryMs: 150 });
    await db.query('SELECT 1');
    await Promise.all([db.query('SELECT pg_sleep(0.3)'), db.query('SELECT now() AS queued_one')]);
    await db.settled();
    const report = db.slowQueries().find((r) => r.statement === 'SELECT now() AS queued_one');
    expect(report?.suggestions).toContainEqual(expect.objectContaining({ kind: 'pool' }));
  });

  it('replaces connections older than the recycle age', async () => {
    const db = await backend.open({ poolSize: 1, maxOverflow: 0, poolRecycleMs: 1000 });
    const pid = async () => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const first = await pid();
    expect(await pid()).toBe(first);
    await new Promise((r) => setTimeout(r, 1300));
    const later = await pid();
    expect(later).not.toBe(first);
    expect(db.stats().pool.closed).toBeGreaterThanOrEqual(1);
  });

  it('does not store a result read before a write that committed during the read', async () => {
    const db = await backend.open();
    await db.query('CREATE TABLE counter (n int)');
    await db.query('INSERT INTO counter VALUES (1)');
    const read = 'SELECT n, pg_sleep(0.3)::text AS s FROM counter';
    const slowRead = db.cachedQuery(read);
    await new Promise((r) => setTimeout(r, 100));
    await db.query('UPDATE counter SET n = 2');
    const stale = await slowRead;
    expect(stale.rows[0]).toMatchObject({ n: 1 });
    const next = await db.cachedQuery(read);
    expect(next.cached).toBe(false);
    expect(next.rows[0]).toMatchObject({ n: 2 });
    expect(db.stats().cache.discarded).toBe(1);
  });

  it('applies each migration once when several instances start together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'versus-mig-'));
    try {
      await writeFile(
        join(dir, '0001_log.sql'),
        'CREATE TABLE started (n serial, at timestamptz DEFAULT now());',
      );
      await writeFile(join(dir, '0002_row.sql'), 'INSERT INTO started DEFAULT VALUES;');
      const instances = await Promise.all(
        Array.from({ length: 3 }, () => backend.open({ migrationsDir: dir, poolSize: 1 })),
      );
      const rows = await instances[0]!.query<{ n: number }>('SELECT count(*) AS n FROM started');
      expect(rows.rows[0]?.n).toBe(1);
      const applied = await instances[1]!.query('SELECT name FROM versus_migrations ORDER BY name');
      expect(applied.rows).toEqual([{ name: '0001_log.sql' }, { name: '0002_row.sql' }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers readiness through the pool and reports an unreachable server as DB_UNAVAILABLE', async () => {
    const db = await backend.open();
    await db.ping();
    expect(db.stats().health).toMatchObject({ ok: true });
    const { createDatabase } = await import('../../src/perf/db/index.ts');
    const dead = await createDatabase({
      url: 'postgres://postgres@127.0.0.1:1/none',
      poolTimeoutMs: 2000,
      healthCheckIntervalMs: 0,
    });
    try {
      await expect(dead.ping()).rejects.toMatchObject({ code: 'DB_UNAVAILABLE', status: 503 });
      expect(dead.stats().health.ok).toBe(false);
    } finally {
      await dead.close();
    }
  });
});

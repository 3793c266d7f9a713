/**
 * One contract for both backends: the same suite runs on in-memory PGlite and on PostgreSQL (a
 * schema per test, dropped after).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Database, sqlstateOf } from '../../src/perf/db/index.ts';
import { createMetricsRegistry } from '../../src/perf/metrics/index.ts';
import { type Backend, pgliteBackend, postgresBackend, warmPglite } from '../helpers/db.ts';
import { hasPostgres } from '../helpers/services.ts';

const backends: [string, () => Promise<Backend>][] = [['pglite', async () => pgliteBackend()]];
if (hasPostgres) backends.push(['postgres', postgresBackend]);

describe.each(backends)('database contract on %s', (name, makeBackend) => {
  let backend: Backend;
  let db: Database;

  beforeAll(async () => {
    if (name === 'pglite') await warmPglite();
  }, 180_000);

  beforeEach(async () => {
    backend = await makeBackend();
    db = await backend.open();
    await db.query(
      'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, qty int8 NOT NULL)',
    );
    await db.query('CREATE TABLE owners (item_id int REFERENCES items(id), owner text NOT NULL)');
    await db.query(`INSERT INTO items (name, qty) VALUES ('apple', 3), ('pear', 5)`);
  });
  afterEach(async () => {
    await backend.cleanup();
  });

  it('runs parameterised statements and returns int8 as numbers', async () => {
    const r = await db.query<{ name: string; qty: number }>(
      'SELECT name, qty FROM items WHERE qty > $1 ORDER BY name',
      [4],
    );
    expect(r.rows).toEqual([{ name: 'pear', qty: 5 }]);
    const ins = await db.query(`INSERT INTO items (name, qty) VALUES ($1, $2), ($3, $4)`, [
      'fig',
      1,
      'kiwi',
      2,
    ]);
    expect(ins.rowCount).toBe(2);
    const count = await db.query<{ n: number }>('SELECT count(*) AS n FROM items');
    expect(count.rows[0]?.n).toBe(4);
  });

  it('commits a transaction and rolls it back when the function throws', async () => {
    const value = await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO items (name, qty) VALUES ('plum', 1)`);
      return 'done';
    });
    expect(value).toBe('done');
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO items (name, qty) VALUES ('grape', 1)`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const names = (await db.query<{ name: string }>('SELECT name FROM items ORDER BY name')).rows.map(
      (r) => r.name,
    );
    expect(names).toEqual(['apple', 'pear', 'plum']);
  });

  it('turns SQL errors into typed errors without parameter values', async () => {
    const missing = await db.query('SELECT * FROM no_such_table WHERE id = $1', [1]).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'DB_QUERY_FAILED', status: 500, details: { sqlstate: '42P01' } });
    // The message can reach an HTTP client: no SQL in it. The log has it, from the cause.
    expect((missing as Error).message).not.toMatch(/SELECT|WHERE/);
    expect(((missing as Error).cause as { statement?: string }).statement).toMatch(
      /SELECT \* FROM no_such_table WHERE id = \$1/,
    );
    const dup = await db
      .query('INSERT INTO items (name, qty) VALUES ($1, $2)', ['apple', 9])
      .catch((e: unknown) => e);
    expect(dup).toMatchObject({
      code: 'DB_CONSTRAINT_VIOLATION',
      status: 409,
      details: { constraint: 'items_name_key' },
    });
    const bad = await db
      .query('SELECT * FROM items WHERE id = $1', ['secret-value-77'])
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'DB_QUERY_FAILED' });
    expect(JSON.stringify({ m: (bad as Error).message, c: String((bad as Error).cause) })).not.toContain(
      'secret-value-77',
    );
    const nul = await db.query('SELECT $1::text AS v', ['a\u0000b']).catch((e: unknown) => e);
    expect(nul).toMatchObject({ code: 'DB_QUERY_FAILED', details: { sqlstate: '22021' } });
    expect(sqlstateOf(nul)).toBe('22021');
    expect(sqlstateOf(dup)).toBe('23505');
    expect((nul as Error).message).not.toContain('SELECT');
    await expect(db.query('')).rejects.toMatchObject({ code: 'DB_QUERY_FAILED' });
    await expect(db.query('SELECT 1', 'x' as unknown as unknown[])).rejects.toMatchObject({
      code: 'DB_QUERY_FAILED',
    });
  });

  it('caches a read: miss, then hit, until its TTL', async () => {
    const sql = 'SELECT name FROM items WHERE qty >= $1 ORDER BY name';
    const first = await db.cachedQuery(sql, [1]);
    const second = await db.cachedQuery(sql, [1]);
    const other = await db.cachedQuery(sql, [4]);
    expect([first.cached, second.cached, other.cached]).toEqual([false, true, false]);
    expect(second.rows).toEqual(first.rows);
    expect(other.rows).toEqual([{ name: 'pear' }]);
    const short = await db.cachedQuery('SELECT count(*) AS n FROM items', [], { ttl: 50 });
    expect(short.cached).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect((await db.cachedQuery('SELECT count(*) AS n FROM items', [], { ttl: 50 })).cached).toBe(false);
  });

  it('reads the database every time when the cache is turned off', async () => {
    const off = await backend.open({ cacheEnabled: false });
    await off.query('CREATE TABLE uncached (a int)');
    expect((await off.cachedQuery('SELECT a FROM uncached')).cached).toBe(false);
    await off.query('INSERT INTO uncached VALUES (1)');
    expect(await off.cachedQuery('SELECT a FROM uncached')).toMatchObject({
      cached: false,
      rows: [{ a: 1 }],
    });
  });

  it('rejects a bad search path with a typed error', async () => {
    await expect(backend.open({ searchPath: 'x; DROP TABLE items' })).rejects.toMatchObject({
      code: 'DB_INVALID_OPTION',
    });
  });

  it('refuses to cache writes', async () => {
    await expect(db.cachedQuery(`DELETE FROM items`)).rejects.toMatchObject({ code: 'DB_NOT_CACHEABLE' });
    await expect(db.cachedQuery(`SELEC 1`)).rejects.toMatchObject({ code: 'DB_NOT_CACHEABLE' });
  });

  const reads: [string, string][] = [
    ['a plain read', 'SELECT name, qty FROM items ORDER BY name'],
    [
      'a CTE',
      'WITH stock AS (SELECT name, qty FROM items WHERE qty > 0) SELECT name, qty FROM stock ORDER BY name',
    ],
    [
      'a join',
      'SELECT i.name, i.qty, o.owner FROM owners o RIGHT JOIN items i ON i.id = o.item_id ORDER BY i.name',
    ],
    [
      'a subquery',
      "SELECT o.owner FROM owners o WHERE o.item_id IN (SELECT id FROM items WHERE qty > 2) UNION ALL SELECT (SELECT string_agg(name || qty, ',' ORDER BY name) FROM items)",
    ],
  ];
  const writes: [string, string][] = [
    ['INSERT', `INSERT INTO items (name, qty) VALUES ('quince', 7)`],
    ['UPDATE', `UPDATE items SET qty = qty + 10 WHERE name = 'apple'`],
    ['DELETE', `DELETE FROM items WHERE name = 'pear'`],
  ];
  for (const [readName, read] of reads) {
    for (const [writeName, write] of writes) {
      it(`invalidates ${readName} after an ${writeName} commits`, async () => {
        const before = await db.cachedQuery(read);
        expect((await db.cachedQuery(read)).cached).toBe(true);
        await db.query(write);
        const after = await db.cachedQuery(read);
        expect(after.cached).toBe(false);
        expect(after.rows).not.toEqual(before.rows);
      });
    }
  }

  it('invalidates only after COMMIT: inside the transaction the cached result still stands', async () => {
    const read = 'SELECT sum(qty)::int8 AS total FROM items';
    expect((await db.cachedQuery(read)).rows).toEqual([{ total: 8 }]);
    await db.transaction(async (tx) => {
      await tx.query(`UPDATE items SET qty = 100 WHERE name = 'apple'`);
      const during = await db.cachedQuery(read);
      expect(during).toMatchObject({ cached: true, rows: [{ total: 8 }] });
    });
    expect(await db.cachedQuery(read)).toMatchObject({ cached: false, rows: [{ total: 105 }] });
  });

  it('keeps cached results when the transaction rolls back', async () => {
    const read = 'SELECT name FROM items ORDER BY name';
    await db.cachedQuery(read);
    const invalidations = db.stats().cache.invalidations;
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`DELETE FROM items`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const after = await db.cachedQuery(read);
    expect(after.cached).toBe(true);
    expect(after.rows).toEqual([{ name: 'apple' }, { name: 'pear' }]);
    expect(db.stats().cache.invalidations).toBe(invalidations);
  });

  it('does not invalidate reads of other tables', async () => {
    const read = 'SELECT count(*) AS n FROM owners';
    await db.cachedQuery(read);
    await db.query(`UPDATE items SET qty = 0`);
    expect((await db.cachedQuery(read)).cached).toBe(true);
  });

  it('gives DB_POOL_TIMEOUT when no connection frees up in time', async () => {
    const small = await backend.open({ poolSize: 1, maxOverflow: 0, poolTimeoutMs: 100 });
    let release!: () => void;
    const held = small.transaction(() => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    const err = await small.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DB_POOL_TIMEOUT', status: 503 });
    expect(small.stats().pool.timeouts).toBe(1);
    release();
    await held;
    expect((await small.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('times statements into database_query_duration_seconds by operation and cached', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const timed = await backend.open({ metrics });
    await timed.query('CREATE TABLE timed (a int)');
    await timed.query(`UPDATE timed SET a = a`);
    await timed.cachedQuery('SELECT a FROM timed');
    await timed.cachedQuery('SELECT a FROM timed');
    const text = await metrics.metrics();
    expect(text).toMatch(/database_query_duration_seconds_count\{operation="update",cached="false"\} 1/);
    expect(text).toMatch(/database_query_duration_seconds_count\{operation="select",cached="false"\} 1/);
    expect(text).toMatch(/database_query_duration_seconds_count\{operation="select",cached="true"\} 1/);
    expect(text).toMatch(/database_pool_connections\{state="idle"\}/);
    expect(text).toMatch(/database_pool_wait_seconds_count \d+/);
  });

  it('logs a slow statement once, normalised, with its plan and never its parameter values', async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    };
    const slow = await backend.open({ slowQueryMs: 0, logger });
    await slow.query('CREATE TABLE fruit (name text)');
    await slow.query(`SELECT name FROM fruit WHERE name = $1 OR name = 'literal-secret'`, ['param-secret']);
    await slow.query(`SELECT name FROM fruit WHERE name = $1 OR name = 'literal-secret'`, ['param-secret-2']);
    await slow.settled();
    const logged = lines.filter(
      (l) => l.msg === 'slow query' && String(l.obj.statement).includes('fruit WHERE'),
    );
    expect(logged).toHaveLength(1);
    expect(logged[0]?.obj.statement).toBe('SELECT name FROM fruit WHERE name = $1 OR name = $2');
    expect(String(logged[0]?.obj.plan)).toMatch(/Scan/);
    expect(JSON.stringify(lines)).not.toMatch(/secret/);
    const worst = slow.worstStatements(100).find((w) => w.statement.includes('fruit WHERE'));
    expect(worst).toMatchObject({
      statement: 'SELECT name FROM fruit WHERE name = $1 OR name = $2',
      count: 2,
    });
    expect(worst?.p95Ms).toBeGreaterThan(0);
  });

  it('suggests an index for a filtered sequential scan on a 100K-row table', async () => {
    await db.query(`CREATE TABLE big (id int, user_id int, payload text)`);
    await db.query(`INSERT INTO big SELECT g, g % 5000, md5(g::text) FROM generate_series(1, 100000) g`);
    await db.query('ANALYZE big');
    const report = await db.analyze('SELECT * FROM big WHERE user_id = $1', [42]);
    expect(report.suggestions).toContainEqual(
      expect.objectContaining({ kind: 'index', table: 'big', columns: ['user_id'] }),
    );
    const index = report.suggestions.find((s) => s.kind === 'index');
    expect(index && 'sql' in index ? index.sql : '').toMatch(
      /CREATE INDEX CONCURRENTLY ON .*"big" \("user_id"\)/,
    );
    // The suggestion is right: with the index the plan no longer scans the table.
    await db.query('CREATE INDEX ON big (user_id)');
    await db.query('ANALYZE big');
    const after = await db.analyze('SELECT * FROM big WHERE user_id = $1', [42]);
    expect(after.suggestions.filter((s) => s.kind === 'index')).toEqual([]);
    const small = await db.analyze('SELECT * FROM items WHERE qty = $1', [1]);
    expect(small.suggestions).toEqual([]);
  });

  it('reads pg_stat_statements only where the extension is installed', async () => {
    const installed =
      db.kind === 'postgres' &&
      (await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`)).rowCount > 0;
    const top = await db.serverStatements(5);
    if (installed) expect(Array.isArray(top)).toBe(true);
    else expect(top).toBeUndefined();
  });

  it('suggests a LIMIT for a large result without one', async () => {
    const report = await db.analyze('SELECT g FROM generate_series(1, 5000) g');
    expect(report.suggestions).toEqual([]);
    const lines: string[] = [];
    const slow = await backend.open({
      slowQueryMs: 0,
      largeResultRows: 1000,
      logger: { warn: (o) => lines.push(JSON.stringify(o)) },
    });
    await slow.query('SELECT g FROM generate_series(1, 5000) g');
    await slow.settled();
    expect(slow.slowQueries()[0]?.suggestions).toContainEqual(
      expect.objectContaining({ kind: 'limit', rows: 5000 }),
    );
  });

  describe('migrations', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'versus-mig-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('applies files in order once, recording them; a missing directory is fine', async () => {
      await writeFile(join(dir, '0002_add_color.sql'), 'ALTER TABLE fruit ADD COLUMN color text;');
      await writeFile(
        join(dir, '0001_fruit.sql'),
        "CREATE TABLE fruit (name text);\nINSERT INTO fruit VALUES ('fig');",
      );
      await writeFile(join(dir, 'README.md'), 'not a migration');
      const first = await db.migrate(dir);
      expect(first).toEqual({
        applied: ['0001_fruit.sql', '0002_add_color.sql'],
        alreadyApplied: 0,
        changed: [],
      });
      const second = await db.migrate(dir);
      expect(second).toEqual({ applied: [], alreadyApplied: 2, changed: [] });
      const recorded = await db.query<{ name: string }>('SELECT name FROM versus_migrations ORDER BY name');
      expect(recorded.rows.map((r) => r.name)).toEqual(['0001_fruit.sql', '0002_add_color.sql']);
      expect((await db.query('SELECT name, color FROM fruit')).rows).toEqual([{ name: 'fig', color: null }]);
      expect(await db.migrate(join(dir, 'nope'))).toEqual({ applied: [], alreadyApplied: 0, changed: [] });
    });

    it('applies nothing when one file fails, and names it', async () => {
      await writeFile(join(dir, '0001_ok.sql'), 'CREATE TABLE ok_table (a int);');
      await writeFile(join(dir, '0002_broken.sql'), 'CREATE TABLE broken (a int;');
      const err = await db.migrate(dir).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DB_MIGRATION_FAILED' });
      expect((err as Error).message).toContain('0002_broken.sql');
      const exists = await db.query(`SELECT to_regclass('ok_table') AS t`);
      expect(exists.rows).toEqual([{ t: null }]);
    });

    it('rejects badly named files and duplicate numbers', async () => {
      await writeFile(join(dir, 'init.sql'), 'SELECT 1;');
      await expect(db.migrate(dir)).rejects.toMatchObject({ code: 'DB_MIGRATION_FAILED' });
      await rm(join(dir, 'init.sql'));
      await writeFile(join(dir, '0001_a.sql'), 'SELECT 1;');
      await writeFile(join(dir, '0001_b.sql'), 'SELECT 1;');
      await expect(db.migrate(dir)).rejects.toThrow(/share the number 0001/);
    });
  });
});

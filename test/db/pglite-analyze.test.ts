/**
 * Embedded PGlite has no autovacuum: the database layer runs autovacuum's analyze rule on an
 * interval, so a table that grew gets plans made for its size rather than for an empty table.
 */
import { PGlite } from '@electric-sql/pglite';
import { expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/perf/db/index.ts';
import { type AnalyzeReport, createPgliteDriver } from '../../src/perf/db/pglite-driver.ts';
import { waitFor } from '../helpers/http.ts';

/** The events export's page query (keyset pagination over an index). */
const PAGE = `EXPLAIN SELECT * FROM ev WHERE exp = $1 AND (created_at, id) > ($2::timestamptz, '')
  ORDER BY created_at, id LIMIT 5000`;

async function fill(db: Database): Promise<void> {
  await db.query('CREATE TABLE ev (id text PRIMARY KEY, exp text NOT NULL, created_at timestamptz NOT NULL)');
  await db.query('CREATE INDEX ev_page ON ev (exp, created_at, id)');
  await db.query('CREATE TABLE few (id int)');
  await db.query(`INSERT INTO ev SELECT 'r' || i, 'e' || (i % 3), timestamptz '2026-01-01' + i * interval '1 ms'
                    FROM generate_series(1, 30000) i`);
  await db.query('INSERT INTO few SELECT generate_series(1, 10)');
}

async function plan(db: Database): Promise<string> {
  const r = await db.query(PAGE, ['e1', '2026-01-01']);
  return r.rows.map((row) => String(Object.values(row)[0])).join('\n');
}

async function lastAnalyzed(db: Database): Promise<Record<string, boolean>> {
  const r = await db.query<{ relname: string; analyzed: boolean }>(
    'SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables ORDER BY relname',
  );
  return Object.fromEntries(r.rows.map((row) => [row.relname, row.analyzed]));
}

it('analyzes a table that changed, and its page query then reads the index in order', async () => {
  const debug: Array<{ tables: string[]; ms: number }> = [];
  const logger = { warn() {}, debug: (obj: object) => debug.push(obj as { tables: string[]; ms: number }) };
  const db = await createDatabase({ healthCheckIntervalMs: 0, pgliteAnalyzeIntervalMs: 200, logger });
  try {
    await fill(db);
    await waitFor(() => debug.length > 0, 20_000);
    expect(debug[0]?.tables).toEqual(['public.ev']);
    expect(debug[0]?.ms).toBeGreaterThanOrEqual(0);
    // Ten rows are below the rule's threshold of 50 changes: left alone, as autovacuum would.
    expect(await lastAnalyzed(db)).toEqual({ ev: true, few: false });
    const analyzed = await plan(db);
    expect(analyzed).toContain('Index Only Scan using ev_page');
    expect(analyzed).not.toContain('Sort');
    // Nothing changed since: the next rounds analyze nothing and log nothing.
    await new Promise((r) => setTimeout(r, 700));
    expect(debug).toHaveLength(1);
  } finally {
    await db.close();
  }
}, 120_000);

it('with the interval at 0 never analyzes, and the page query sorts every matching row', async () => {
  const db = await createDatabase({ healthCheckIntervalMs: 0, pgliteAnalyzeIntervalMs: 0 });
  try {
    await fill(db);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await lastAnalyzed(db)).toEqual({ ev: false, few: false });
    expect(await plan(db)).toContain('Sort');
  } finally {
    await db.close();
  }
  await expect(
    createDatabase({ healthCheckIntervalMs: 0, pgliteAnalyzeIntervalMs: -1 }),
  ).rejects.toMatchObject({
    code: 'DB_INVALID_OPTION',
    message: 'pgliteAnalyzeIntervalMs must be a whole number of ms, 0 to turn it off (got -1)',
  });
}, 120_000);

it('reports a failed round and analyzes on the next one', async () => {
  const pg = await PGlite.create();
  const query = pg.query.bind(pg);
  let failures = 1;
  // Fault injection: the first look at the statistics fails.
  pg.query = ((sql: string, ...rest: unknown[]) => {
    if (sql.includes('pg_stat_user_tables') && failures-- > 0)
      return Promise.reject(new Error('injected fault'));
    return (query as (...a: unknown[]) => unknown)(sql, ...rest);
  }) as typeof pg.query;
  const reports: AnalyzeReport[] = [];
  const driver = await createPgliteDriver({
    dataDir: ':memory:',
    timeoutMs: 5_000,
    instance: pg,
    analyzeIntervalMs: 100,
    onAnalyze: (r) => reports.push(r),
  });
  try {
    await pg.exec('CREATE TABLE t (v int); INSERT INTO t SELECT generate_series(1, 500)');
    await waitFor(() => reports.some((r) => r.error === undefined), 20_000);
    expect(reports[0]?.error?.message).toBe('injected fault');
    expect(reports.find((r) => r.error === undefined)?.tables).toEqual(['public.t']);
    // The failed round gave the connection back.
    expect(driver.stats()).toMatchObject({ inUse: 0, waiting: 0 });
  } finally {
    await driver.close();
    await pg.close();
  }
}, 120_000);

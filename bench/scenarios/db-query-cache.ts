/**
 * An analytical query over 1M rows (per-variant count, mean and p95 of one experiment's events),
 * uncached against cachedQuery hits from the tiered cache's memory tier, same run. The rows are
 * built with generate_series in a schema of their own, dropped afterwards.
 */
import type { Database } from '../../src/perf/db/index.ts';
import { withBenchDatabase } from '../lib/database.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const ROWS = 1_000_000;
const UNCACHED_SAMPLES = 15;
const CACHED_SAMPLES = 20_000;
const TARGET_MS = 50;

const QUERY = `SELECT variant, count(*) AS n, avg(latency_ms) AS mean_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms
  FROM bench_events WHERE experiment_id = $1 GROUP BY variant ORDER BY variant`;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)] ?? Number.NaN;
}

function withSchema<T>(url: string | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
  return withBenchDatabase({ prefix: 'bench_dbq', url, poolSize: 4, slowQueryMs: 60_000 }, fn);
}

export const scenario: Scenario = {
  id: 'db-query-cache',
  title: 'Database: cached vs uncached analytical query over 1M rows',
  async run({ runs, log }) {
    const url = process.env.DATABASE_URL || undefined;
    const rows: string[][] = [];
    await withSchema(url, async (db) => {
      log(`  building ${ROWS} rows on ${db.kind}...`);
      await db.query(
        'CREATE TABLE bench_events (id int, experiment_id int, variant text, latency_ms float8, cost_usd float8)',
      );
      await db.query(
        `INSERT INTO bench_events
         SELECT g, g % 10, 'v' || (g % 3), 20 + (g::int8 * 7919 % 1000) / 10.0, (g % 100) / 1e5
           FROM generate_series(1, ${ROWS}) g`,
      );
      await db.query('ANALYZE bench_events');
      const uncachedP50: number[] = [];
      const uncachedP95: number[] = [];
      const cachedP50: number[] = [];
      const cachedP95: number[] = [];
      for (let r = 0; r < runs; r++) {
        const times: number[] = [];
        for (let i = 0; i < UNCACHED_SAMPLES; i++) {
          const t = performance.now();
          await db.query(QUERY, [3]);
          times.push(performance.now() - t);
        }
        uncachedP50.push(percentile(times, 0.5));
        uncachedP95.push(percentile(times, 0.95));
        await db.invalidateTags(['db:*']);
        const first = await db.cachedQuery(QUERY, [3]);
        if (first.cached) throw new Error('expected a miss after invalidation');
        const hits: number[] = [];
        for (let i = 0; i < CACHED_SAMPLES; i++) {
          const t = performance.now();
          const res = await db.cachedQuery(QUERY, [3]);
          hits.push(performance.now() - t);
          if (!res.cached) throw new Error('expected a cache hit');
        }
        cachedP50.push(percentile(hits, 0.5));
        cachedP95.push(percentile(hits, 0.95));
        log(
          `  run ${r + 1}/${runs}: uncached p50 ${human(uncachedP50.at(-1)!)} ms p95 ${human(uncachedP95.at(-1)!)} ms; cached p50 ${(cachedP50.at(-1)! * 1000).toFixed(1)} µs p95 ${(cachedP95.at(-1)! * 1000).toFixed(1)} µs`,
        );
      }
      const u50 = median(uncachedP50);
      const u95 = median(uncachedP95);
      const c50 = median(cachedP50);
      const c95 = median(cachedP95);
      rows.push([
        db.kind,
        `${human(u50)} / ${human(u95)} ms`,
        `${(c50 * 1000).toFixed(1)} / ${(c95 * 1000).toFixed(1)} µs`,
        ratio(u50, c50),
        `${(c95 * 1000).toFixed(1)} µs vs ${TARGET_MS} ms: ${c95 < TARGET_MS ? 'met' : 'missed'}`,
        `${human(u95)} ms vs ${TARGET_MS} ms: ${u95 < TARGET_MS ? 'met' : 'missed'}`,
      ]);
    });
    return [
      preamble('npm run bench -- db-query-cache', runs),
      `Table: ${ROWS.toLocaleString('en')} rows built with generate_series (no index; the query reads one experiment's 100K rows and computes count, mean and percentile_cont(0.95) per variant). Uncached: ${UNCACHED_SAMPLES} sequential \`query()\` calls per run. Cached: ${CACHED_SAMPLES} sequential \`cachedQuery()\` hits per run from the tiered cache's memory tier (statement parse memoised, key hashed, L1 read). The seed's target is p95 < ${TARGET_MS} ms for a cached query. PostgreSQL when DATABASE_URL is set, else in-memory PGlite.`,
      '',
      table(
        [
          'backend',
          'uncached p50 / p95',
          'cached hit p50 / p95',
          'speed-up (p50)',
          'cached p95 vs target',
          'uncached p95 vs target',
        ],
        rows,
      ),
    ].join('\n');
  },
};

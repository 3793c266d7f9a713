/**
 * GET /v1/experiments/:id/results over 1M events on PostgreSQL: the full aggregation (counts,
 * means, variances, three percentiles per metric, the feedback join) every time, against the
 * results service served from the query cache (the tiered cache's memory tier), same run.
 */
import { createResultsService, RESULTS_SQL } from '../../src/platform/analytics/index.ts';
import { withProductSchema } from '../lib/experiments-db.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const EVENTS = 1_000_000;
const UNCACHED = 10;
const CACHED = 5000;

function p95(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] ?? Number.NaN;
}

const SEED = `
INSERT INTO experiment_events (response_id, experiment_id, variant, unit, sticky, created_at, model,
  status, error_code, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost_usd, cache_hit,
  fallback, fallback_model, stream)
SELECT 'r' || g, 'exp_bench', CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END,
       'u' || (g % 100000), true, now() - (g || ' ms')::interval, 'mock/fast',
       CASE WHEN g % 50 = 0 THEN 502 ELSE 200 END, NULL, 20 + random() * 80,
       CASE WHEN g % 3 = 0 THEN 5 + random() * 10 END, 12, 40, 0.0000172 * (1 + random()),
       g % 10 = 0, false, NULL, g % 3 = 0
  FROM generate_series(1, ${EVENTS}) AS g`;

export const scenario: Scenario = {
  id: 'experiments-results',
  title: 'Experiment results over 1M events: uncached vs query cache',
  async run({ runs, log }) {
    const uncachedP95: number[] = [];
    const cachedP95: number[] = [];
    await withProductSchema(async (db) => {
      log('  seeding 1M events ...');
      await db.query(SEED);
      await db.query(
        `INSERT INTO experiment_feedback (response_id, experiment_id, score)
         SELECT 'r' || g, 'exp_bench', random() FROM generate_series(1, ${EVENTS}, 10) AS g`,
      );
      await db.query('ANALYZE experiment_events');
      await db.query('ANALYZE experiment_feedback');
      const service = createResultsService({ db, minIntervalMs: 0 });
      const experiment = {
        id: 'exp_bench',
        name: 'bench',
        status: 'running',
        version: 1,
        variants: [
          { name: 'control', weight: 1 },
          { name: 'treatment', weight: 1 },
        ],
      };
      await db.query(RESULTS_SQL, ['exp_bench']); // warm the buffer cache
      for (let r = 0; r < runs; r++) {
        const slow: number[] = [];
        for (let i = 0; i < UNCACHED; i++) {
          const t = performance.now();
          await db.query(RESULTS_SQL, ['exp_bench']);
          slow.push(performance.now() - t);
        }
        await service.results(experiment); // fills the query cache
        const fast: number[] = [];
        for (let i = 0; i < CACHED; i++) {
          const t = performance.now();
          const { source } = await service.results(experiment);
          fast.push(performance.now() - t);
          if (source !== 'query-cache') throw new Error(`expected a query-cache hit, got ${source}`);
        }
        uncachedP95.push(p95(slow));
        cachedP95.push(p95(fast));
        log(
          `  run ${r + 1}/${runs}: uncached p95 ${human(uncachedP95.at(-1)!)} ms, cached p95 ${cachedP95.at(-1)!.toFixed(3)} ms`,
        );
      }
    });
    const u = median(uncachedP95);
    const c = median(cachedP95);
    return [
      preamble('DATABASE_URL=postgres://... npm run bench -- experiments-results', runs),
      `${human(EVENTS)} events in one experiment (two variants, 10% cache hits, 2% errors, feedback on 10%). Uncached: ${UNCACHED} full aggregations (\`RESULTS_SQL\`) per run. Cached: ${CACHED} calls of the results service (statistics included) answered from the query cache.`,
      '',
      table(
        ['path', 'p95 ms', 'speed-up'],
        [
          ['uncached aggregation in PostgreSQL', human(u), '1.00×'],
          ['results service, query-cache hit', c.toFixed(3), ratio(u, c)],
        ],
      ),
    ].join('\n');
  },
};

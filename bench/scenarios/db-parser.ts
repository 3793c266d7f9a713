/**
 * The cost of finding a statement's tables with libpg-query: the first time (parse, walk,
 * normalise, fingerprint) and memoised (a map lookup), per statement shape.
 */
import { bench, do_not_optimize, run } from 'mitata';
import { analyzeStatement, analyzeStatementUncached, loadParser } from '../../src/perf/db/index.ts';
import { median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const STATEMENTS: Record<string, string> = {
  'simple SELECT': 'SELECT id, name FROM experiments WHERE id = $1',
  INSERT:
    'INSERT INTO experiment_events (response_id, experiment_id, variant, latency_ms) VALUES ($1, $2, $3, $4)',
  'CTE + join + subquery': `WITH recent AS (SELECT * FROM experiment_events WHERE created_at > now() - interval '1 day')
    SELECT e.name, r.variant, count(*), avg(r.latency_ms) FROM recent r JOIN experiments e ON e.id = r.experiment_id
    WHERE r.experiment_id IN (SELECT id FROM experiments WHERE status = 'running') GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 100`,
};

export const scenario: Scenario = {
  id: 'db-parser',
  title: 'Database: statement analysis (libpg-query) first time vs memoised',
  async run({ runs, log }) {
    await loadParser();
    const samples = new Map<string, number[]>();
    for (let r = 0; r < runs; r++) {
      for (const [name, sql] of Object.entries(STATEMENTS)) {
        analyzeStatement(sql);
        bench(`${name} first`, () => do_not_optimize(analyzeStatementUncached(sql)));
        bench(`${name} memoised`, () => do_not_optimize(analyzeStatement(sql)));
      }
      const result = await run({ format: 'quiet', throw: true });
      for (const b of result.benchmarks) {
        samples.set(b.alias, [...(samples.get(b.alias) ?? []), b.runs[0]?.stats?.avg ?? Number.NaN]);
      }
      log(
        `  run ${r + 1}/${runs}: ${[...samples].map(([n, v]) => `${n} ${(v.at(-1)! / 1000).toFixed(2)} µs`).join(', ')}`,
      );
    }
    const rows = Object.keys(STATEMENTS).map((name) => {
      const first = median(samples.get(`${name} first`) ?? []);
      const memo = median(samples.get(`${name} memoised`) ?? []);
      return [name, `${(first / 1000).toFixed(1)} µs`, `${memo.toFixed(0)} ns`, ratio(first, memo)];
    });
    return [
      preamble('npm run bench -- db-parser', runs),
      'mitata, one call per iteration. "First" parses with libpg-query (WebAssembly), walks the tree for tables, normalises and fingerprints; "memoised" is the lookup every later call of the same text pays (LRU of 5,000 statements).',
      '',
      table(['statement', 'first time', 'memoised', 'first / memoised'], rows),
    ].join('\n');
  },
};

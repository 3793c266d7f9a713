/**
 * Results through the query cache. The aggregation is a cachedQuery, so it is tagged with the
 * events and feedback tables and dropped whenever a batch of events or a feedback is written (on
 * every instance). Under heavy write load that would mean recomputing on nearly every request, so
 * a small per-process memo serves a computed document for `minIntervalMs` first: results are at
 * most that much behind, and each instance recomputes at most once per interval.
 */
import { type AggregateRow, fromRow, RESULTS_SQL } from './aggregate.ts';
import { buildResults, type ExperimentInfo, type Results } from './results.ts';

/** The part of the database layer (src/perf/db) this module uses. */
export interface CachedSql {
  cachedQuery(
    sql: string,
    params?: readonly unknown[],
    options?: { ttl?: number; tags?: string[] },
  ): Promise<{ rows: object[]; cached: boolean }>;
}

export interface ResultsServiceOptions {
  db: CachedSql;
  /** A computed document is served this long before the query cache is asked again. @default 2000 */
  minIntervalMs?: number;
  /** TTL of the cached aggregation when no write invalidates it. @default 60000 */
  ttlMs?: number;
}

/** Where a results document came from: the memo, the query cache, or a fresh aggregation. */
export type ResultsSource = 'memo' | 'query-cache' | 'computed';

export interface ResultsService {
  results(
    experiment: ExperimentInfo & { version?: number },
  ): Promise<{ results: Results; source: ResultsSource }>;
}

const MEMO_MAX = 1000;

export function createResultsService(options: ResultsServiceOptions): ResultsService {
  const minInterval = options.minIntervalMs ?? 2000;
  const ttl = options.ttlMs ?? 60_000;
  const memo = new Map<string, { at: number; results: Results }>();
  return {
    async results(experiment) {
      // The version is part of the key: a weight change alters the SRM test at once.
      const key = `${experiment.id}:${experiment.version ?? 0}:${experiment.status}`;
      const hit = memo.get(key);
      if (hit !== undefined && Date.now() - hit.at < minInterval)
        return { results: hit.results, source: 'memo' };
      const r = await options.db.cachedQuery(RESULTS_SQL, [experiment.id], {
        ttl,
        tags: [`experiment:${experiment.id}`],
      });
      const results = buildResults(experiment, (r.rows as AggregateRow[]).map(fromRow));
      memo.delete(key);
      memo.set(key, { at: Date.now(), results });
      if (memo.size > MEMO_MAX) memo.delete(memo.keys().next().value!);
      return { results, source: r.cached ? 'query-cache' : 'computed' };
    },
  };
}

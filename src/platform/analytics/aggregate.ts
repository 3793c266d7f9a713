/**
 * Per-variant figures of an experiment, computed by PostgreSQL in one pass over its events: counts,
 * sums, means, sample variances and percentiles. Only these summaries leave the database; the
 * tests in stats/ need nothing more.
 */

/** The part of the database layer (src/perf/db) this module uses. */
export interface SqlClient {
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>;
}

export interface VariantAggregate {
  variant: string;
  requests: number;
  errors: number;
  cacheHits: number;
  fallbacks: number;
  unsticky: number;
  /** Successful requests that were neither cache hits nor fallbacks: the latency and cost population. */
  clean: number;
  latency: {
    mean: number | null;
    variance: number | null;
    p50: number | null;
    p95: number | null;
    p99: number | null;
  };
  ttft: { n: number; mean: number | null; p50: number | null; p95: number | null; p99: number | null };
  promptTokens: number;
  completionTokens: number;
  cost: { total: number | null; n: number; mean: number | null; variance: number | null };
  feedback: { n: number; mean: number | null; variance: number | null; labels: number };
}

// "clean": served successfully, not from the cache, not by a fallback model. The comparison of
// latency and cost uses only these, so a cache or a fallback cannot fake a winner.
const CLEAN = 'e.status < 400 AND NOT e.cache_hit AND NOT e.fallback';

export const RESULTS_SQL = `
SELECT e.variant,
       count(*)::float8                                            AS requests,
       count(*) FILTER (WHERE e.status >= 400)::float8             AS errors,
       count(*) FILTER (WHERE e.cache_hit)::float8                 AS cache_hits,
       count(*) FILTER (WHERE e.fallback)::float8                  AS fallbacks,
       count(*) FILTER (WHERE NOT e.sticky)::float8                AS unsticky,
       count(*) FILTER (WHERE ${CLEAN})::float8                    AS clean,
       avg(e.latency_ms) FILTER (WHERE ${CLEAN})                   AS latency_mean,
       var_samp(e.latency_ms) FILTER (WHERE ${CLEAN})              AS latency_var,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY e.latency_ms)
         FILTER (WHERE ${CLEAN})                                   AS latency_pct,
       count(e.ttft_ms) FILTER (WHERE ${CLEAN})::float8            AS ttft_n,
       avg(e.ttft_ms) FILTER (WHERE ${CLEAN})                      AS ttft_mean,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY e.ttft_ms)
         FILTER (WHERE ${CLEAN} AND e.ttft_ms IS NOT NULL)         AS ttft_pct,
       coalesce(sum(e.prompt_tokens), 0)::float8                   AS prompt_tokens,
       coalesce(sum(e.completion_tokens), 0)::float8               AS completion_tokens,
       sum(e.cost_usd)                                             AS cost_total,
       count(e.cost_usd) FILTER (WHERE ${CLEAN})::float8           AS cost_n,
       avg(e.cost_usd) FILTER (WHERE ${CLEAN})                     AS cost_mean,
       var_samp(e.cost_usd) FILTER (WHERE ${CLEAN})                AS cost_var,
       count(f.score)::float8                                      AS feedback_n,
       avg(f.score)                                                AS feedback_mean,
       var_samp(f.score)                                           AS feedback_var,
       count(f.label)::float8                                      AS labels
  FROM experiment_events e
  LEFT JOIN experiment_feedback f ON f.response_id = e.response_id
 WHERE e.experiment_id = $1
 GROUP BY e.variant`;

export interface AggregateRow {
  variant: string;
  [column: string]: unknown;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function pct(v: unknown): [number | null, number | null, number | null] {
  if (v === null || v === undefined) return [null, null, null];
  // pg parses float8[]; PGlite may hand back the array literal as text.
  const arr = Array.isArray(v) ? v : String(v).replace(/[{}]/g, '').split(',');
  return [num(arr[0]), num(arr[1]), num(arr[2])];
}

export function fromRow(r: AggregateRow): VariantAggregate {
  const [l50, l95, l99] = pct(r.latency_pct);
  const [t50, t95, t99] = pct(r.ttft_pct);
  return {
    variant: r.variant,
    requests: int(r.requests),
    errors: int(r.errors),
    cacheHits: int(r.cache_hits),
    fallbacks: int(r.fallbacks),
    unsticky: int(r.unsticky),
    clean: int(r.clean),
    latency: { mean: num(r.latency_mean), variance: num(r.latency_var), p50: l50, p95: l95, p99: l99 },
    ttft: { n: int(r.ttft_n), mean: num(r.ttft_mean), p50: t50, p95: t95, p99: t99 },
    promptTokens: int(r.prompt_tokens),
    completionTokens: int(r.completion_tokens),
    cost: { total: num(r.cost_total), n: int(r.cost_n), mean: num(r.cost_mean), variance: num(r.cost_var) },
    feedback: {
      n: int(r.feedback_n),
      mean: num(r.feedback_mean),
      variance: num(r.feedback_var),
      labels: int(r.labels),
    },
  };
}

export function emptyAggregate(variant: string): VariantAggregate {
  return fromRow({ variant });
}

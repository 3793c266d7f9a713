/**
 * The seed's targets against what was measured over the window: the body of
 * GET /health/performance. Each target is ok, degraded (missed) or failing (missed by far); the
 * overall status is the worst of them. A target with too little data to judge is `no_data` and
 * counts as ok.
 */
import { MIN_LOOKUPS, MIN_REQUESTS } from './alert-rules.ts';
import type { CacheLayerView, PerformanceSnapshot } from './snapshot.ts';

export type TargetStatus = 'ok' | 'degraded' | 'failing' | 'no_data';
export type HealthStatus = 'ok' | 'degraded' | 'failing';

export interface TargetCheck {
  name: 'response_time_p95' | 'db_query_p95' | 'cache_hit_rate' | 'memory_per_worker' | 'error_rate';
  /** `max`: the value must stay at or below the target; `min`: at or above. */
  kind: 'max' | 'min';
  target: number;
  value: number | null;
  unit: 'ms' | 'ratio' | 'MB';
  status: TargetStatus;
  /** Beyond this the status is failing (null: this target never fails the instance). */
  failingAt: number | null;
  detail: string;
}

export interface PerformanceHealth {
  status: HealthStatus;
  /** ISO time of the measurement. */
  at: string;
  window_s: number;
  checks: TargetCheck[];
}

/** Hit rate of one cache source: hits in any layer over lookups at its first (busiest) layer. */
export function overallHitRate(layers: readonly CacheLayerView[]): { rate: number | null; lookups: number } {
  const bySource = new Map<string, CacheLayerView[]>();
  for (const l of layers) bySource.set(l.source, [...(bySource.get(l.source) ?? []), l]);
  let hits = 0;
  let lookups = 0;
  for (const list of bySource.values()) {
    hits += list.reduce((n, l) => n + l.hits, 0);
    lookups += Math.max(...list.map((l) => l.hits + l.misses));
  }
  return { rate: lookups === 0 ? null : hits / lookups, lookups };
}

function grade(
  kind: 'max' | 'min',
  value: number | null,
  target: number,
  failingAt: number | null,
): TargetStatus {
  if (value === null) return 'no_data';
  const meets = kind === 'max' ? value <= target : value >= target;
  if (meets) return 'ok';
  if (failingAt !== null && (kind === 'max' ? value > failingAt : value < failingAt)) return 'failing';
  return 'degraded';
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

export function evaluateTargets(s: PerformanceSnapshot): PerformanceHealth {
  const t = s.targets;
  const checks: TargetCheck[] = [];
  const add = (c: Omit<TargetCheck, 'status'>) =>
    checks.push({ ...c, status: grade(c.kind, c.value, c.target, c.failingAt) });

  const enough = s.http.count >= MIN_REQUESTS;
  add({
    name: 'response_time_p95',
    kind: 'max',
    target: t.responseTimeMs,
    value: enough ? s.http.p95 : null,
    unit: 'ms',
    failingAt: t.responseTimeMs * 2,
    detail: enough
      ? `p95 of ${s.http.count} requests over the last ${Math.round(s.http.windowMs / 1000)} s`
      : `${s.http.count} requests in the window; at least ${MIN_REQUESTS} needed`,
  });
  const db = s.db;
  const dbEnough = db !== null && db.count >= MIN_REQUESTS;
  add({
    name: 'db_query_p95',
    kind: 'max',
    target: t.dbQueryMs,
    value: dbEnough ? db.p95 : null,
    unit: 'ms',
    failingAt: t.dbQueryMs * 2,
    detail:
      db === null
        ? 'no database timing source'
        : dbEnough
          ? `p95 of ${db.count} statements over the window`
          : `${db.count} statements in the window; at least ${MIN_REQUESTS} needed`,
  });
  const hit = overallHitRate(s.caches);
  add({
    name: 'cache_hit_rate',
    kind: 'min',
    target: t.cacheHitRate,
    value: hit.lookups >= MIN_LOOKUPS && hit.rate !== null ? round(hit.rate) : null,
    unit: 'ratio',
    failingAt: null,
    detail:
      s.caches.length === 0
        ? 'no cache source'
        : `${hit.lookups} lookups over the window (at least ${MIN_LOOKUPS} needed)`,
  });
  add({
    name: 'memory_per_worker',
    kind: 'max',
    target: round(t.memoryMb * 0.8, 1),
    value: s.memory === null ? null : round(s.memory.rssBytes / 1024 / 1024, 1),
    unit: 'MB',
    // Over budget is degraded, not failing: a big working set serves requests fine (the embedded
    // PGlite holds 160 MB and more as its tables grow). Failing starts at twice the budget, where
    // load shedding (LOAD_SHED_RSS_MB) starts by default and an OOM kill gets near.
    failingAt: t.memoryMb * 2,
    detail: `resident memory; degraded from 80% of the ${t.memoryMb} MB budget, failing above twice the budget`,
  });
  add({
    name: 'error_rate',
    kind: 'max',
    target: t.errorRate,
    value: enough ? round(s.http.errorRate, 4) : null,
    unit: 'ratio',
    failingAt: t.errorRate * 5,
    detail: enough
      ? `${s.http.errors} of ${s.http.count} requests answered with 5xx`
      : 'too few requests to judge',
  });
  const status: HealthStatus = checks.some((c) => c.status === 'failing')
    ? 'failing'
    : checks.some((c) => c.status === 'degraded')
      ? 'degraded'
      : 'ok';
  return { status, at: new Date(s.at).toISOString(), window_s: Math.round(s.windowMs / 1000), checks };
}

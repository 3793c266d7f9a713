/**
 * Recommendation rules: each a pure function of a snapshot of live figures that says what to
 * change and why, or nothing when the figures are healthy. They never act; operators (or the
 * admin actions) do.
 */

import { MIN_LOOKUPS, MIN_REQUESTS } from './alert-rules.ts';
import type { Severity } from './alerts.ts';
import type { PerformanceSnapshot } from './snapshot.ts';

export interface Recommendation {
  /** Rule id (+ ':' + subject when a rule speaks about several things). */
  id: string;
  rule: string;
  severity: Severity;
  /** What to change, concretely: the setting and the value. */
  change: string;
  /** Why, with the figures that led to it. */
  why: string;
  evidence: Record<string, number | string | null>;
}

export interface RecommendationRule {
  id: string;
  summary: string;
  evaluate(s: PerformanceSnapshot): Recommendation[];
}

/** Evictions per insert above which a low hit rate means "too small" rather than "expires too soon". */
export const EVICTION_SHARE = 0.1;
/** Breaker openings within the window that count as flapping. */
export const FLAPPING_OPENINGS = 3;
export const FLAPPING_WINDOW_MS = 10 * 60_000;

const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

function lowHitLayers(s: PerformanceSnapshot) {
  return s.caches.filter(
    (c) => c.hits + c.misses >= MIN_LOOKUPS && c.hitRate !== null && c.hitRate < s.targets.cacheHitRate,
  );
}

function evictionShare(c: { evictions: number; sets: number; misses: number }): number {
  const inserts = c.sets > 0 ? c.sets : c.misses;
  return inserts === 0 ? 0 : c.evictions / inserts;
}

export const RECOMMENDATION_RULES: readonly RecommendationRule[] = [
  {
    id: 'cache_too_small',
    summary: 'Low hit rate with many evictions: the cache is too small for the working set.',
    evaluate: (s) =>
      lowHitLayers(s)
        .filter((c) => evictionShare(c) >= EVICTION_SHARE)
        .map((c) => {
          const memory = c.layer === 'memory' || c.layer === 'l1';
          const next = c.maxSize !== null ? c.maxSize * 2 : null;
          return {
            id: `cache_too_small:${c.source}/${c.layer}`,
            rule: 'cache_too_small',
            severity: 'warning',
            change: memory
              ? `raise CACHE_MEMORY_MAX_SIZE${c.maxSize !== null ? ` from ${c.maxSize} to ${next}` : ''}`
              : `give the ${c.layer} layer more room${c.maxSize !== null ? ` (from ${c.maxSize} to ${next} entries)` : ''}`,
            why: `the ${c.source}/${c.layer} hit rate is ${pct(c.hitRate!)} (target ${pct(s.targets.cacheHitRate)}) and ${pct(evictionShare(c))} of inserts evict another entry: entries are pushed out before they are reused`,
            evidence: { hitRate: c.hitRate, evictions: c.evictions, sets: c.sets, maxSize: c.maxSize },
          };
        }),
  },
  {
    id: 'cache_ttl_too_short',
    summary: 'Low hit rate with few evictions: entries expire before they are reused.',
    evaluate: (s) =>
      lowHitLayers(s)
        .filter((c) => evictionShare(c) < EVICTION_SHARE)
        .map((c) => ({
          id: `cache_ttl_too_short:${c.source}/${c.layer}`,
          rule: 'cache_ttl_too_short',
          severity: 'info',
          change: `lengthen the TTL of ${c.source}/${c.layer}${c.ttlMs !== null ? ` (now ${Math.round(c.ttlMs / 1000)} s; try ${Math.round((c.ttlMs * 2) / 1000)} s) for data that changes rarely` : ' for data that changes rarely'}`,
          why: `the hit rate is ${pct(c.hitRate!)} (target ${pct(s.targets.cacheHitRate)}) yet only ${pct(evictionShare(c))} of inserts evict: the cache has room, so misses are expiries or first reads`,
          evidence: { hitRate: c.hitRate, evictions: c.evictions, sets: c.sets, ttlMs: c.ttlMs },
        })),
  },
  {
    id: 'db_pool_too_small',
    summary: 'Queries wait for a database connection.',
    evaluate: (s) => {
      const p = s.dbPool;
      if (p === null || (p.waiting === 0 && (p.timeouts ?? 0) === 0 && (p.waitMs ?? 0) < 10)) return [];
      const next = Math.min(p.max * 2, p.max + 20);
      return [
        {
          id: 'db_pool_too_small',
          rule: 'db_pool_too_small',
          severity: (p.timeouts ?? 0) > 0 ? 'critical' : 'warning',
          change: `raise DATABASE_POOL_SIZE (pool max ${p.max} now; try ${next}), within PostgreSQL's max_connections for all workers`,
          why: `${p.waiting} queries are waiting for a connection (${p.inUse}/${p.max} in use${p.waitMs !== undefined ? `, waits up to ${Math.round(p.waitMs)} ms` : ''}${p.timeouts ? `, ${p.timeouts} timed out` : ''})`,
          evidence: {
            waiting: p.waiting,
            inUse: p.inUse,
            max: p.max,
            waitMs: p.waitMs ?? null,
            timeouts: p.timeouts ?? 0,
          },
        },
      ];
    },
  },
  {
    id: 'object_pool_too_small',
    summary: 'Borrowers wait for an object pool.',
    evaluate: (s) =>
      s.pools
        .filter((p) => p.kind === 'object' && (p.waiting > 0 || p.timeouts > 0))
        .map((p) => ({
          id: `object_pool_too_small:${p.name}`,
          rule: 'object_pool_too_small',
          severity: p.timeouts > 0 ? 'warning' : 'info',
          change: `raise max of pool ${p.name} from ${p.max} to ${p.max * 2}`,
          why: `${p.waiting} borrowers are waiting with all ${p.max} objects lent (longest wait ${Math.round(p.waitMs)} ms, ${p.timeouts} timeouts)`,
          evidence: { waiting: p.waiting, max: p.max, waitMs: p.waitMs, timeouts: p.timeouts },
        })),
  },
  {
    id: 'slow_query_index',
    summary: 'A slow statement reads a table with a sequential scan.',
    evaluate: (s) =>
      s.slowQueries
        .filter((q) => q.suggestedIndex !== undefined || (q.seqScanTables?.length ?? 0) > 0)
        .map((q) => ({
          id: `slow_query_index:${q.statement.slice(0, 80)}`,
          rule: 'slow_query_index',
          severity: 'warning',
          change:
            q.suggestedIndex !== undefined
              ? `create the index: ${q.suggestedIndex}`
              : `add an index on the filtered columns of ${q.seqScanTables!.join(', ')}`,
          why: `\`${q.statement.slice(0, 200)}\` takes ${Math.round(q.meanMs)} ms on average over ${q.count} runs and scans ${q.seqScanTables?.join(', ') ?? 'a table'} sequentially`,
          evidence: { statement: q.statement.slice(0, 200), meanMs: q.meanMs, count: q.count },
        })),
  },
  {
    id: 'breaker_flapping',
    summary: 'A circuit breaker keeps opening and closing.',
    evaluate: (s) =>
      s.breakers.flatMap((b) => {
        const openings = b.transitions.filter(
          (t) => t.to === 'open' && s.at - t.at <= FLAPPING_WINDOW_MS,
        ).length;
        if (openings < FLAPPING_OPENINGS) return [];
        return [
          {
            id: `breaker_flapping:${b.name}`,
            rule: 'breaker_flapping',
            severity: 'warning',
            change: `for breaker ${b.name}: raise the failure threshold or sampling window, and lengthen the half-open delay (exponential backoff), or fix the upstream`,
            why: `it opened ${openings} times in the last ${FLAPPING_WINDOW_MS / 60_000} min: each probe succeeds, lets traffic back, and the upstream fails again`,
            evidence: { openings, state: b.state },
          },
        ];
      }),
  },
  {
    id: 'memory_leak',
    summary: 'The heap that survives GC keeps rising.',
    evaluate: (s) => {
      const leak = s.memory?.leak;
      if (leak === undefined || !leak.suspected) return [];
      return [
        {
          id: 'memory_leak',
          rule: 'memory_leak',
          severity: 'warning',
          change:
            'take two heap snapshots a few minutes apart (POST /admin/performance/actions/heap-snapshot) and compare the retained objects',
          why: `likely leak: ${leak.reason}`,
          evidence: { slopeBytesPerMinute: leak.slopeBytesPerMinute, confidence: leak.confidence },
        },
      ];
    },
  },
  {
    id: 'memory_budget',
    summary: 'Memory near or over the budget without a leak.',
    evaluate: (s) => {
      const m = s.memory;
      if (m === null || m.leak.suspected || m.budget.ratio < 0.8) return [];
      return [
        {
          id: 'memory_budget',
          rule: 'memory_budget',
          severity: m.budget.ratio >= 1 ? 'critical' : 'warning',
          change: `lower CACHE_MEMORY_MAX_SIZE or raise TARGET_MEMORY_USAGE_MB (and the container limit) above ${mb(m.budget.usedBytes * 1.25)}`,
          why: `resident memory is ${mb(m.budget.usedBytes)}, ${pct(m.budget.ratio)} of the ${mb(m.budget.budgetBytes)} budget, and it is not growing like a leak: the working set is simply this large`,
          evidence: { rssBytes: m.budget.usedBytes, ratio: m.budget.ratio },
        },
      ];
    },
  },
  {
    id: 'cpu_bound',
    summary: 'Slow responses while the event loop is blocked: the process is CPU-bound.',
    evaluate: (s) => {
      const m = s.memory;
      if (m === null || s.http.count < MIN_REQUESTS || s.http.p95 <= s.targets.responseTimeMs) return [];
      if (m.eventLoop.p99Ms < 50) return [];
      return [
        {
          id: 'cpu_bound',
          rule: 'cpu_bound',
          severity: 'warning',
          change:
            'run more workers (raise WEB_CONCURRENCY up to the CPU count) or move heavy work off the request path',
          why: `p95 is ${s.http.p95} ms (target ${s.targets.responseTimeMs} ms) while the event loop waits ${Math.round(m.eventLoop.p99Ms)} ms at p99: requests queue behind CPU work`,
          evidence: { p95: s.http.p95, eventLoopP99Ms: m.eventLoop.p99Ms },
        },
      ];
    },
  },
];

export function recommend(
  s: PerformanceSnapshot,
  rules: readonly RecommendationRule[] = RECOMMENDATION_RULES,
): Recommendation[] {
  return rules.flatMap((r) => r.evaluate(s));
}

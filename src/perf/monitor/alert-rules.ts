/** The built-in alert rules (docs/monitoring.md lists them with the same ids). */
import type { AlertCheck, AlertRule } from './alerts.ts';

/** Fewer requests than this in the window say nothing about percentiles. */
export const MIN_REQUESTS = 20;
/** Fewer cache lookups than this in the window say nothing about the hit rate. */
export const MIN_LOOKUPS = 100;

const pct = (n: number) => `${(n * 100).toFixed(1)}%`;
const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

export const ALERT_RULES: readonly AlertRule[] = [
  {
    id: 'response_time_p95',
    severity: 'warning',
    summary: 'p95 response time above TARGET_RESPONSE_TIME_MS for 2 minutes.',
    forMs: 120_000,
    check: (s) => ({
      active: s.http1m.count >= MIN_REQUESTS && s.http1m.p95 > s.targets.responseTimeMs,
      value: s.http1m.count > 0 ? s.http1m.p95 : null,
      threshold: s.targets.responseTimeMs,
      message: `p95 response time ${s.http1m.p95} ms over the last minute, target ${s.targets.responseTimeMs} ms`,
    }),
  },
  {
    id: 'error_rate',
    severity: 'critical',
    summary: 'More than the target share of requests answered with 5xx for 1 minute.',
    forMs: 60_000,
    check: (s) => ({
      active: s.http1m.count >= MIN_REQUESTS && s.http1m.errorRate > s.targets.errorRate,
      value: s.http1m.count > 0 ? s.http1m.errorRate : null,
      threshold: s.targets.errorRate,
      message: `${pct(s.http1m.errorRate)} of requests failed with 5xx over the last minute, target at most ${pct(s.targets.errorRate)}`,
    }),
  },
  {
    id: 'db_query_p95',
    severity: 'warning',
    summary: 'p95 database query time above its 50 ms target for 2 minutes.',
    forMs: 120_000,
    check: (s) => ({
      active: s.db !== null && s.db.count >= MIN_REQUESTS && s.db.p95 > s.targets.dbQueryMs,
      value: s.db?.p95 ?? null,
      threshold: s.targets.dbQueryMs,
      message: `p95 database query time ${s.db?.p95 ?? 0} ms, target ${s.targets.dbQueryMs} ms`,
    }),
  },
  {
    id: 'cache_hit_rate',
    severity: 'warning',
    summary: 'A cache layer hits less often than TARGET_CACHE_HIT_RATE for 5 minutes.',
    forMs: 300_000,
    check: (s) => {
      const out = new Map<string, AlertCheck>();
      for (const c of s.caches) {
        const lookups = c.hits + c.misses;
        out.set(`${c.source}/${c.layer}`, {
          active: lookups >= MIN_LOOKUPS && c.hitRate !== null && c.hitRate < s.targets.cacheHitRate,
          value: c.hitRate,
          threshold: s.targets.cacheHitRate,
          message: `cache ${c.source}/${c.layer} hit rate ${pct(c.hitRate ?? 0)} over ${lookups} lookups, target ${pct(s.targets.cacheHitRate)}`,
        });
      }
      return out;
    },
  },
  {
    id: 'memory_budget',
    severity: 'warning',
    summary: 'Resident memory above 80% of TARGET_MEMORY_USAGE_MB.',
    forMs: 0,
    check: (s) => ({
      active: s.memory !== null && s.memory.budget.ratio >= 0.8,
      value: s.memory?.budget.usedBytes ?? null,
      threshold: (s.memory?.budget.budgetBytes ?? 0) * 0.8,
      message: `resident memory ${mb(s.memory?.budget.usedBytes ?? 0)} is ${pct(s.memory?.budget.ratio ?? 0)} of the ${mb(s.memory?.budget.budgetBytes ?? 0)} budget`,
    }),
  },
  {
    id: 'memory_leak',
    severity: 'warning',
    summary: 'The heap that survives garbage collection rises steadily (a likely leak).',
    forMs: 0,
    check: (s) => ({
      active: s.memory?.leak.suspected === true,
      value: s.memory?.leak.slopeBytesPerMinute ?? null,
      threshold: 0,
      message: s.memory?.leak.reason ?? 'memory monitor off',
    }),
  },
  {
    id: 'event_loop_delay',
    severity: 'warning',
    summary: 'Event-loop delay p99 above 100 ms for 1 minute (CPU-bound or blocking work).',
    forMs: 60_000,
    check: (s) => ({
      active: s.memory !== null && s.memory.eventLoop.p99Ms > 100,
      value: s.memory?.eventLoop.p99Ms ?? null,
      threshold: 100,
      message: `event-loop delay p99 ${Math.round(s.memory?.eventLoop.p99Ms ?? 0)} ms`,
    }),
  },
  {
    id: 'breaker_open',
    severity: 'critical',
    summary: 'A circuit breaker is open: calls to that service fail fast.',
    forMs: 0,
    check: (s) =>
      new Map(
        s.breakers.map((b) => [
          b.name,
          {
            active: b.state === 'open',
            value: b.state === 'open' ? 2 : b.state === 'half-open' ? 1 : 0,
            threshold: 2,
            message: `circuit breaker ${b.name} is ${b.state}`,
          },
        ]),
      ),
  },
  {
    id: 'pool_waiting',
    severity: 'warning',
    summary: 'Borrowers have been waiting for a pool (object or database) for 1 minute.',
    forMs: 60_000,
    check: (s) =>
      new Map(
        s.pools.map((p) => [
          p.name,
          {
            active: p.waiting > 0,
            value: p.waiting,
            threshold: 0,
            message: `${p.waiting} borrowers waiting for pool ${p.name} (${p.inUse}/${p.max} in use)`,
          },
        ]),
      ),
  },
];

/**
 * Small adapters from the toolkit's parts to the monitor's source interfaces. Types only: the
 * monitor never loads a part that the server did not build.
 */
import type { Cache } from '../cache/index.ts';
import type { Database } from '../db/index.ts';
import type { Resilience, Transition } from '../resilience/index.ts';
import type {
  BreakerSource,
  BreakerTransition,
  CacheLayerStats,
  CacheSource,
  DatabaseSource,
  SlowQuery,
} from './sources.ts';

/** The tiered cache: L1 (memory) always, L2 (Redis) when enabled. Stale serves count as hits. */
export function cacheSource(cache: Cache, name = 'cache'): CacheSource {
  return {
    name,
    stats() {
      const s = cache.stats();
      const c = s.counts;
      const layers: CacheLayerStats[] = [
        {
          layer: 'memory',
          hits: c.l1Hits + c.l1Stale,
          misses: c.l1Misses,
          evictions: c.evictions,
          sets: c.sets,
          size: s.l1.entries,
          maxSize: s.l1.maxEntries,
        },
      ];
      if (s.l2.enabled)
        layers.push({ layer: 'redis', hits: c.l2Hits, misses: c.l2Misses, errors: c.l2Errors });
      return layers;
    },
  };
}

/** Keeps the last `max` breaker transitions per service, fed from createResilience's onTransition. */
export function createTransitionLog(max = 50, now: () => number = Date.now) {
  const log = new Map<string, BreakerTransition[]>();
  return {
    record(t: Transition): void {
      const list = log.get(t.service) ?? [];
      list.push({ from: t.from, to: t.to, at: now() });
      if (list.length > max) list.shift();
      log.set(t.service, list);
    },
    of: (service: string): BreakerTransition[] => log.get(service) ?? [],
  };
}

export type TransitionLog = ReturnType<typeof createTransitionLog>;

export function breakerSource(resilience: Resilience, transitions: TransitionLog): BreakerSource {
  return {
    states: () =>
      resilience
        .status()
        .map((s) => ({ name: s.service, state: s.state, transitions: [...transitions.of(s.service)] })),
    reset: (name) => {
      resilience.reset(name);
    },
  };
}

/** Upper bound (ms) under which `share` of the counted waits fall; 0 when nothing waited. */
function waitQuantile(histogram: { le: number | '+Inf'; count: number }[], share: number): number {
  const total = histogram.reduce((n, b) => n + b.count, 0);
  if (total === 0) return 0;
  let seen = 0;
  let last = 0;
  for (const b of histogram) {
    seen += b.count;
    if (b.le !== '+Inf') last = b.le;
    if (seen >= total * share) return b.le === '+Inf' ? last : b.le;
  }
  return last;
}

/**
 * The database layer: pool figures, and its slow statements with the index the plan analyser
 * suggests. Statement counts and means come from its per-statement stats.
 */
export function databaseSource(db: Database, name = 'database'): DatabaseSource {
  return {
    name,
    stats() {
      const { pool } = db.stats();
      const byFingerprint = new Map(db.worstStatements(100).map((s) => [s.fingerprint, s]));
      const seen = new Set<string>();
      const slowQueries: SlowQuery[] = [];
      for (const r of [...db.slowQueries()].reverse()) {
        if (seen.has(r.fingerprint)) continue;
        seen.add(r.fingerprint);
        const stats = byFingerprint.get(r.fingerprint);
        const index = r.suggestions.find((x) => x.kind === 'index');
        slowQueries.push({
          statement: r.statement,
          count: stats?.count ?? 1,
          meanMs: stats?.meanMs ?? r.durationMs,
          maxMs: stats?.maxMs ?? r.durationMs,
          ...(index !== undefined ? { seqScanTables: [index.table], suggestedIndex: index.sql } : {}),
        });
      }
      return {
        pool: {
          size: pool.total,
          max: pool.size + pool.maxOverflow,
          idle: pool.idle,
          inUse: pool.inUse,
          waiting: pool.waiting,
          // Since start: the pool keeps cumulative wait counts.
          waitMs: waitQuantile(pool.waitHistogram, 0.95),
          timeouts: pool.timeouts,
        },
        slowQueries: slowQueries.slice(0, 20),
      };
    },
  };
}

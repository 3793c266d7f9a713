/**
 * Small adapters from the toolkit's parts to the monitor's source interfaces. Types only: the
 * monitor never loads a part that the server did not build.
 */
import type { Cache } from '../cache/index.ts';
import type { Resilience, Transition } from '../resilience/index.ts';
import type { BreakerSource, BreakerTransition, CacheLayerStats, CacheSource } from './sources.ts';

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
    clearExpired: () => cache.purgeExpired(),
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

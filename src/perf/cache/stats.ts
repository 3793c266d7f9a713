/** stats(): the cache's counts and state as one plain object. */
import {
  type Counts,
  FACTORY_ERROR,
  FACTORY_OK,
  FACTORY_TIMEOUT,
  L1_DELETE,
  L1_EVICT,
  L1_HIT,
  L1_MISS,
  L1_SET,
  L1_STALE,
  L2_CLEAR_ERROR,
  L2_DELETE_ERROR,
  L2_GET_ERROR,
  L2_HIT,
  L2_MISS,
  L2_SET_ERROR,
} from './counters.ts';
import type { L1 } from './l1.ts';
import type { Resolved } from './options.ts';
import type { CacheStats } from './types.ts';

export function statsOf(
  o: Resolved,
  l1: L1,
  c: Counts,
  remote: { l2: CacheStats['l2']['breaker']; bus: boolean | 'off' },
): CacheStats {
  const rate = (hits: number, misses: number) => hits / (hits + misses);
  return {
    name: o.name,
    l1: {
      entries: l1.size,
      bytes: o.maxBytes === undefined ? undefined : l1.calculatedSize,
      maxEntries: o.maxEntries,
      maxBytes: o.maxBytes,
    },
    l2: { enabled: remote.l2 !== 'off', breaker: remote.l2 },
    bus: { enabled: remote.bus !== 'off', subscribed: remote.bus === true },
    counts: {
      l1Hits: c[L1_HIT]!,
      l1Misses: c[L1_MISS]!,
      l1Stale: c[L1_STALE]!,
      l2Hits: c[L2_HIT]!,
      l2Misses: c[L2_MISS]!,
      l2Errors: c[L2_GET_ERROR]! + c[L2_SET_ERROR]! + c[L2_DELETE_ERROR]! + c[L2_CLEAR_ERROR]!,
      sets: c[L1_SET]!,
      deletes: c[L1_DELETE]!,
      evictions: c[L1_EVICT]!,
      factoryRuns: c[FACTORY_OK]! + c[FACTORY_ERROR]! + c[FACTORY_TIMEOUT]!,
      factoryErrors: c[FACTORY_ERROR]! + c[FACTORY_TIMEOUT]!,
    },
    hitRate: {
      l1: rate(c[L1_HIT]! + c[L1_STALE]!, c[L1_MISS]!),
      l2: rate(c[L2_HIT]!, c[L2_MISS]!),
      // A read missed overall when it missed L1 and did not hit L2.
      overall: rate(c[L1_HIT]! + c[L1_STALE]! + c[L2_HIT]!, c[L1_MISS]! - c[L2_HIT]!),
    },
  };
}

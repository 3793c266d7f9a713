/** The in-memory tier: an LRU bounded by entries and optionally by estimated bytes. */
import { LRUCache } from 'lru-cache';
import { type Counts, L1_EVICT } from './counters.ts';
import type { Entry } from './entry.ts';

export type L1 = LRUCache<string, Entry>;

export function createL1(
  maxEntries: number,
  maxBytes: number | undefined,
  sizeOf: (value: unknown) => number,
  counts: Counts,
): L1 {
  // No lru-cache ttl: expiry lives in the entry (fresh / stale / gone), checked on read, so the
  // hit path reads one clock value and lru-cache keeps no per-entry timers or start times.
  return new LRUCache<string, Entry>({
    max: maxEntries,
    ...(maxBytes === undefined
      ? {}
      : { maxSize: maxBytes, sizeCalculation: (e: Entry) => Math.max(1, Math.ceil(sizeOf(e.value))) }),
    disposeAfter: (_e: Entry, _k: string, reason: LRUCache.DisposeReason) => {
      if (reason === 'evict') counts[L1_EVICT]!++;
    },
  });
}

/** Deletes every key with one of the prefixes; returns how many were removed. */
export function deletePrefixed(l1: L1, prefixes: readonly string[]): number {
  let n = 0;
  for (const key of [...l1.keys()]) {
    if (prefixes.some((p) => key.startsWith(p))) {
      l1.delete(key);
      n++;
    }
  }
  return n;
}

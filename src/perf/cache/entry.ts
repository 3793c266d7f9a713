/** A cached entry as both tiers hold it, and the clock its timestamps come from. */

export interface Entry {
  value: unknown;
  /** Creation time (clock()): tag invalidations after it apply to this entry. */
  createdAt: number;
  /** Fresh until (epoch ms). */
  expiresAt: number;
  /** Kept, and servable stale within grace, until (epoch ms); after it the entry is gone. */
  staleUntil: number;
  /** Namespace-scoped tag ids, or undefined. */
  tags: readonly string[] | undefined;
  /**
   * The resolved promise L1 hits return, made on the first hit: later hits on the entry
   * allocate nothing.
   */
  p: Promise<unknown> | undefined;
  /** L1's CLOCK bit: used since the eviction hand last passed. */
  seen: boolean;
  /** L1's slot for the entry while it is in L1 (an entry is in L1 under one key at most). */
  slot: number;
}

/** Every entry is built here, so all have one shape and the hit path's property reads stay monomorphic. */
export function newEntry(
  value: unknown,
  createdAt: number,
  expiresAt: number,
  staleUntil: number,
  tags: readonly string[] | undefined,
): Entry {
  return { value, createdAt, expiresAt, staleUntil, tags, p: undefined, seen: false, slot: -1 };
}

let last = 0;

/**
 * Wall-clock milliseconds with sub-millisecond resolution, strictly increasing within the
 * process: an entry written right after a tag invalidation must compare as newer than it, even
 * within the same millisecond.
 */
export function clock(): number {
  let t = performance.timeOrigin + performance.now();
  if (t <= last) t = last + 0.001;
  last = t;
  return t;
}

export function makeEntry(
  value: unknown,
  ttl: number,
  grace: number,
  tags: readonly string[] | undefined,
  /** When the value was made, if before now (a factory's start). @default now */
  createdAt?: number,
): Entry {
  const now = clock();
  const expiresAt = now + ttl;
  return newEntry(value, createdAt ?? now, expiresAt, expiresAt + grace, tags);
}

let coarse = 0;
let budget = 0;
const forget = () => {
  coarse = 0;
};

/**
 * Date.now() for expiry checks, re-read at least every millisecond and every 64 reads: a clock
 * read costs more than the rest of an L1 hit on some virtual machines. A timer forgets the value
 * after 1 ms; the read budget bounds its age when promise chains keep timers from running.
 */
export function readNow(): number {
  if (coarse === 0 || --budget < 0) {
    if (coarse === 0) setTimeout(forget, 1).unref();
    coarse = Date.now();
    budget = 63;
  }
  return coarse;
}

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
): Entry {
  const createdAt = clock();
  const expiresAt = createdAt + ttl;
  return { value, createdAt, expiresAt, staleUntil: expiresAt + grace, tags };
}

/**
 * Deterministic sticky assignment, as GrowthBook and Statsig do it: hash(salt, unit) → bucket in
 * [0, 10,000) → variant by an allocation of buckets to variants.
 *
 * The allocation is stored with the experiment, so every instance and every restart agrees. A
 * weight change moves only as many buckets as the weights require (the total variation distance
 * between old and new weights): variants that shrink give up buckets from their end, variants that
 * grow take exactly those, and every other bucket keeps its variant.
 */

export const BUCKETS = 10_000;

/** A run of buckets [start, end) served by variant `variant` (an index into the variants). */
export type Segment = [start: number, end: number, variant: number];

/** 32-bit FNV-1a over UTF-16 code units, then murmur3's finaliser so nearby ids spread out. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The unit's bucket in [0, BUCKETS). Scaling (not modulo) keeps every bucket equally likely. */
export function bucketOf(salt: string, unit: string): number {
  return Math.floor((hash32(`${salt}\u0000${unit}`) * BUCKETS) / 4294967296);
}

/**
 * Whole bucket counts proportional to the weights, summing to BUCKETS (largest remainder). Returns
 * undefined when a weight is too small to get a single bucket (below 1/10,000 of the total).
 */
export function bucketCounts(weights: number[]): number[] | undefined {
  const total = weights.reduce((a, b) => a + b, 0);
  // Weights whose sum overflows (1e308 + 1e308) would all round to 0 buckets.
  if (!Number.isFinite(total) || total <= 0) return undefined;
  const exact = weights.map((w) => (w / total) * BUCKETS);
  const counts = exact.map(Math.floor);
  let left = BUCKETS - counts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => [e - Math.floor(e), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left === 0) break;
    counts[i]! += 1;
    left--;
  }
  return counts.some((c) => c === 0) ? undefined : counts;
}

/** Contiguous runs in variant order: [0, c0) → 0, [c0, c0 + c1) → 1, ... */
export function initialAllocation(counts: number[]): Segment[] {
  const segments: Segment[] = [];
  let start = 0;
  counts.forEach((count, variant) => {
    segments.push([start, start + count, variant]);
    start += count;
  });
  return segments;
}

/** Buckets per variant under an allocation. */
export function allocationCounts(allocation: Segment[], variants: number): number[] {
  const counts = new Array<number>(variants).fill(0);
  for (const [start, end, v] of allocation) counts[v]! += end - start;
  return counts;
}

/** Moves the fewest buckets needed to reach `target` counts (which must sum to BUCKETS). */
export function rebalance(allocation: Segment[], target: number[]): Segment[] {
  const current = allocationCounts(allocation, target.length);
  const kept: Segment[] = [];
  const freed: Array<[number, number]> = [];
  // Shrinking variants give up buckets from their highest segments first.
  const surplus = current.map((c, v) => Math.max(0, c - target[v]!));
  for (const segment of [...allocation].sort((a, b) => b[0] - a[0])) {
    const [start, end, v] = segment;
    const give = Math.min(surplus[v]!, end - start);
    surplus[v]! -= give;
    if (give < end - start) kept.push([start, end - give, v]);
    if (give > 0) freed.push([end - give, end]);
  }
  freed.sort((a, b) => a[0] - b[0]);
  // Growing variants take the freed runs in order.
  const deficit = current.map((c, v) => Math.max(0, target[v]! - c));
  let v = 0;
  for (let [start, end] of freed) {
    while (start < end) {
      while (deficit[v] === 0) v++;
      const take = Math.min(deficit[v]!, end - start);
      kept.push([start, start + take, v]);
      deficit[v]! -= take;
      start += take;
    }
  }
  return merge(kept);
}

function merge(segments: Segment[]): Segment[] {
  const sorted = segments.filter((s) => s[1] > s[0]).sort((a, b) => a[0] - b[0]);
  const out: Segment[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last !== undefined && last[1] === s[0] && last[2] === s[2]) last[1] = s[1];
    else out.push([s[0], s[1], s[2]]);
  }
  return out;
}

/** The variant index serving `bucket` (binary search over the sorted segments). */
export function variantAt(allocation: Segment[], bucket: number): number {
  let lo = 0;
  let hi = allocation.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end, v] = allocation[mid]!;
    if (bucket < start) hi = mid - 1;
    else if (bucket >= end) lo = mid + 1;
    else return v;
  }
  return 0;
}

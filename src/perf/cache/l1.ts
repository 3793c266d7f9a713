/**
 * The in-memory tier: a Map bounded by entries and optionally by estimated bytes, evicting by
 * CLOCK (second chance). A hit only sets the entry's `seen` bit; order work happens on writes
 * that overflow the bound, which walk from the oldest entry, give seen entries a second chance
 * (bit cleared, moved to the back) and evict the first unseen one.
 *
 * Not lru-cache: its get (options object, status, recency list move) measured about 13 ns per
 * hit more than this, about a third of an L1 hit (docs/cache.md, "L1 eviction").
 */
import { type Counts, L1_EVICT } from './counters.ts';
import type { Entry } from './entry.ts';

export class L1 {
  readonly #map = new Map<string, Entry>();
  /** Estimated bytes per key, kept only when bounded by bytes. */
  readonly #sizes: Map<string, number> | undefined;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (value: unknown) => number;
  readonly #counts: Counts;
  #bytes = 0;
  /**
   * CLOCK's hand, kept from one eviction to the next while writes keep evicting (filling from L2):
   * every entry it passed was deleted or moved to the back, so its next entry is the oldest, and
   * keeping it saved a third of a fill's L1 cost. Any other change drops it: an iterator that does
   * not move keeps the map's replaced tables, and the entries in them, reachable.
   */
  #hand: MapIterator<[string, Entry]> | undefined;

  constructor(
    maxEntries: number,
    maxBytes: number | undefined,
    sizeOf: (value: unknown) => number,
    counts: Counts,
  ) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes ?? Number.POSITIVE_INFINITY;
    this.#sizes = maxBytes === undefined ? undefined : new Map();
    this.#sizeOf = sizeOf;
    this.#counts = counts;
  }

  /** The entry, marked as used. */
  get(key: string): Entry | undefined {
    const e = this.#map.get(key);
    if (e !== undefined) e.seen = true;
    return e;
  }

  /** The entry, without marking it as used. */
  peek(key: string): Entry | undefined {
    return this.#map.get(key);
  }

  set(key: string, e: Entry): void {
    const sizes = this.#sizes;
    if (sizes !== undefined) {
      const size = Math.max(1, Math.ceil(this.#sizeOf(e.value)));
      // Larger than the whole bound: not kept, and the older value is no longer current.
      if (size > this.#maxBytes) {
        this.delete(key);
        return;
      }
      this.#bytes += size - (sizes.get(key) ?? 0);
      sizes.set(key, size);
    }
    // A write counts as a use: the entry just written is not the next one evicted.
    e.seen = true;
    const map = this.#map;
    map.set(key, e);
    if (map.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) {
      this.#hand = undefined;
      return;
    }
    do this.#evictOne();
    while (map.size > this.#maxEntries || this.#bytes > this.#maxBytes);
  }

  #evictOne(): void {
    const map = this.#map;
    // Entries given a second chance are appended, so the hand reaches them again.
    let hand = this.#hand ?? map.entries();
    for (;;) {
      let next = hand.next();
      if (next.done) {
        hand = map.entries();
        next = hand.next();
        if (next.done) break;
      }
      const [key, e] = next.value;
      map.delete(key);
      if (e.seen) {
        e.seen = false;
        map.set(key, e);
        continue;
      }
      this.#forgetSize(key);
      this.#counts[L1_EVICT]!++;
      break;
    }
    this.#hand = hand;
  }

  delete(key: string): boolean {
    if (!this.#map.delete(key)) return false;
    this.#hand = undefined;
    this.#forgetSize(key);
    return true;
  }

  #forgetSize(key: string): void {
    const sizes = this.#sizes;
    if (sizes === undefined) return;
    this.#bytes -= sizes.get(key) ?? 0;
    sizes.delete(key);
  }

  clear(): void {
    this.#map.clear();
    this.#hand = undefined;
    this.#sizes?.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Estimated bytes held (0 unless bounded by bytes). */
  get calculatedSize(): number {
    return this.#bytes;
  }

  keys(): MapIterator<string> {
    return this.#map.keys();
  }

  entries(): MapIterator<[string, Entry]> {
    return this.#map.entries();
  }
}

export function createL1(
  maxEntries: number,
  maxBytes: number | undefined,
  sizeOf: (value: unknown) => number,
  counts: Counts,
): L1 {
  return new L1(maxEntries, maxBytes, sizeOf, counts);
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

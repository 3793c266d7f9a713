/**
 * The in-memory tier: a Map bounded by entries and optionally by estimated bytes, evicting by
 * CLOCK (second chance). A hit only sets the entry's `seen` bit. Every entry also has a slot in a
 * ring of keys; a write that overflows the bound moves the hand round the ring, clearing the bit
 * of seen entries and evicting the first unseen one. A new key takes the slot freed last, just
 * behind the hand, so it is the last the hand reaches.
 *
 * An evicted or deleted key is not deleted from the Map: its value becomes GONE, and once there
 * are as many GONE keys as the bound (at least 1,024, so that a small L1 turning over with every
 * batch of L2 reads is not copied for every batch) the live entries move to a new Map. A Map that
 * deletes and inserts keys all the time makes V8 replace its hash table every few hundred
 * operations, and a replaced table keeps its entries and points to the next one; once one of those
 * tables has reached the old generation (any full collection puts the current one there), each
 * replaced table keeps the next alive, so every entry ever evicted survives every young collection
 * until the next full one. Filling L1 from L2 at 100 keys a batch, that kept 10-20 MB alive
 * through each scavenge (15-30 ms pauses; docs/performance.md, "L1 never deletes from its Map").
 *
 * Not lru-cache: its get (options object, status, recency list move) measured about 13 ns per
 * hit more than this, about a third of an L1 hit (docs/cache.md, "L1 eviction").
 */
import { type Counts, L1_EVICT } from './counters.ts';
import { type Entry, newEntry } from './entry.ts';

/** The Map's value for a key no longer in L1. */
const GONE: Entry = newEntry(undefined, 0, 0, 0, undefined);

export class L1 {
  #map = new Map<string, Entry>();
  /** Keys in the Map whose value is GONE. */
  #gone = 0;
  /** Per slot: its key, or undefined when free. */
  #keys: (string | undefined)[] = [];
  /** Per slot: its entry, or undefined when free. */
  #entries: (Entry | undefined)[] = [];
  /** Per slot: estimated bytes, kept only when bounded by bytes. */
  #sizes: number[] | undefined;
  /** Free slots, the most recently freed last. */
  #free: number[] = [];
  #hand = 0;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #sizeOf: (value: unknown) => number;
  readonly #counts: Counts;
  #bytes = 0;

  constructor(
    maxEntries: number,
    maxBytes: number | undefined,
    sizeOf: (value: unknown) => number,
    counts: Counts,
  ) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes ?? Number.POSITIVE_INFINITY;
    this.#sizes = maxBytes === undefined ? undefined : [];
    this.#sizeOf = sizeOf;
    this.#counts = counts;
  }

  /** The entry, marked as used. */
  get(key: string): Entry | undefined {
    const e = this.#map.get(key);
    if (e === undefined || e === GONE) return undefined;
    e.seen = true;
    return e;
  }

  /** The entry, without marking it as used. */
  peek(key: string): Entry | undefined {
    const e = this.#map.get(key);
    return e === GONE ? undefined : e;
  }

  set(key: string, entry: Entry): void {
    let size = 0;
    if (this.#sizes !== undefined) {
      const measured = this.#sizeOf(entry.value);
      // A size that is not a number >= 0 (NaN, negative, a string) would corrupt the byte count
      // and with it the bound: such a value is treated as too large to keep.
      size = typeof measured === 'number' && measured >= 0 ? Math.max(1, Math.ceil(measured)) : Infinity;
      // Larger than the whole bound: not kept, and the older value is no longer current.
      if (size > this.#maxBytes) {
        this.delete(key);
        return;
      }
    }
    const map = this.#map;
    const old = map.get(key);
    let e = entry;
    // An entry object already in L1 (under another key) gets an entry of its own.
    if (e !== old && e.slot >= 0 && this.#entries[e.slot] === e) e = copyOf(e);
    let slot: number;
    if (old !== undefined && old !== GONE) slot = old.slot;
    else {
      if (old === GONE) this.#gone--;
      slot = this.#free.pop() ?? this.#keys.length;
      this.#keys[slot] = key;
    }
    e.slot = slot;
    // A write counts as a use: the entry just written is not the next one evicted.
    e.seen = true;
    this.#entries[slot] = e;
    map.set(key, e);
    const sizes = this.#sizes;
    if (sizes !== undefined) {
      this.#bytes += size - (old === undefined || old === GONE ? 0 : sizes[slot]!);
      sizes[slot] = size;
    }
    while (this.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      if (!this.#evictOne()) break;
    }
  }

  /** Evicts one entry; false when there was none to evict. */
  #evictOne(): boolean {
    const keys = this.#keys;
    const entries = this.#entries;
    const n = keys.length;
    let hand = this.#hand;
    // Two rounds at most: the first clears every bit it passes.
    for (let steps = 0; steps <= 2 * n; steps++) {
      if (hand >= n) hand = 0;
      const e = entries[hand];
      if (e !== undefined) {
        if (!e.seen) {
          this.#release(keys[hand]!, hand);
          this.#counts[L1_EVICT]!++;
          this.#hand = hand + 1;
          return true;
        }
        e.seen = false;
      }
      hand++;
    }
    this.#hand = hand;
    return false;
  }

  /** Marks the key in `slot` GONE and frees the slot. */
  #release(key: string, slot: number): void {
    this.#map.set(key, GONE);
    this.#keys[slot] = undefined;
    this.#entries[slot]!.slot = -1;
    this.#entries[slot] = undefined;
    this.#free.push(slot);
    const sizes = this.#sizes;
    if (sizes !== undefined) {
      this.#bytes -= sizes[slot]!;
      sizes[slot] = 0;
    }
    if (++this.#gone >= Math.max(this.#maxEntries, 1024)) this.#rebuild();
  }

  /** Moves the live entries to a new Map: the old one and its tables go as one piece of garbage. */
  #rebuild(): void {
    const map = new Map<string, Entry>();
    const keys = this.#keys;
    const entries = this.#entries;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key !== undefined) map.set(key, entries[i]!);
    }
    this.#map = map;
    this.#gone = 0;
  }

  delete(key: string): boolean {
    const e = this.#map.get(key);
    if (e === undefined || e === GONE) return false;
    this.#release(key, e.slot);
    return true;
  }

  clear(): void {
    for (const e of this.#entries) if (e !== undefined) e.slot = -1;
    this.#map = new Map();
    this.#gone = 0;
    this.#keys = [];
    this.#entries = [];
    this.#free = [];
    this.#hand = 0;
    if (this.#sizes !== undefined) this.#sizes = [];
    this.#bytes = 0;
  }

  get size(): number {
    return this.#map.size - this.#gone;
  }

  /** Estimated bytes held (0 unless bounded by bytes). */
  get calculatedSize(): number {
    return this.#bytes;
  }

  /** The keys in L1, in no particular order. */
  *keys(): Generator<string> {
    for (const [key] of this.entries()) yield key;
  }

  /** The entries in L1, in no particular order. */
  *entries(): Generator<[string, Entry]> {
    const keys = this.#keys;
    const entries = this.#entries;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key !== undefined) yield [key, entries[i]!];
    }
  }
}

function copyOf(e: Entry): Entry {
  return newEntry(e.value, e.createdAt, e.expiresAt, e.staleUntil, e.tags);
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

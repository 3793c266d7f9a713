import type { CallOptions } from './options.ts';
import type { Factory } from './types.ts';

/**
 * The L2 reads of one tick, gathered to leave as one MGET (it joins ioredis's auto-pipeline only
 * when other commands are waiting there; see RedisTier), so 100 concurrent L1 misses cost one
 * round trip and one reply. Callers of the same key share its slot: a hot key is fetched and decoded once.
 *
 * A batch is flat arrays rather than an object or closure per caller: at 100 reads in flight the
 * per-read bookkeeping cost about as much as decoding the value.
 */

/** The caller wants the entry (the lock, getOrSet with a stale value at hand). */
export const WANT_ENTRY = 0;
/** The caller wants the value if fresh, undefined otherwise (get). */
export const WANT_VALUE = 1;
/** The caller wants the value if fresh, otherwise what its fallback answers (getOrSet). */
export const WANT_FRESH = 2;
export type Want = typeof WANT_ENTRY | typeof WANT_VALUE | typeof WANT_FRESH;

/** What a getOrSet needs to run or join its factory when Redis has no fresh value. */
export interface Miss {
  key: string;
  tagScope: string;
  factory: Factory<unknown>;
  o: CallOptions;
}

/** Most keys per MGET: bounds one reply's size and the time its decoding holds the event loop. */
export const MAX_BATCH = 512;

type Resolve = (value: unknown) => void;

export class ReadBatch {
  /** The epoch when the batch opened: a key changed after it must not go into L1 from this read. */
  readonly epoch: number;
  /** Distinct L1 keys, in MGET order. */
  readonly fulls: string[] = [];
  readonly #slots = new Map<string, number>();
  /** Per caller: its key's slot × 4 + what it wants. */
  readonly rows: number[] = [];
  /** Per caller: its promise's resolve. */
  readonly resolves: Resolve[] = [];
  /**
   * Per WANT_FRESH caller, in caller order: key, tag scope, factory and options, four cells each
   * (no object or closure per getOrSet).
   */
  readonly misses: unknown[] = [];
  /** MGETs of this batch not answered yet. */
  pending = 0;

  constructor(epoch: number) {
    this.epoch = epoch;
  }

  /** Adds a caller; its promise settles with what `want` asks for. */
  add(full: string, want: Want): Promise<unknown> {
    let slot = this.#slots.get(full);
    if (slot === undefined) {
      slot = this.fulls.length;
      this.#slots.set(full, slot);
      this.fulls.push(full);
    }
    this.rows.push(slot * 4 + want);
    return new Promise(this.#take);
  }

  /** Adds a WANT_FRESH caller, with what its factory needs if Redis has no fresh value. */
  addFresh(full: string, key: string, tagScope: string, factory: Factory<unknown>, o: CallOptions) {
    this.misses.push(key, tagScope, factory, o);
    return this.add(full, WANT_FRESH);
  }

  /** The WANT_FRESH caller's arguments that start at cell `at` of `misses`. */
  miss(at: number): Miss {
    const m = this.misses;
    return {
      key: m[at] as string,
      tagScope: m[at + 1] as string,
      factory: m[at + 2] as Factory<unknown>,
      o: m[at + 3] as CallOptions,
    };
  }

  // One executor for every caller (the Promise constructor runs it at once): no closure per read.
  readonly #take = (resolve: Resolve): void => {
    this.resolves.push(resolve);
  };
}

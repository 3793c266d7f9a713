/**
 * Query-result cache keyed by statement text and parameters, tagged with the tables the statement
 * reads. Writes invalidate by table after their transaction commits; the store's own bus carries
 * the invalidation to other instances.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RawResult } from './driver.ts';

/** The part of the tiered cache (src/perf/cache) the query cache uses. Durations in ms. */
export interface QueryCacheStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, options?: { ttl?: number; tags?: string[] }): Promise<unknown>;
  deleteByTag(tags: string | string[]): Promise<unknown>;
}

/** Every cached result carries this tag, so a write we cannot attribute clears them all. */
export const ALL_TAG = 'db:*';
export const tableTag = (table: string): string => `db:table:${table}`;

export interface CachedQueryOptions {
  /** Time to live in ms. @default 60000 */
  ttl?: number;
  /** Extra tags (for reads the parser cannot see through, such as views or functions). */
  tags?: string[];
}

export interface QueryCacheCounters {
  hits: number;
  misses: number;
  invalidations: number;
  /** Results computed but not stored because a write to their tables committed meanwhile. */
  discarded: number;
}

export class QueryCache {
  #store: QueryCacheStore;
  #defaultTtl: number;
  /** Bumped on every local invalidation of a table (and of everything): the refill-race guard. */
  #generations = new Map<string, number>();
  #allGeneration = 0;
  #inflight = new Map<string, Promise<RawResult>>();
  readonly counters: QueryCacheCounters = { hits: 0, misses: 0, invalidations: 0, discarded: 0 };

  constructor(store: QueryCacheStore, defaultTtl = 60_000) {
    this.#store = store;
    this.#defaultTtl = defaultTtl;
  }

  static key(sql: string, params: readonly unknown[]): string {
    const h = createHash('sha256').update(sql).update('\0').update(stringify(params)).digest('base64url');
    return `db:q:${h}`;
  }

  /** Returns the cached result or runs `load` (once per key at a time in this process). */
  async get(
    sql: string,
    params: readonly unknown[],
    tables: string[],
    options: CachedQueryOptions,
    load: () => Promise<RawResult>,
  ): Promise<{ result: RawResult; hit: boolean }> {
    const key = QueryCache.key(sql, params);
    const found = await this.#store.get<RawResult>(key);
    if (found !== undefined) {
      this.counters.hits++;
      return { result: found, hit: true };
    }
    this.counters.misses++;
    const running = this.#inflight.get(key);
    if (running !== undefined) return { result: await running, hit: false };
    const before = this.#snapshot(tables);
    const p = load();
    this.#inflight.set(key, p);
    try {
      const result = await p;
      // A write to these tables committed while we read: our rows may predate it, so storing
      // them would bring back what the invalidation just removed.
      if (this.#snapshot(tables) !== before) {
        this.counters.discarded++;
      } else {
        const tags = [ALL_TAG, ...tables.map(tableTag), ...(options.tags ?? [])];
        await this.#store.set(key, result, { ttl: options.ttl ?? this.#defaultTtl, tags });
      }
      return { result, hit: false };
    } finally {
      this.#inflight.delete(key);
    }
  }

  /** Called after commit with the tables written; `all` when the writes could not be named. */
  async invalidate(tables: Iterable<string>, all: boolean): Promise<void> {
    const tags: string[] = [];
    if (all) {
      this.#allGeneration++;
      tags.push(ALL_TAG);
    } else {
      for (const t of tables) {
        this.#generations.set(t, (this.#generations.get(t) ?? 0) + 1);
        tags.push(tableTag(t));
      }
    }
    if (tags.length === 0) return;
    this.counters.invalidations++;
    await this.#store.deleteByTag(tags);
  }

  /** Deletes results carrying any of these user tags. */
  async invalidateTags(tags: string[]): Promise<void> {
    this.#allGeneration++;
    await this.#store.deleteByTag(tags);
  }

  #snapshot(tables: string[]): string {
    let s = String(this.#allGeneration);
    for (const t of tables) s += `,${this.#generations.get(t) ?? 0}`;
    return s;
  }
}

function stringify(params: readonly unknown[]): string {
  return JSON.stringify(params, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/**
 * In-process store for when no tiered cache is given: LRU with per-entry TTL and a tag index.
 * It invalidates this process only.
 */
export function createLocalStore(max = 1000): QueryCacheStore {
  const entries = new LRUCache<string, { value: unknown; tags: string[] }>({
    max,
    ttlAutopurge: false,
    dispose: (v, k) => {
      for (const t of v.tags) byTag.get(t)?.delete(k);
    },
  });
  const byTag = new Map<string, Set<string>>();
  return {
    async get<T>(key: string) {
      return entries.get(key)?.value as T | undefined;
    },
    async set(key, value, options = {}) {
      const tags = options.tags ?? [];
      entries.set(key, { value, tags }, options.ttl !== undefined ? { ttl: options.ttl } : {});
      for (const t of tags) {
        const set = byTag.get(t) ?? new Set<string>();
        byTag.set(t, set);
        set.add(key);
      }
    },
    async deleteByTag(tags) {
      for (const t of Array.isArray(tags) ? tags : [tags]) {
        const keys = byTag.get(t);
        if (keys === undefined) continue;
        byTag.delete(t);
        for (const k of keys) entries.delete(k);
      }
    },
  };
}

/** The public shape of the cache: what callers and other modules program against. */
import type { Duration } from './duration.ts';

/** Per-write options. Durations are milliseconds or strings like '30s'. */
export interface SetOptions {
  /** How long the value stays fresh. @default the cache's ttl (5 minutes) */
  ttl?: Duration;
  /** How long past its ttl the value is kept to be served stale by getOrSet. @default the cache's grace (0: off) */
  grace?: Duration;
  /** Tags for deleteByTag / expireByTag (scoped to this namespace). */
  tags?: readonly string[];
}

export interface GetOrSetOptions extends SetOptions {
  /**
   * With a stale value in grace: how long to wait for the refresh before answering with the stale
   * value (the refresh goes on in the background). 0 answers at once (stale-while-revalidate).
   * @default the cache's softTimeout (0)
   */
  softTimeout?: Duration;
  /**
   * Longest wait for the factory when no stale value can be served: past it the call throws
   * CACHE_FACTORY_TIMEOUT and the factory's signal is aborted. A call that joins a factory
   * another call started waits at most its own hardTimeout and throws alone; the factory runs
   * on under the starting call's. @default none
   */
  hardTimeout?: Duration;
}

/** What a getOrSet factory receives. */
export interface FactoryContext<T = unknown> {
  /** The key as the caller gave it (without namespace). */
  readonly key: string;
  /** Aborted when the hard timeout passes or the cache closes. */
  readonly signal: AbortSignal;
  /** The stale value being refreshed, when there is one. */
  readonly stale: T | undefined;
  /** Return the value to the callers but do not store it (an error answer, say). */
  skipCache(): void;
  /** Overrides the ttl for this value (known only once it is fetched). */
  setTtl(ttl: Duration): void;
  /** Overrides the tags for this value. */
  setTags(tags: readonly string[]): void;
}

export type Factory<T> = (context: FactoryContext<T>) => T | Promise<T>;

export type CacheLayer = 'l1' | 'l2';

export interface CacheEvents {
  hit: { key: string; layer: CacheLayer };
  miss: { key: string };
  /** A stale value was served; `reason` says why. */
  stale: { key: string; reason: 'revalidating' | 'soft-timeout' | 'factory-error' | 'l2-fallback' };
  /** A failure the cache absorbed (L2, bus, factory behind a stale value, warmer). */
  error: { key?: string; source: 'l2' | 'bus' | 'factory' | 'warmer'; error: Error };
}

export type CacheEventName = keyof CacheEvents;

export interface CacheStats {
  name: string;
  l1: { entries: number; bytes: number | undefined; maxEntries: number; maxBytes: number | undefined };
  l2: { enabled: boolean; breaker: 'closed' | 'open' | 'half-open' | 'off' };
  bus: { enabled: boolean; subscribed: boolean };
  /** Cumulative counts since the cache was created. */
  counts: {
    l1Hits: number;
    l1Misses: number;
    l1Stale: number;
    l2Hits: number;
    l2Misses: number;
    l2Errors: number;
    sets: number;
    deletes: number;
    evictions: number;
    factoryRuns: number;
    factoryErrors: number;
  };
  /** hits / (hits + misses) since creation, per layer; NaN before the first read. */
  hitRate: { l1: number; l2: number; overall: number };
}

/** A named job that fills the cache: run at start-up and then every `interval`. */
export interface Warmer {
  name: string;
  /** Time between runs; 0 or unset runs only at start-up. */
  interval?: Duration;
  run(cache: Cache, signal: AbortSignal): Promise<void> | void;
}

export interface Cache {
  /** This view's namespace path ('' for the root). */
  readonly namespacePath: string;
  /** A fresh value, or undefined (stale values are returned only by getOrSet with grace). */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /**
   * The value when the memory tier holds it fresh, else undefined, synchronously: for hot paths
   * that can answer a hit without a promise. A hit counts and emits as get()'s does; anything
   * else counts nothing, since the get() or getOrSet() that follows counts it. Redis is not asked.
   */
  peek<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  /** The cached value, or the factory's: one factory run per key per process (and across instances with the lock on). */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>;
  has(key: string): Promise<boolean>;
  delete(key: string | readonly string[]): Promise<void>;
  /** Removes every entry of this namespace carrying one of the tags, on every instance. */
  deleteByTag(tags: string | readonly string[]): Promise<void>;
  /** Marks entries carrying one of the tags stale: served only within grace while they refresh. */
  expireByTag(tags: string | readonly string[]): Promise<void>;
  /**
   * Removes this namespace's entries and its sub-namespaces', on every instance; other
   * namespaces stay. With a name: clears that sub-namespace (`clear('a')` = `namespace('a').clear()`).
   */
  clear(namespace?: string): Promise<void>;
  namespace(name: string): Cache;
  /** Registers a warmer: runs now, then on its interval. The returned function unregisters it. */
  addWarmer(warmer: Warmer): () => void;
  /** Runs every registered warmer once, now; resolves when all have finished. */
  warm(): Promise<void>;
  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): () => void;
  /**
   * Drops memory-tier entries past their grace, in every namespace (L1 is shared); entries still
   * servable as stale stay. Returns how many were dropped.
   */
  purgeExpired(): number;
  stats(): CacheStats;
  /**
   * Resolves true once the invalidation bus is subscribed (at once without Redis), false if that
   * takes longer than `timeout`. The cache works before; until then it serves only what it wrote.
   */
  ready(timeout?: number): Promise<boolean>;
  /** Closes the cache and everything it opened. On a namespace view it does nothing: the root's owner closes. */
  close(): Promise<void>;
}

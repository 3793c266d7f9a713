/**
 * A namespace view of a cache. The root and every `namespace()` share one engine; a view adds
 * its key layout. `get` and `getOrSet` answer fresh L1 hits inline (no async function, no
 * serialisation, no allocation once the entry's promise exists) and hand the rest to the engine.
 */
import type { CacheCore } from './core.ts';
import { L1_HIT } from './counters.ts';
import { type Entry, readNow } from './entry.ts';
import { CacheInvalidOptionError } from './errors.ts';
import { namespaceL1Key } from './keys.ts';
import { checkName, checkTags } from './options.ts';
import type {
  Cache,
  CacheEventName,
  CacheEvents,
  CacheStats,
  Factory,
  GetOrSetOptions,
  SetOptions,
  Warmer,
} from './types.ts';

/** Looked up for keys that cannot be valid (reserved or not strings): always a miss. */
const INVALID = '\0';

export class CacheView implements Cache {
  readonly #core: CacheCore;
  /** Namespace path relative to the root ('' for the root). */
  readonly #rel: string;
  /** Redis-side path: the cache name, or `<name>/<rel>`. */
  readonly #path: string;
  readonly #tagScope: string;
  /** Namespace L1 keys, memoised: building one per read would cost more than the lookup. */
  readonly #memo: Map<string, string> | undefined;

  constructor(core: CacheCore, rel: string) {
    this.#core = core;
    this.#rel = rel;
    this.#path = core.keys.path(rel);
    this.#tagScope = `${this.#path}#`;
    this.#memo = rel === '' ? undefined : new Map();
  }

  get namespacePath(): string {
    return this.#rel;
  }

  #l1Key(key: string): string {
    const memo = this.#memo;
    if (memo === undefined) return typeof key === 'string' && key.charCodeAt(0) !== 0 ? key : INVALID;
    const known = memo.get(key);
    if (known !== undefined) return known;
    if (typeof key !== 'string') return INVALID;
    const full = namespaceL1Key(this.#rel, key);
    if (memo.size >= this.#core.o.maxEntries) memo.clear();
    memo.set(key, full);
    return full;
  }

  /** True when `e` is fresh: then counted and announced as an L1 hit. */
  #hit(e: Entry | undefined, full: string): e is Entry {
    const core = this.#core;
    if (e === undefined || !(e.tags === undefined ? e.expiresAt > readNow() : core.taggedFresh(e)))
      return false;
    core.counts[L1_HIT]!++;
    if (core.events.hot) core.hitEvent(full);
    return true;
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    const full = this.#l1Key(key);
    const e = this.#core.l1.get(full);
    if (this.#hit(e, full)) {
      if (e.p === undefined) e.p = Promise.resolve(e.value);
      return e.p as Promise<T>;
    }
    return this.#core.getSlow(full, key, e) as Promise<T | undefined>;
  }

  peek<T = unknown>(key: string): T | undefined {
    const full = this.#l1Key(key);
    const e = this.#core.l1.get(full);
    return this.#hit(e, full) ? (e.value as T) : undefined;
  }

  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    const core = this.#core;
    const full = this.#l1Key(key);
    const e = core.l1.get(full);
    if (this.#hit(e, full)) {
      if (e.p === undefined) e.p = Promise.resolve(e.value);
      return e.p as Promise<T>;
    }
    return core.getOrSetSlow(
      full,
      key,
      this.#tagScope,
      factory as Factory<unknown>,
      options,
      e,
    ) as Promise<T>;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    return this.#core.set(this.#l1Key(key), key, this.#tagScope, value, options);
  }

  // These are async so that bad arguments reject like every other failure, never throw.
  async delete(key: string | readonly string[]): Promise<void> {
    const keys = typeof key === 'string' ? [key] : key;
    if (!Array.isArray(keys)) {
      throw new CacheInvalidOptionError(`delete takes a key or an array of keys, got ${typeOf(key)}`);
    }
    return this.#core.delete(
      keys.map((k) => this.#l1Key(k)),
      keys,
    );
  }

  async deleteByTag(tags: string | readonly string[]): Promise<void> {
    return this.#core.invalidateTags(this.#scoped(tags), 'delete');
  }

  async expireByTag(tags: string | readonly string[]): Promise<void> {
    return this.#core.invalidateTags(this.#scoped(tags), 'expire');
  }

  #scoped(tags: string | readonly string[]): string[] {
    return (checkTags(tags) ?? []).map((t) => this.#tagScope + t);
  }

  async clear(namespace?: string): Promise<void> {
    if (namespace !== undefined) return this.namespace(namespace).clear();
    return this.#core.clear(this.#path);
  }

  namespace(name: string): Cache {
    const segment = checkName(name, 'namespace');
    return new CacheView(this.#core, this.#rel === '' ? segment : `${this.#rel}/${segment}`);
  }

  addWarmer(warmer: Warmer): () => void {
    return this.#core.addWarmer(warmer, this);
  }

  warm(): Promise<void> {
    return this.#core.warm(this);
  }

  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): () => void {
    return this.#core.events.on(event, listener);
  }

  purgeExpired(): number {
    return this.#core.purgeExpired();
  }

  stats(): CacheStats {
    return this.#core.stats();
  }

  ready(timeout = 2000): Promise<boolean> {
    return this.#core.ready(timeout);
  }

  close(): Promise<void> {
    return this.#rel === '' ? this.#core.close() : Promise.resolve();
  }
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

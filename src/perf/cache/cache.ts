/**
 * A namespace view of a cache. The root and every `namespace()` share one engine; a view adds
 * its key prefix. `get` and `getOrSet` answer fresh L1 hits inline (no async function, no
 * serialisation, one clock read) and hand everything else to the engine.
 */

import type { CacheCore } from './core.ts';
import { L1_HIT } from './counters.ts';
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

export class CacheView implements Cache {
  readonly #core: CacheCore;
  readonly #path: string;
  readonly #prefix: string;
  readonly #tagScope: string;
  readonly #root: boolean;

  constructor(core: CacheCore, path: string, root: boolean) {
    this.#core = core;
    this.#path = path;
    this.#prefix = `${path}::`;
    this.#tagScope = `${path}#`;
    this.#root = root;
  }

  get namespacePath(): string {
    const name = this.#core.o.name;
    return this.#path === name ? '' : this.#path.slice(name.length + 1);
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    const core = this.#core;
    const full = this.#prefix + key;
    const e = core.l1.get(full);
    if (e !== undefined && e.tags === undefined && e.expiresAt > Date.now()) {
      core.counts[L1_HIT]!++;
      if (core.events.hot) core.events.emit('hit', { key: full, layer: 'l1' });
      return Promise.resolve(e.value as T);
    }
    return core.getSlow(full, key, e) as Promise<T | undefined>;
  }

  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    const core = this.#core;
    const full = this.#prefix + key;
    const e = core.l1.get(full);
    if (e !== undefined && e.tags === undefined && e.expiresAt > Date.now()) {
      core.counts[L1_HIT]!++;
      if (core.events.hot) core.events.emit('hit', { key: full, layer: 'l1' });
      return Promise.resolve(e.value as T);
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
    return this.#core.set(this.#prefix + key, key, this.#tagScope, value, options);
  }

  delete(key: string | readonly string[]): Promise<void> {
    const keys = typeof key === 'string' ? [key] : key;
    return this.#core.delete(keys.map((k) => this.#prefix + k));
  }

  deleteByTag(tags: string | readonly string[]): Promise<void> {
    return this.#core.invalidateTags(this.#scoped(tags), 'delete');
  }

  expireByTag(tags: string | readonly string[]): Promise<void> {
    return this.#core.invalidateTags(this.#scoped(tags), 'expire');
  }

  #scoped(tags: string | readonly string[]): string[] {
    return (checkTags(tags) ?? []).map((t) => this.#tagScope + t);
  }

  clear(): Promise<void> {
    return this.#core.clear(this.#path);
  }

  namespace(name: string): Cache {
    return new CacheView(this.#core, `${this.#path}/${checkName(name, 'namespace')}`, false);
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

  stats(): CacheStats {
    return this.#core.stats();
  }

  ready(timeout = 2000): Promise<boolean> {
    return this.#core.ready(timeout);
  }

  close(): Promise<void> {
    return this.#root ? this.#core.close() : Promise.resolve();
  }
}

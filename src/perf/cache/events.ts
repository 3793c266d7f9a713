/** A minimal typed emitter; `hot` tells the hit path whether anyone listens at all. */
import type { CacheEventName, CacheEvents } from './types.ts';

type Listener<E extends CacheEventName> = (payload: CacheEvents[E]) => void;

export class Events {
  #listeners = new Map<CacheEventName, Set<Listener<CacheEventName>>>();
  /** True while a hit or miss listener exists: the hit path skips building payloads otherwise. */
  hot = false;
  #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends CacheEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<CacheEventName>);
    this.#update();
    return () => {
      set.delete(listener as Listener<CacheEventName>);
      this.#update();
    };
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined || set.size === 0) return;
    for (const listener of set) {
      try {
        listener(payload);
      } catch (err) {
        // A listener's bug must not break the cache operation that emitted the event.
        this.#onListenerError(err);
      }
    }
  }

  #update(): void {
    this.hot = (this.#listeners.get('hit')?.size ?? 0) + (this.#listeners.get('miss')?.size ?? 0) > 0;
  }

  clear(): void {
    this.#listeners.clear();
    this.hot = false;
  }
}

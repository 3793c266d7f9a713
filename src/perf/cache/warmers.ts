/** Warmers: named jobs that fill the cache at start-up and then on their interval. */
import { MAX_TIMER_MS, toMs } from './duration.ts';
import { CacheInvalidOptionError } from './errors.ts';
import type { Cache, Warmer } from './types.ts';

/** Longest close() waits for warmer runs in progress. */
const CLOSE_WAIT_MS = 2000;

interface Registered {
  warmer: Warmer;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

/** Checks a warmer and returns its interval in ms (0: start-up only); throws CACHE_INVALID_OPTION. */
export function checkWarmer(warmer: Warmer): number {
  if (typeof warmer?.name !== 'string' || typeof warmer.run !== 'function') {
    throw new CacheInvalidOptionError('a warmer needs a name (string) and a run(cache, signal) function');
  }
  return warmer.interval === undefined
    ? 0
    : toMs(warmer.interval, `warmer ${warmer.name} interval`, MAX_TIMER_MS);
}

export class Warmers {
  #registered = new Set<Registered>();
  #controller = new AbortController();
  #onError: (warmer: string, err: Error) => void;

  constructor(onError: (warmer: string, err: Error) => void) {
    this.#onError = onError;
  }

  add(warmer: Warmer, cache: Cache): () => void {
    const interval = checkWarmer(warmer);
    const reg: Registered = { warmer, timer: undefined, running: undefined };
    this.#registered.add(reg);
    void this.#run(reg, cache);
    if (interval > 0) {
      reg.timer = setInterval(() => void this.#run(reg, cache), interval);
      reg.timer.unref();
    }
    return () => {
      clearInterval(reg.timer);
      this.#registered.delete(reg);
    };
  }

  /** Runs one warmer unless its previous run is still going (a slow source must not pile up runs). */
  #run(reg: Registered, cache: Cache): Promise<void> {
    if (reg.running !== undefined) return reg.running;
    if (this.#controller.signal.aborted) return Promise.resolve();
    reg.running = (async () => {
      try {
        await reg.warmer.run(cache, this.#controller.signal);
      } catch (err) {
        if (!this.#controller.signal.aborted) {
          this.#onError(reg.warmer.name, err instanceof Error ? err : new Error(String(err)));
        }
      } finally {
        reg.running = undefined;
      }
    })();
    return reg.running;
  }

  async runAll(cache: Cache): Promise<void> {
    await Promise.all([...this.#registered].map((reg) => this.#run(reg, cache)));
  }

  async close(): Promise<void> {
    this.#controller.abort();
    const running: Promise<void>[] = [];
    for (const reg of this.#registered) {
      clearInterval(reg.timer);
      if (reg.running) running.push(reg.running);
    }
    this.#registered.clear();
    // A warmer that ignores its signal must not hold shutdown for ever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running),
      new Promise((r) => {
        timer = setTimeout(r, CLOSE_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}

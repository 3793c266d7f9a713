/** Waiting on a factory run: the hard timeout, and the race against a stale value. */
import { CacheFactoryTimeoutError } from './errors.ts';

/**
 * Rejects with CACHE_FACTORY_TIMEOUT after `ms`, aborting the factory's signal; otherwise
 * settles as `work` does.
 */
export function withHardTimeout(
  work: Promise<unknown>,
  ms: number,
  controller: AbortController,
  onTimeout: () => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      const err = new CacheFactoryTimeoutError(
        `the cache factory did not finish within its hard timeout of ${ms} ms and no stale value was available`,
      );
      controller.abort(err);
      reject(err);
    }, ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export type StaleReason = 'revalidating' | 'soft-timeout' | 'factory-error';

/**
 * With a stale value at hand: answers with the refresh if it succeeds within `softTimeout`,
 * else with the stale value (0: at once). Never rejects; the run's own failure handling logs.
 */
export function raceStale(
  run: Promise<unknown>,
  stale: unknown,
  softTimeout: number,
  onStale: (reason: StaleReason) => void,
): Promise<unknown> {
  if (softTimeout === 0) {
    run.catch(() => {});
    onStale('revalidating');
    return Promise.resolve(stale);
  }
  return new Promise((resolve) => {
    let answered = false;
    const timer = setTimeout(() => {
      answered = true;
      onStale('soft-timeout');
      resolve(stale);
    }, softTimeout);
    run.then(
      (value) => {
        clearTimeout(timer);
        if (!answered) resolve(value);
      },
      () => {
        clearTimeout(timer);
        if (answered) return;
        onStale('factory-error');
        resolve(stale);
      },
    );
  });
}

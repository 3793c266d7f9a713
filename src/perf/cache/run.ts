/** Waiting on a factory run: the hard timeout and close, and the race against a stale value. */
import { CacheFactoryTimeoutError } from './errors.ts';

/**
 * Settles as `work` does, unless the controller is aborted first (the hard timeout passed, or
 * the cache closed): then rejects with the abort reason, and the factory sees its signal
 * aborted. `hardTimeout` 0 means no timeout.
 */
export function bounded(
  work: Promise<unknown>,
  controller: AbortController,
  hardTimeout: number,
  onTimeout: () => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const signal = controller.signal;
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      hardTimeout > 0
        ? setTimeout(() => {
            onTimeout();
            controller.abort(
              new CacheFactoryTimeoutError(
                `the cache factory did not finish within its hard timeout of ${hardTimeout} ms and no stale value was available`,
              ),
            );
          }, hardTimeout)
        : undefined;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    work.then(
      (v) => {
        done();
        resolve(v);
      },
      (err: unknown) => {
        done();
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

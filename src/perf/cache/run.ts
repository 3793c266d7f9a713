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

/**
 * A call that joined a factory another call started waits for it at most its own `hardTimeout`
 * (0: as long as the run lasts): then it alone rejects, and the factory runs on for the calls
 * still waiting and for the cache.
 */
export function waitAtMost(run: Promise<unknown>, hardTimeout: number): Promise<unknown> {
  if (hardTimeout === 0) return run;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new CacheFactoryTimeoutError(
          `the cache factory (started by an earlier call for this key) did not finish within this call's hard timeout of ${hardTimeout} ms and no stale value was available; it keeps running for the calls that wait longer`,
        ),
      );
    }, hardTimeout);
    run.then(
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

/**
 * A driver opened on first use. Embedded PGlite takes seconds of CPU to start; an app that may
 * never touch the database (most tests) should not pay for it.
 */
import type { Acquired, Driver, PoolStats } from './driver.ts';
import { DbClosedError } from './errors.ts';

const EMPTY: PoolStats = {
  total: 0,
  idle: 0,
  inUse: 0,
  waiting: 0,
  overflow: 0,
  overflowInUse: 0,
  size: 1,
  maxOverflow: 0,
  acquisitions: 0,
  timeouts: 0,
  opened: 0,
  closed: 0,
  waitHistogram: [],
};

/**
 * @param open opens the backend (and applies migrations); retried by the next caller when it fails.
 * @param closeUnopened closes what exists when close() comes before a successful open.
 */
export function lazyDriver(
  kind: Driver['kind'],
  open: () => Promise<Driver>,
  closeUnopened: () => Promise<void> = async () => {},
): Driver {
  let opening: Promise<Driver> | undefined;
  let driver: Driver | undefined;
  let closed = false;

  function get(): Promise<Driver> {
    if (closed) return Promise.reject(new DbClosedError('the database layer is closed'));
    if (opening === undefined) {
      opening = open().then(
        (d) => {
          driver = d;
          return d;
        },
        (err: unknown) => {
          // Let the next caller try again (the directory may become writable, say).
          opening = undefined;
          throw err;
        },
      );
    }
    return opening;
  }

  return {
    kind,
    async acquire(): Promise<Acquired> {
      return (await get()).acquire();
    },
    stats: () => driver?.stats() ?? EMPTY,
    isOpen: () => driver !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      const d = await opening?.catch(() => undefined);
      if (d !== undefined) await d.close();
      else await closeUnopened();
    },
  };
}

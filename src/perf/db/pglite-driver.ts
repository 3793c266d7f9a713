/**
 * Embedded PGlite behind the same Driver interface. PGlite is one connection, so the "pool" is a
 * queue of callers waiting for it, bounded by the same pool timeout; a transaction holds it from
 * BEGIN to COMMIT like a pooled connection would.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { collectGarbage } from '../memory/index.ts';
import type { Acquired, Driver, PoolStats, RawResult, Session } from './driver.ts';
/** DATA_DIR value that keeps the database in memory (tests). */
import { IN_MEMORY, WaitHistogram } from './driver.ts';
import { DbClosedError, DbPoolTimeoutError } from './errors.ts';

export { IN_MEMORY };

export interface PgliteDriverOptions {
  /** Directory that holds the `pglite` folder, or ':memory:'. */
  dataDir: string;
  timeoutMs: number;
  /**
   * PostgreSQL's shared_buffers, MB. PGlite otherwise keeps PostgreSQL's 128 MB, which fills
   * with pages that are also held by its file system (memory or the OS page cache), so the same
   * data is resident twice. @default 16
   */
  sharedBuffersMb?: number;
  /** Use this instance instead of opening one; close() leaves it open. */
  instance?: PGlite;
}

/** Default of `sharedBuffersMb`: docs/database.md, "Embedded PGlite memory". */
const PGLITE_SHARED_BUFFERS_MB = 16;

interface Waiter {
  resolve: (a: Acquired) => void;
  reject: (e: Error) => void;
  started: number;
  timer: NodeJS.Timeout;
}

/** Opens PGlite in `dataDir` (or in memory) with `sharedBuffersMb` of shared_buffers. */
async function openPglite(dataDir: string, sharedBuffersMb: number): Promise<PGlite> {
  const options = {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffersMb}MB`],
  };
  let db: PGlite;
  if (dataDir === IN_MEMORY) {
    db = await PGlite.create(options);
  } else {
    const dir = join(dataDir, 'pglite');
    await mkdir(dir, { recursive: true });
    db = await PGlite.create(dir, options);
  }
  // Opening ran initdb in a second WebAssembly instance, now garbage: about 130 MB that V8 may
  // otherwise keep resident for minutes (docs/database.md, "Embedded PGlite memory").
  collectGarbage();
  return db;
}

export async function createPgliteDriver(o: PgliteDriverOptions): Promise<Driver> {
  const db = o.instance ?? (await openPglite(o.dataDir, o.sharedBuffersMb ?? PGLITE_SHARED_BUFFERS_MB));
  const waits = new WaitHistogram();
  const queue: Waiter[] = [];
  let busy = false;
  let closing = false;
  let acquisitions = 0;
  let timeouts = 0;

  function grant(started: number, queued: boolean): Acquired {
    busy = true;
    acquisitions++;
    const waitedMs = performance.now() - started;
    waits.record(waitedMs);
    return { session: session(), waitedMs, queued };
  }

  function session(): Session {
    let released = false;
    return {
      async query(sql: string, params: readonly unknown[]): Promise<RawResult> {
        const r = await db.query<Record<string, unknown>>(sql, params as unknown[]);
        // PGlite's affectedRows is 0 for reads; its rowCount (not in the type) is set for reads and writes.
        const rowCount = (r as { rowCount?: number }).rowCount ?? r.affectedRows ?? r.rows.length;
        return { rows: r.rows, rowCount, command: commandOf(sql) };
      },
      async exec(sql: string): Promise<void> {
        await db.exec(sql);
      },
      release() {
        if (released) return;
        released = true;
        const next = queue.shift();
        if (next === undefined) {
          busy = false;
          return;
        }
        clearTimeout(next.timer);
        next.resolve(grant(next.started, true));
      },
    };
  }

  return {
    kind: 'pglite',
    acquire() {
      if (closing) return Promise.reject(new DbClosedError('the database layer is closed'));
      const started = performance.now();
      if (!busy) return Promise.resolve(grant(started, false));
      return new Promise<Acquired>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          started,
          timer: setTimeout(() => {
            queue.splice(queue.indexOf(waiter), 1);
            timeouts++;
            reject(
              new DbPoolTimeoutError(
                `the embedded database stayed busy for ${o.timeoutMs} ms (${queue.length} more waiting)`,
              ),
            );
          }, o.timeoutMs),
        };
        waiter.timer.unref();
        queue.push(waiter);
      });
    },
    stats(): PoolStats {
      return {
        total: 1,
        idle: busy ? 0 : 1,
        inUse: busy ? 1 : 0,
        waiting: queue.length,
        overflow: 0,
        overflowInUse: 0,
        size: 1,
        maxOverflow: 0,
        acquisitions,
        timeouts,
        opened: 1,
        closed: 0,
        waitHistogram: waits.snapshot(),
      };
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const w of queue.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new DbClosedError('the database layer is closed'));
      }
      if (o.instance === undefined) await db.close();
    },
  };
}

function commandOf(sql: string): string {
  return /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
}

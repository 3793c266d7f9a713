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
import { quoteIdent } from './plan.ts';

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
  /**
   * How often tables changed since their last ANALYZE are analyzed, ms; 0 turns it off. PGlite has
   * no autovacuum, and a table that is never analyzed gets plans made for an empty table
   * (docs/database.md, "Embedded PGlite statistics"). @default 60000
   */
  analyzeIntervalMs?: number;
  /** Called after each round that analyzed tables, and when a round fails. */
  onAnalyze?: (report: AnalyzeReport) => void;
}

export interface AnalyzeReport {
  /** Tables analyzed, as `schema.table`. */
  tables: string[];
  ms: number;
  error?: Error;
}

/** Default of `analyzeIntervalMs`. */
const PGLITE_ANALYZE_INTERVAL_MS = 60_000;

/**
 * autovacuum's analyze rule with PostgreSQL's defaults (autovacuum_analyze_threshold 50,
 * autovacuum_analyze_scale_factor 0.1): a table is analyzed once more rows changed since its last
 * ANALYZE than 50 plus a tenth of its rows.
 */
const STALE_TABLES = `SELECT schemaname, relname FROM pg_stat_user_tables
  WHERE n_mod_since_analyze > 50 + 0.1 * n_live_tup ORDER BY schemaname, relname`;

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
  let analyzing = false;

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

  function acquire(): Promise<Acquired> {
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
  }

  /** One round of the analyze rule: waits its turn for the connection like any caller. */
  async function analyzeStale(): Promise<void> {
    if (analyzing || closing) return;
    analyzing = true;
    const started = performance.now();
    const tables: string[] = [];
    try {
      const { session } = await acquire();
      try {
        const stale = await session.query(STALE_TABLES, []);
        for (const row of stale.rows) {
          const name = `${quoteIdent(String(row.schemaname))}.${quoteIdent(String(row.relname))}`;
          await session.exec(`ANALYZE ${name}`);
          tables.push(`${String(row.schemaname)}.${String(row.relname)}`);
        }
      } finally {
        session.release();
      }
      if (tables.length > 0) o.onAnalyze?.({ tables, ms: performance.now() - started });
    } catch (err) {
      // Closed meanwhile: nothing to report. Otherwise the next round tries again.
      if (!closing) o.onAnalyze?.({ tables, ms: performance.now() - started, error: err as Error });
    } finally {
      analyzing = false;
    }
  }

  const analyzeIntervalMs = o.analyzeIntervalMs ?? PGLITE_ANALYZE_INTERVAL_MS;
  const analyzeTimer =
    analyzeIntervalMs > 0 ? setInterval(() => void analyzeStale(), analyzeIntervalMs) : undefined;
  analyzeTimer?.unref();

  return {
    kind: 'pglite',
    acquire,
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
      clearInterval(analyzeTimer);
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

/**
 * PostgreSQL through a node-postgres pool, with the seed's pool semantics mapped onto pg-pool:
 * `min` = DATABASE_POOL_SIZE (never closed for idleness), `max` = size + DATABASE_MAX_OVERFLOW
 * (the extra ones close after `overflowIdleMs` idle), `connectionTimeoutMillis` =
 * DATABASE_POOL_TIMEOUT (covers both the wait for a free slot and the connect), and
 * `maxLifetimeSeconds` = DATABASE_POOL_RECYCLE.
 */
import pg from 'pg';
import type { Acquired, Driver, PoolStats, RawResult, Session } from './driver.ts';
import { WaitHistogram } from './driver.ts';
import { DbClosedError, DbPoolTimeoutError, toDbError } from './errors.ts';

export interface PgDriverOptions {
  url: string;
  size: number;
  maxOverflow: number;
  timeoutMs: number;
  recycleMs: number;
  overflowIdleMs: number;
  /** Sets search_path on every connection (tests use one schema each). */
  searchPath: string | undefined;
  applicationName: string;
  onError: (err: Error) => void;
}

const INT8 = 20;
const parseInt8 = (v: string): number => Number(v);

/** int8 as a JS number, as PGlite returns it, so both backends give the same rows. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

export function createPgDriver(o: PgDriverOptions): Driver {
  const pool = new pg.Pool({
    connectionString: o.url,
    min: o.size,
    max: o.size + o.maxOverflow,
    idleTimeoutMillis: o.overflowIdleMs,
    connectionTimeoutMillis: o.timeoutMs,
    maxLifetimeSeconds: o.recycleMs / 1000,
    application_name: o.applicationName,
    types: types as unknown as pg.CustomTypesConfig,
    ...(o.searchPath !== undefined ? { options: `-c search_path=${o.searchPath}` } : {}),
  });
  const waits = new WaitHistogram();
  let acquisitions = 0;
  let timeouts = 0;
  let opened = 0;
  let closed = 0;
  let ending = false;
  /** Connections handed out or being handed out; pg-pool's own counts lag by a tick. */
  let held = 0;
  pool.on('connect', () => {
    opened++;
  });
  pool.on('remove', () => {
    closed++;
  });
  // An idle connection that dies (server restart, network) must not crash the process.
  pool.on('error', (err) => o.onError(err));

  async function acquire(): Promise<Acquired> {
    if (ending) throw new DbClosedError('the database layer is closed');
    const started = performance.now();
    const queued = held >= o.size + o.maxOverflow;
    held++;
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      held--;
      const waitedMs = performance.now() - started;
      const message = err instanceof Error ? err.message : String(err);
      if (/timeout exceeded when trying to connect/i.test(message)) {
        timeouts++;
        throw new DbPoolTimeoutError(
          `no database connection became free within ${Math.round(waitedMs)} ms (pool of ${o.size} + ${o.maxOverflow} overflow, all busy or unreachable)`,
        );
      }
      if (ending || /after calling end/i.test(message))
        throw new DbClosedError('the database layer is closed');
      throw toDbError(err, '(connect)');
    }
    const waitedMs = performance.now() - started;
    acquisitions++;
    waits.record(waitedMs);
    return { session: session(client), waitedMs, queued };
  }

  function session(client: pg.PoolClient): Session {
    let released = false;
    return {
      async query(sql: string, params: readonly unknown[]): Promise<RawResult> {
        const r = await client.query({ text: sql, values: params as unknown[] });
        return { rows: r.rows, rowCount: r.rowCount ?? r.rows.length, command: r.command };
      },
      async exec(sql: string): Promise<void> {
        await client.query(sql);
      },
      release(broken = false) {
        if (released) return;
        released = true;
        held--;
        client.release(broken);
      },
    };
  }

  return {
    kind: 'postgres',
    acquire,
    stats(): PoolStats {
      const total = pool.totalCount;
      const idle = pool.idleCount;
      const inUse = total - idle;
      return {
        total,
        idle,
        inUse,
        waiting: pool.waitingCount,
        overflow: Math.max(0, total - o.size),
        overflowInUse: Math.max(0, inUse - o.size),
        size: o.size,
        maxOverflow: o.maxOverflow,
        acquisitions,
        timeouts,
        opened,
        closed,
        waitHistogram: waits.snapshot(),
      };
    },
    async close() {
      if (ending) return;
      ending = true;
      await pool.end();
    },
  };
}

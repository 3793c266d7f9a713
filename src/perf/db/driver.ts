/** The seam between the database layer and a backend (a pg pool, or one embedded PGlite). */

export interface RawResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  command: string;
}

/** One connection, held from acquire to release. */
export interface Session {
  /** One statement, extended protocol (parameters bound, never interpolated). */
  query(sql: string, params: readonly unknown[]): Promise<RawResult>;
  /** Several statements, simple protocol, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Returns the connection; `broken` drops it instead of reusing it. */
  release(broken?: boolean): void;
}

export interface Acquired {
  session: Session;
  /** Time spent waiting for the connection, in ms (opening a new one included). */
  waitedMs: number;
  /** Every connection was busy: the caller queued (what the pool-size suggestion looks at). */
  queued: boolean;
}

export interface PoolStats {
  /** Connections open now. */
  total: number;
  idle: number;
  inUse: number;
  /** Callers waiting for a connection. */
  waiting: number;
  /** Open connections beyond DATABASE_POOL_SIZE. */
  overflow: number;
  /** In-use connections beyond DATABASE_POOL_SIZE. */
  overflowInUse: number;
  size: number;
  maxOverflow: number;
  acquisitions: number;
  timeouts: number;
  /** Connections opened and closed since start (recycling and overflow show here). */
  opened: number;
  closed: number;
  /** Pool wait, counts per upper bound in ms (the last bucket is +Inf). */
  waitHistogram: { le: number | '+Inf'; count: number }[];
}

export interface Driver {
  readonly kind: 'postgres' | 'pglite';
  /** Waits up to the pool timeout; throws DB_POOL_TIMEOUT, DB_UNAVAILABLE or DB_CLOSED. */
  acquire(): Promise<Acquired>;
  stats(): PoolStats;
  /** False while a lazily opened backend has not been opened yet. @default always open */
  isOpen?(): boolean;
  close(): Promise<void>;
}

/** Upper bounds (ms) of the pool-wait histogram. */
export const WAIT_BUCKETS_MS = [0.1, 0.5, 1, 5, 10, 50, 100, 500, 1000, 5000, 30_000];

/** Counts of waits per bucket, shared by both drivers. */
export class WaitHistogram {
  #counts = new Array<number>(WAIT_BUCKETS_MS.length + 1).fill(0);

  record(ms: number): void {
    let i = 0;
    while (i < WAIT_BUCKETS_MS.length && ms > WAIT_BUCKETS_MS[i]!) i++;
    this.#counts[i]!++;
  }

  snapshot(): PoolStats['waitHistogram'] {
    return this.#counts.map((count, i) => ({ le: WAIT_BUCKETS_MS[i] ?? '+Inf', count }));
  }
}

/** `dataDir` value for an embedded database held in memory only. */
export const IN_MEMORY = ':memory:';

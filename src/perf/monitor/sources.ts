/**
 * What the PerformanceManager reads from the parts it composes. Each part (cache, database,
 * breakers, HTTP clients, pools) is optional and plugs in through one of these small interfaces,
 * so the monitor depends on none of them; the server passes whatever exists.
 */

/** Cumulative counters of one cache layer (memory, redis, query, response, ...). */
export interface CacheLayerStats {
  layer: string;
  hits: number;
  misses: number;
  /** Entries dropped to make room (not expiries). */
  evictions?: number;
  sets?: number;
  /** Entries held now, and the most it may hold. */
  size?: number;
  maxSize?: number;
  /** Default time to live, ms. */
  ttlMs?: number;
  errors?: number;
}

export interface CacheSource {
  name: string;
  stats(): CacheLayerStats[] | Promise<CacheLayerStats[]>;
  /** Drops expired entries now; returns how many. */
  clearExpired?(): number | Promise<number>;
}

export interface SlowQuery {
  /** Normalised statement (parameters as $1, $2; never values). */
  statement: string;
  count: number;
  meanMs: number;
  maxMs?: number;
  /** Tables the plan reads with a sequential scan. */
  seqScanTables?: string[];
  /** A ready-to-run index suggestion (CREATE INDEX ...), when the analyser has one. */
  suggestedIndex?: string;
}

export interface DbPoolStats {
  size: number;
  max: number;
  idle: number;
  inUse: number;
  waiting: number;
  /** Longest or p95 wait for a connection over the recent past, ms. */
  waitMs?: number;
  timeouts?: number;
}

export interface DatabaseSource {
  name: string;
  stats(): DatabaseStats | Promise<DatabaseStats>;
}

export interface DatabaseStats {
  pool?: DbPoolStats;
  slowQueries?: SlowQuery[];
}

export type BreakerStateName = 'closed' | 'half-open' | 'open';

export interface BreakerTransition {
  from: BreakerStateName;
  to: BreakerStateName;
  /** Epoch ms. */
  at: number;
}

export interface BreakerStats {
  name: string;
  state: BreakerStateName;
  /** Recent transitions, oldest first. */
  transitions: BreakerTransition[];
}

export interface BreakerSource {
  states(): BreakerStats[] | Promise<BreakerStats[]>;
  /** Closes every breaker (or the named one). */
  reset(name?: string): void | Promise<void>;
}

type Figures = Record<string, number | string | boolean>;

/** HTTP clients: figures per client name (undici pool stats, say). */
export interface HttpClientsSource {
  stats(): Record<string, Figures> | Promise<Record<string, Figures>>;
}

/** An object pool (src/perf/pool satisfies it). */
export interface PoolSource {
  name: string;
  stats(): {
    size: number;
    max: number;
    idle: number;
    inUse: number;
    waiting: number;
    waitMsMax: number;
    timeouts: number;
  };
}

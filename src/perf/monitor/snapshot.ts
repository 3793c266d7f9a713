/** The live figures every rule, alert and health check reads: one plain object, easy to craft in tests. */
import type { BudgetReport, EventLoopReport, GcReport, LeakReport } from '../memory/index.ts';
import type { BreakerStats, DbPoolStats, SlowQuery } from './sources.ts';
import type { Trend } from './trends.ts';
import type { LatencySummary } from './window.ts';

export interface Targets {
  /** p95 response time, ms (TARGET_RESPONSE_TIME_MS). */
  responseTimeMs: number;
  /** p95 database query time, ms. */
  dbQueryMs: number;
  /** Cache hit rate, 0..1 (TARGET_CACHE_HIT_RATE). */
  cacheHitRate: number;
  /** Memory per worker, MB (TARGET_MEMORY_USAGE_MB). */
  memoryMb: number;
  /** Share of requests answered with 5xx, 0..1. */
  errorRate: number;
}

export interface CacheLayerView {
  source: string;
  layer: string;
  /** Over the window; null when the layer saw no lookups in it. */
  hitRate: number | null;
  hits: number;
  misses: number;
  evictions: number;
  sets: number;
  size: number | null;
  maxSize: number | null;
  ttlMs: number | null;
}

export interface PoolView {
  name: string;
  kind: 'object' | 'database';
  size: number;
  max: number;
  idle: number;
  inUse: number;
  waiting: number;
  waitMs: number;
  timeouts: number;
}

export interface MemoryView {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  budget: BudgetReport;
  leak: LeakReport;
  gc: GcReport;
  eventLoop: EventLoopReport;
}

export interface PerformanceSnapshot {
  /** Epoch ms. */
  at: number;
  windowMs: number;
  targets: Targets;
  http: LatencySummary;
  /** p95 over the last minute, for alerts that must react faster than the 5-minute view. */
  http1m: LatencySummary;
  db: LatencySummary | null;
  caches: CacheLayerView[];
  pools: PoolView[];
  breakers: BreakerStats[];
  slowQueries: SlowQuery[];
  memory: MemoryView | null;
  dbPool: DbPoolStats | null;
  trends: Trend[];
}

/** A healthy snapshot of live figures, to be bent one field at a time by the tests. */
import type { LatencySummary, PerformanceSnapshot } from '../../src/perf/monitor/index.ts';

export function latency(over: Partial<LatencySummary> = {}): LatencySummary {
  return {
    count: 1000,
    errors: 0,
    errorRate: 0,
    p50: 20,
    p95: 60,
    p99: 90,
    max: 120,
    mean: 25,
    rate: 3.3,
    windowMs: 300_000,
    ...over,
  };
}

const MiB = 1024 * 1024;

export function healthySnapshot(): PerformanceSnapshot {
  return {
    at: 1_800_000_000_000,
    windowMs: 300_000,
    targets: { responseTimeMs: 200, dbQueryMs: 50, cacheHitRate: 0.8, memoryMb: 512, errorRate: 0.01 },
    http: latency(),
    http1m: latency({ count: 200, windowMs: 60_000 }),
    db: latency({ p95: 8, p50: 2 }),
    caches: [
      {
        source: 'cache',
        layer: 'memory',
        hitRate: 0.9,
        hits: 900,
        misses: 100,
        evictions: 5,
        sets: 100,
        size: 4000,
        maxSize: 10_000,
        ttlMs: 300_000,
      },
    ],
    pools: [
      {
        name: 'gzip',
        kind: 'object',
        size: 4,
        max: 4,
        idle: 2,
        inUse: 2,
        waiting: 0,
        waitMs: 0,
        timeouts: 0,
      },
    ],
    breakers: [{ name: 'openai', state: 'closed', transitions: [] }],
    slowQueries: [{ statement: 'SELECT * FROM events WHERE id = $1', count: 3, meanMs: 120 }],
    dbPool: { size: 20, max: 20, idle: 15, inUse: 5, waiting: 0, waitMs: 0, timeouts: 0 },
    memory: {
      rssBytes: 150 * MiB,
      heapUsedBytes: 60 * MiB,
      heapTotalBytes: 80 * MiB,
      externalBytes: 5 * MiB,
      budget: { budgetBytes: 512 * MiB, usedBytes: 150 * MiB, ratio: 0.293, status: 'ok' },
      leak: {
        suspected: false,
        slopeBytesPerMinute: 1000,
        confidence: 0.6,
        r2: 0.1,
        growthBytes: 10_000,
        points: 120,
        windowMs: 600_000,
        reason: 'heap after GC is flat or falling',
      },
      gc: { counts: { minor: 100, major: 3 }, pauseMsTotal: 40, pauseMsMax: 4, pauses: 103 },
      eventLoop: { p50Ms: 10, p99Ms: 12, maxMs: 20 },
    },
    trends: [],
  };
}

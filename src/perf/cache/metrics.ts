/**
 * Prometheus series for every cache built on one MetricsRegistry. Caches register as sources;
 * at scrape time the sink copies their count deltas into `cache_operations_total`, sums their
 * entries and bytes, and derives `cache_hit_rate` from the process's cumulative counts.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { MetricsRegistry } from '../metrics/index.ts';
import { type Counts, L1_EVICT, L1_HIT, L1_MISS, L1_STALE, L2_HIT, L2_MISS, SLOTS } from './counters.ts';

export interface MetricsSource {
  counts: Counts;
  entries(): number;
  bytes(): number | undefined;
}

interface Sink {
  sources: Set<{ source: MetricsSource; flushed: Float64Array }>;
  operations: Counter<'layer' | 'op' | 'result'>;
  l2Seconds: Histogram<'op'>;
  totals: Float64Array;
  evictions: Counter<'layer'>;
}

const sinks = new WeakMap<MetricsRegistry, Sink>();

/** L2 round trips: from 100 µs (local Redis) to the timeout range. */
const L2_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

function sinkFor(metrics: MetricsRegistry): Sink {
  const existing = sinks.get(metrics);
  if (existing !== undefined) return existing;
  // Gauges first: the registry starts collecting in registration order, and the first gauge's
  // hook copies every source's counts synchronously, before the counters are read.
  const entries = metrics.gauge<'layer'>({
    name: 'cache_entries',
    help: 'Entries held in the cache tier of this process',
    labelNames: ['layer'],
  });
  const bytes = metrics.gauge<'layer'>({
    name: 'cache_bytes',
    help: 'Estimated bytes held in the L1 tier (reported when l1.maxBytes bounds it)',
    labelNames: ['layer'],
  });
  const hitRate = metrics.gauge<'layer'>({
    name: 'cache_hit_rate',
    help: 'Cache hits / (hits + misses) since start, per layer (stale serves count as hits)',
    labelNames: ['layer'],
    aggregator: 'average',
  });
  const sink: Sink = {
    sources: new Set(),
    operations: metrics.counter<'layer' | 'op' | 'result'>({
      name: 'cache_operations_total',
      help: 'Cache operations by layer, operation and result',
      labelNames: ['layer', 'op', 'result'],
    }),
    l2Seconds: metrics.histogram<'op'>({
      name: 'cache_l2_duration_seconds',
      help: 'Latency of Redis (L2) cache calls',
      labelNames: ['op'],
      buckets: L2_BUCKETS,
    }),
    totals: new Float64Array(SLOTS.length),
    evictions: metrics.counter<'layer'>({
      name: 'cache_evictions_total',
      help: 'Entries evicted from L1 to respect its bounds',
      labelNames: ['layer'],
    }),
  };
  metrics.onCollect(entries as Gauge<string>, () => {
    let n = 0;
    let b = 0;
    let anyBytes = false;
    for (const s of sink.sources) {
      flush(sink, s);
      n += s.source.entries();
      const sb = s.source.bytes();
      if (sb !== undefined) {
        anyBytes = true;
        b += sb;
      }
    }
    entries.set({ layer: 'l1' }, n);
    if (anyBytes) bytes.set({ layer: 'l1' }, b);
  });
  metrics.onCollect(hitRate as Gauge<string>, () => {
    const t = sink.totals;
    const l1Hits = t[L1_HIT]! + t[L1_STALE]!;
    const l1Reads = l1Hits + t[L1_MISS]!;
    const l2Reads = t[L2_HIT]! + t[L2_MISS]!;
    if (l1Reads > 0) hitRate.set({ layer: 'l1' }, l1Hits / l1Reads);
    if (l2Reads > 0) hitRate.set({ layer: 'l2' }, t[L2_HIT]! / l2Reads);
  });
  sinks.set(metrics, sink);
  return sink;
}

function flush(sink: Sink, s: { source: MetricsSource; flushed: Float64Array }): void {
  const counts = s.source.counts;
  for (let i = 0; i < counts.length; i++) {
    const delta = counts[i]! - s.flushed[i]!;
    if (delta === 0) continue;
    const [layer, op, result] = SLOTS[i]!;
    sink.operations.inc({ layer, op, result }, delta);
    if (i === L1_EVICT) sink.evictions.inc({ layer: 'l1' }, delta);
    sink.totals[i]! += delta;
    s.flushed[i] = counts[i]!;
  }
}

export interface CacheMetrics {
  /** Observes one L2 call's duration in seconds. */
  l2(op: 'get' | 'set' | 'delete' | 'clear' | 'tags' | 'lock' | 'publish', seconds: number): void;
  close(): void;
}

export function attachMetrics(metrics: MetricsRegistry | undefined, source: MetricsSource): CacheMetrics {
  if (metrics === undefined) return { l2() {}, close() {} };
  const sink = sinkFor(metrics);
  const entry = { source, flushed: new Float64Array(source.counts.length) };
  sink.sources.add(entry);
  const children = {
    get: sink.l2Seconds.labels('get'),
    set: sink.l2Seconds.labels('set'),
    delete: sink.l2Seconds.labels('delete'),
    clear: sink.l2Seconds.labels('clear'),
    tags: sink.l2Seconds.labels('tags'),
    lock: sink.l2Seconds.labels('lock'),
    publish: sink.l2Seconds.labels('publish'),
  };
  return {
    l2(op, seconds) {
      children[op].observe(seconds);
    },
    close() {
      flush(sink, entry);
      sink.sources.delete(entry);
    },
  };
}

/**
 * The seed's metric names and the monitor's own, on the shared registry. Gauges are computed at
 * scrape time from the last evaluated snapshot (at most one evaluation interval old), so a scrape
 * never waits on a cache or database source.
 */
import type { Histogram } from 'prom-client';
import type { MetricsRegistry } from '../metrics/index.ts';
import type { AlertEngine } from './alerts.ts';
import type { PerformanceSnapshot } from './snapshot.ts';
import { evaluateTargets } from './targets.ts';

const STATUS_VALUE = { ok: 0, no_data: 0, degraded: 1, failing: 2 } as const;

/**
 * The seed's names owned by other parts (the cache, the resilience layer, the database). Declared
 * at initialize() only when the owner did not register them, so /metrics always carries every
 * seed name and the owner's help text, labels and cluster aggregation win when it exists.
 */
export function declareSeedMetrics(metrics: MetricsRegistry): void {
  const missing = (name: string) => metrics.registry.getSingleMetric(name) === undefined;
  if (missing('database_query_duration_seconds')) {
    metrics.histogram({
      name: 'database_query_duration_seconds',
      help: 'Database query duration in seconds, by operation and whether the query cache answered.',
      labelNames: ['operation', 'cached'] as const,
    });
  }
  if (missing('cache_operations_total')) {
    metrics.counter({
      name: 'cache_operations_total',
      help: 'Cache operations by layer, operation and result.',
      labelNames: ['layer', 'op', 'result'] as const,
    });
  }
  if (missing('cache_hit_rate')) {
    metrics.gauge({
      name: 'cache_hit_rate',
      help: 'Cache hits / (hits + misses), by layer.',
      labelNames: ['layer'] as const,
      aggregator: 'average',
    });
  }
  if (missing('circuit_breaker_state')) {
    metrics.gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state per service: 0 closed, 1 half-open, 2 open.',
      labelNames: ['service'] as const,
      aggregator: 'max',
    });
  }
}

export interface MonitorMetrics {
  contextHistogram: Histogram<'name'>;
  detach(): void;
}

export function registerMonitorMetrics(
  metrics: MetricsRegistry,
  latest: () => PerformanceSnapshot | undefined,
  alerts: AlertEngine,
): MonitorMetrics {
  const memory = metrics.gauge({
    name: 'memory_usage_bytes',
    help: 'Process memory in bytes, by type (rss, heap_used, heap_total, external, array_buffers).',
    labelNames: ['type'] as const,
  });
  const target = metrics.gauge({
    name: 'performance_target_status',
    help: 'Each seed target against the last 5 minutes: 0 ok (or no data), 1 degraded, 2 failing.',
    labelNames: ['target'] as const,
    aggregator: 'max',
  });
  const firing = metrics.gauge({
    name: 'performance_alerts_firing',
    help: 'Alerts firing now, by rule.',
    labelNames: ['alert', 'severity'] as const,
  });
  const budget = metrics.gauge({
    name: 'memory_budget_ratio',
    help: 'Resident memory divided by TARGET_MEMORY_USAGE_MB (warning at 0.8).',
    aggregator: 'max',
  });
  const leak = metrics.gauge({
    name: 'memory_leak_slope_bytes_per_minute',
    help: 'Growth of the heap that survives GC, bytes per minute (fitted over the leak window).',
    aggregator: 'max',
  });
  const leakSuspected = metrics.gauge({
    name: 'memory_leak_suspected',
    help: '1 when the leak detector sees steady growth of the heap after GC.',
    aggregator: 'max',
  });
  const contextHistogram = metrics.histogram({
    name: 'performance_context_duration_seconds',
    help: 'Duration of operations timed with PerformanceManager.context(), by name.',
    labelNames: ['name'] as const,
  });

  const removers = [
    metrics.onCollect(memory, () => {
      const m = process.memoryUsage();
      memory.set({ type: 'rss' }, m.rss);
      memory.set({ type: 'heap_used' }, m.heapUsed);
      memory.set({ type: 'heap_total' }, m.heapTotal);
      memory.set({ type: 'external' }, m.external);
      memory.set({ type: 'array_buffers' }, m.arrayBuffers);
    }),
    metrics.onCollect(target, () => {
      const s = latest();
      if (s === undefined) return;
      for (const c of evaluateTargets(s).checks) target.set({ target: c.name }, STATUS_VALUE[c.status]);
    }),
    metrics.onCollect(firing, () => {
      firing.reset();
      const counts = new Map<string, { severity: string; n: number }>();
      for (const rule of alerts.rules()) counts.set(rule.id, { severity: rule.severity, n: 0 });
      for (const a of alerts.active()) if (a.state === 'firing') counts.get(a.rule)!.n++;
      for (const [alert, { severity, n }] of counts) firing.set({ alert, severity }, n);
    }),
    metrics.onCollect(budget, () => {
      const m = latest()?.memory;
      if (m) budget.set(m.budget.ratio);
    }),
    metrics.onCollect(leak, () => {
      const m = latest()?.memory;
      if (m) leak.set(m.leak.slopeBytesPerMinute);
    }),
    metrics.onCollect(leakSuspected, () => {
      const m = latest()?.memory;
      if (m) leakSuspected.set(m.leak.suspected ? 1 : 0);
    }),
  ];
  return {
    contextHistogram,
    detach() {
      for (const r of removers) r();
    },
  };
}

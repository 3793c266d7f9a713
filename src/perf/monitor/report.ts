/**
 * The JSON of GET /admin/performance, shaped for a dashboard: every section is an array or an
 * object of plain figures with units in the field names, times as epoch ms, and nothing that needs
 * a second request to make sense of.
 */
import type { MemoryMonitor } from '../memory/index.ts';
import type { Alert, AlertTransition } from './alerts.ts';
import type { Recommendation } from './recommendations.ts';
import type { CacheLayerView, PerformanceSnapshot, PoolView } from './snapshot.ts';
import type { BreakerStats, SlowQuery } from './sources.ts';
import type { PerformanceHealth } from './targets.ts';
import type { Trend } from './trends.ts';
import type { LatencySummary } from './window.ts';

export interface PerformanceReport {
  generated_at: number;
  window_s: number;
  status: PerformanceHealth['status'];
  targets: PerformanceHealth['checks'];
  http: { last_5m: LatencySummary; last_1m: LatencySummary };
  contexts: Record<string, LatencySummary>;
  caches: CacheLayerView[];
  pools: PoolView[];
  database: { queries: LatencySummary | null; slow_queries: SlowQuery[] } | null;
  breakers: BreakerStats[];
  http_clients: { name: string; stats: Record<string, number | string | boolean> }[];
  memory: {
    rss_bytes: number;
    heap_used_bytes: number;
    heap_total_bytes: number;
    external_bytes: number;
    budget: NonNullable<PerformanceSnapshot['memory']>['budget'];
    leak: NonNullable<PerformanceSnapshot['memory']>['leak'];
    gc: NonNullable<PerformanceSnapshot['memory']>['gc'];
    event_loop: NonNullable<PerformanceSnapshot['memory']>['eventLoop'];
    /** Samples over the leak window, at most 120 (evenly thinned), oldest first. */
    history: { t: number; rss_bytes: number; heap_used_bytes: number }[];
    heap_after_gc: { t: number; bytes: number }[];
  } | null;
  trends: Trend[];
  alerts: { active: Alert[]; history: AlertTransition[] };
  recommendations: Recommendation[];
  actions: { name: string; method: 'POST'; path: string; description: string }[];
}

/** The operator actions, POST /admin/performance/actions/<name>. */
export const ACTION_NAMES = ['gc', 'clear-expired', 'reset-breakers', 'heap-snapshot'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

const ACTION_DESCRIPTIONS: Record<ActionName, string> = {
  gc: 'Force a full garbage collection (needs --expose-gc).',
  'clear-expired': 'Drop expired cache entries now.',
  'reset-breakers': 'Close every circuit breaker.',
  'heap-snapshot': 'Write a heap snapshot to a file on the server (blocks the process while it writes).',
};

export const ACTIONS: PerformanceReport['actions'] = ACTION_NAMES.map((name) => ({
  name,
  method: 'POST',
  path: `/admin/performance/actions/${name}`,
  description: ACTION_DESCRIPTIONS[name],
}));

function thin<T>(list: readonly T[], max: number): T[] {
  if (list.length <= max) return [...list];
  const step = list.length / max;
  return Array.from({ length: max }, (_, i) => list[Math.floor(i * step)]!);
}

export function buildReport(input: {
  snapshot: PerformanceSnapshot;
  health: PerformanceHealth;
  recommendations: Recommendation[];
  alerts: { active: Alert[]; history: AlertTransition[] };
  contexts: Record<string, LatencySummary>;
  clients: { name: string; stats: Record<string, number | string | boolean> }[];
  memory: MemoryMonitor | undefined;
}): PerformanceReport {
  const s = input.snapshot;
  const m = s.memory;
  return {
    generated_at: s.at,
    window_s: Math.round(s.windowMs / 1000),
    status: input.health.status,
    targets: input.health.checks,
    http: { last_5m: s.http, last_1m: s.http1m },
    contexts: input.contexts,
    caches: s.caches,
    pools: s.pools,
    database:
      s.db === null && s.slowQueries.length === 0 ? null : { queries: s.db, slow_queries: s.slowQueries },
    breakers: s.breakers,
    http_clients: input.clients,
    memory:
      m === null || input.memory === undefined
        ? null
        : {
            rss_bytes: m.rssBytes,
            heap_used_bytes: m.heapUsedBytes,
            heap_total_bytes: m.heapTotalBytes,
            external_bytes: m.externalBytes,
            budget: m.budget,
            leak: m.leak,
            gc: m.gc,
            event_loop: m.eventLoop,
            history: thin(input.memory.history(), 120).map((x) => ({
              t: x.t,
              rss_bytes: x.rss,
              heap_used_bytes: x.heapUsed,
            })),
            heap_after_gc: thin(input.memory.heapAfterGc(), 120).map((p) => ({ t: p.t, bytes: p.bytes })),
          },
    trends: s.trends,
    alerts: input.alerts,
    recommendations: input.recommendations,
    actions: ACTIONS,
  };
}

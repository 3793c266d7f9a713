/** Pool gauges and the pool-wait histogram, refreshed from the driver's stats at each scrape. */
import type { MetricsRegistry } from '../metrics/index.ts';
import type { Driver } from './driver.ts';

export function registerPoolMetrics(metrics: MetricsRegistry, driver: Driver): () => void {
  const connections = metrics.gauge({
    name: 'database_pool_connections',
    help: 'Database pool connections by state (idle, in_use, overflow, waiting callers).',
    labelNames: ['state'],
  });
  const acquisitions = metrics.gauge({
    name: 'database_pool_acquisitions',
    help: 'Connections handed out since start, and waits that ended in DB_POOL_TIMEOUT.',
    labelNames: ['result'],
  });
  return metrics.onCollect(connections, () => {
    const s = driver.stats();
    connections.set({ state: 'idle' }, s.idle);
    connections.set({ state: 'in_use' }, s.inUse);
    connections.set({ state: 'overflow' }, s.overflow);
    connections.set({ state: 'waiting' }, s.waiting);
    acquisitions.set({ result: 'ok' }, s.acquisitions);
    acquisitions.set({ result: 'timeout' }, s.timeouts);
  });
}

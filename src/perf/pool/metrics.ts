import type { MetricsRegistry } from '../metrics/index.ts';

/** What a pool reports on its slow paths (the fast path reports nothing; gauges read its stats). */
export interface PoolObserver {
  waited(seconds: number): void;
  timedOut(): void;
  rejected(): void;
  createFailed(): void;
  validationFailed(): void;
}

interface StatsSource {
  readonly name: string;
  stats(): { size: number; idle: number; inUse: number; waiting: number; max: number };
}

/** Wait times from 10 µs (an immediate hand-off) to 30 s (the default acquire timeout). */
const WAIT_BUCKETS = [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function attachPoolMetrics(
  metrics: MetricsRegistry,
  pool: StatsSource,
): { observer: PoolObserver; detach: () => void } {
  const labelNames = ['pool'] as const;
  const gauges = {
    size: metrics.gauge({ name: 'pool_size', help: 'Objects alive or being created, by pool.', labelNames }),
    idle: metrics.gauge({ name: 'pool_idle', help: 'Idle objects, by pool.', labelNames }),
    inUse: metrics.gauge({ name: 'pool_in_use', help: 'Objects lent out, by pool.', labelNames }),
    waiting: metrics.gauge({
      name: 'pool_waiting',
      help: 'Borrowers waiting for an object, by pool.',
      labelNames,
    }),
    max: metrics.gauge({ name: 'pool_max', help: 'Configured maximum size, by pool.', labelNames }),
  };
  const wait = metrics
    .histogram({
      name: 'pool_wait_seconds',
      help: 'Time borrowers waited for an object (borrows served at once from an idle object are not observed).',
      labelNames,
      buckets: WAIT_BUCKETS,
    })
    .labels(pool.name);
  const counter = (name: string, help: string) =>
    metrics.counter({ name, help, labelNames }).labels(pool.name);
  const timeouts = counter('pool_acquire_timeouts_total', 'Borrows that failed with POOL_ACQUIRE_TIMEOUT.');
  const rejected = counter('pool_rejected_total', 'Borrows turned away with POOL_QUEUE_FULL.');
  const createErrors = counter('pool_create_errors_total', 'Factory failures.');
  const invalid = counter('pool_validation_failures_total', 'Objects destroyed because validation failed.');

  // One hook per gauge: each gauge's collect runs just before it is read.
  const removers = (Object.keys(gauges) as (keyof typeof gauges)[]).map((field) =>
    metrics.onCollect(gauges[field], () => {
      gauges[field].set({ pool: pool.name }, pool.stats()[field]);
    }),
  );
  return {
    observer: {
      waited: (seconds) => wait.observe(seconds),
      timedOut: () => timeouts.inc(),
      rejected: () => rejected.inc(),
      createFailed: () => createErrors.inc(),
      validationFailed: () => invalid.inc(),
    },
    detach() {
      for (const remove of removers) remove();
      for (const g of Object.values(gauges)) g.remove({ pool: pool.name });
    },
  };
}

/**
 * One Prometheus registry per process that every component registers into.
 *
 * Components receive a `MetricsRegistry` and ask it for counters, gauges and histograms by name;
 * asking twice for the same name returns the same metric, so several instances of a component
 * (or a component built twice in tests) share one series set. Gauges that are computed from live
 * state take collect hooks: each instance adds its own hook and removes it on close, so a closed
 * instance never reports again.
 */
import {
  type Aggregator,
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  Registry,
} from 'prom-client';

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** How cluster aggregation combines workers' values. @default 'sum' */
  aggregator?: Aggregator;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds in the metric's unit. @default SECONDS_BUCKETS */
  buckets?: number[];
}

type CollectHook = () => void | Promise<void>;

export interface MetricsRegistry {
  readonly registry: Registry;
  readonly contentType: string;
  counter<L extends string = string>(options: MetricOptions<L>): Counter<L>;
  gauge<L extends string = string>(options: MetricOptions<L>): Gauge<L>;
  histogram<L extends string = string>(options: HistogramOptions<L>): Histogram<L>;
  /** Runs `hook` before each scrape to refresh `gauge`. Returns the function that removes it. */
  onCollect(gauge: Gauge<string>, hook: CollectHook): () => void;
  /** This process's metrics in Prometheus text format. */
  metrics(): Promise<string>;
}

/** Latency buckets in seconds, from 100 µs (cache hits) to 30 s (slow LLM calls). */
export const SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30,
];

export interface MetricsRegistryOptions {
  /** Collect Node's default process and event-loop metrics. @default true */
  defaultMetrics?: boolean;
}

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): MetricsRegistry {
  const registry = new Registry();
  const hooks = new Map<string, Set<CollectHook>>();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  function existing<T extends Metric>(name: string, type: new (...args: never[]) => T): T | undefined {
    const found = registry.getSingleMetric(name);
    if (found === undefined) return undefined;
    if (!(found instanceof type)) throw new Error(`metric ${name} is already registered with another type`);
    return found;
  }

  return {
    registry,
    contentType: registry.contentType,
    counter<L extends string>(o: MetricOptions<L>) {
      return existing<Counter<L>>(o.name, Counter) ?? new Counter<L>({ ...base(o), registers: [registry] });
    },
    gauge<L extends string>(o: MetricOptions<L>) {
      const found = existing<Gauge<L>>(o.name, Gauge);
      if (found) return found;
      const set = new Set<CollectHook>();
      hooks.set(o.name, set);
      return new Gauge<L>({
        ...base(o),
        registers: [registry],
        async collect() {
          for (const hook of set) await hook();
        },
      });
    },
    histogram<L extends string>(o: HistogramOptions<L>) {
      return (
        existing<Histogram<L>>(o.name, Histogram) ??
        new Histogram<L>({ ...base(o), buckets: o.buckets ?? SECONDS_BUCKETS, registers: [registry] })
      );
    },
    onCollect(gauge, hook) {
      const name = (gauge as unknown as { name: string }).name;
      const set = hooks.get(name);
      if (set === undefined) throw new Error(`gauge ${name} was not created by this registry`);
      set.add(hook);
      return () => {
        set.delete(hook);
      };
    },
    metrics() {
      return registry.metrics();
    },
  };
}

function base<L extends string>(o: MetricOptions<L>) {
  return {
    name: o.name,
    help: o.help,
    labelNames: (o.labelNames ?? []) as L[],
    ...(o.aggregator ? { aggregator: o.aggregator } : {}),
  };
}

export { type ClusterMetrics, createClusterMetrics, serveClusterMetrics } from './cluster.ts';
export { histogramObserver } from './fast-histogram.ts';
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from './server.ts';
export { AggregatorRegistry };

/**
 * Metrics across node:cluster workers.
 *
 * A scrape can land on any worker, and each worker only knows its own series. The worker asks the
 * primary over IPC; the primary asks every worker (prom-client's AggregatorRegistry), sums the
 * series and answers. Outside cluster mode the local registry answers directly.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';

const REQUEST = 'versus:metrics-req';
const RESPONSE = 'versus:metrics-res';

interface MetricsMessage {
  type: string;
  id: number;
  text?: string;
  error?: string;
}

export interface ClusterMetrics {
  /** Prometheus text for the whole cluster (or this process when not clustered). */
  metrics(): Promise<string>;
}

let primaryStarted = false;

/** Call once in the primary: answers workers' requests for aggregated metrics. */
export function serveClusterMetrics(): AggregatorRegistry<PrometheusContentType> {
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  if (primaryStarted) return aggregator;
  primaryStarted = true;
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: RESPONSE, id: message.id, text }),
      (err: Error) =>
        worker.isConnected() && worker.send({ type: RESPONSE, id: message.id, error: err.message }),
    );
  });
  return aggregator;
}

/** In a worker: route scrapes through the primary; elsewhere: the local registry. */
export function createClusterMetrics(registry: Registry, timeoutMs = 5000): ClusterMetrics {
  if (!cluster.isWorker || typeof process.send !== 'function') {
    return { metrics: () => registry.metrics() };
  }
  // Constructing an AggregatorRegistry in a worker installs prom-client's listener that answers
  // the primary with this worker's series.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);

  let nextId = 0;
  const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  process.on('message', (message: MetricsMessage) => {
    if (message?.type !== RESPONSE) return;
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.text ?? '');
  });

  return {
    metrics() {
      const id = nextId++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the cluster primary did not answer the metrics request in time'));
        }, timeoutMs);
        timer.unref();
        pending.set(id, {
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        process.send?.({ type: REQUEST, id });
      });
    },
  };
}

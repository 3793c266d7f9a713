import type { FastifyInstance } from 'fastify';
import type { Histogram } from 'prom-client';
import type { MetricsRegistry } from '../metrics/index.ts';

/**
 * Observes `http_request_duration_seconds{method,route,status}` for every reply. The route label
 * is the route pattern (`/v1/experiments/:id`), or `unmatched` for 404s, so label cardinality is
 * bounded by the routes the app declares, never by the URLs clients send.
 */
export function installHttpMetrics(app: FastifyInstance, metrics: MetricsRegistry): void {
  const histogram = metrics.histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
  });
  // Children are cached by label tuple: resolving labels in prom-client hashes them on every call.
  const children = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const key = `${request.method} ${status} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = histogram.labels(request.method, route, String(status));
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}

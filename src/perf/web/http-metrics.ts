import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import { histogramObserver, type MetricsRegistry } from '../metrics/index.ts';

/**
 * Observes `http_request_duration_seconds{method,route,status}` for every reply. The route label
 * is the route pattern (`/v1/experiments/:id`), or `unmatched` for 404s, so label cardinality is
 * bounded by the routes the app declares, never by the URLs clients send.
 *
 * Each route gets its own onResponse hook that already knows its pattern: reading
 * `request.routeOptions` builds a frozen object per access (about 200 ns measured), which was
 * the largest single cost of instrumentation. Call before routes are registered.
 */
export function installHttpMetrics(app: FastifyInstance, metrics: MetricsRegistry): void {
  const histogram = metrics.histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
  });

  function observerFor(route: string) {
    // By status, then method: no key string is built per request.
    const byStatus = new Map<number, Map<string, (seconds: number) => void>>();
    return (request: FastifyRequest, reply: FastifyReply) => {
      const status = reply.statusCode;
      let byMethod = byStatus.get(status);
      if (byMethod === undefined) {
        byMethod = new Map();
        byStatus.set(status, byMethod);
      }
      let observe = byMethod.get(request.method);
      if (observe === undefined) {
        observe = histogramObserver(histogram, { method: request.method, route, status: String(status) });
        byMethod.set(request.method, observe);
      }
      observe(reply.elapsedTime / 1000);
    };
  }

  app.addHook('onRoute', (route) => {
    const observe = observerFor(route.url);
    const hook: onResponseHookHandler = (request, reply, done) => {
      observe(request, reply);
      done();
    };
    const existing = route.onResponse;
    route.onResponse =
      existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook];
  });
  // Requests no route matched: the not-found handler is not a route, so a root hook takes them.
  const unmatched = observerFor('unmatched');
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) unmatched(request, reply);
    done();
  });
}

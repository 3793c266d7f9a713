import type { FastifyInstance } from 'fastify';
import type { PerformanceManager } from './manager.ts';

/**
 * Feeds every reply's duration and status into the manager's windowed histogram: one hook, one
 * histogram update (a log-linear histogram, see log-histogram.ts), no allocation.
 */
export function installRequestTiming(app: FastifyInstance, manager: PerformanceManager): void {
  app.addHook('onResponse', (_request, reply, done) => {
    manager.recordRequest(reply.elapsedTime, reply.statusCode);
    done();
  });
}

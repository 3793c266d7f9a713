/** Liveness, readiness and metrics routes. */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { DependencyUnavailableError } from '../../perf/errors.ts';
import { sendError } from '../../perf/web/index.ts';

const startedAt = Date.now();

export function registerSystemRoutes(app: FastifyInstance): void {
  const versus = app.versus;
  const worker = cluster.isWorker ? (cluster.worker?.id ?? 0) : 0;

  app.get('/health', async () => ({
    status: 'ok',
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
    pid: process.pid,
    worker,
  }));

  app.get('/health/ready', async (_request, reply) => {
    const report = await versus.health.run();
    if (report.ok) return { status: 'ready', checks: report.checks };
    const reasons = report.failed.map((name) => `${name}: ${report.checks[name]?.error ?? 'failed'}`);
    return sendError(
      reply,
      new DependencyUnavailableError(`not ready: ${reasons.join('; ')}`, {
        details: { failed: report.failed, checks: report.checks },
      }),
    );
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await versus.clusterMetrics.metrics();
    return reply.type(versus.metrics.contentType).send(text);
  });
}

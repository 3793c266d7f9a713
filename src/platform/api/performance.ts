/**
 * The performance routes: targets against measured values (a probe), the admin JSON the dashboard
 * is built on, recommendations, and the operator actions. /admin/* is guarded by the admin key in
 * the auth hook.
 */
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError, NotFoundError } from '../../perf/errors.ts';
import {
  ACTION_NAMES,
  type ActionName,
  MonitoringDisabledError,
  PerformanceFailingError,
  toSnakeCase,
} from '../../perf/monitor/index.ts';
import { sendError } from '../../perf/web/index.ts';

export function registerPerformanceRoutes(app: FastifyInstance): void {
  const manager = () => {
    const m = app.versus.performance;
    if (m === undefined) {
      throw new MonitoringDisabledError(
        'performance monitoring is off: set ENABLE_PERFORMANCE_MONITORING=true',
      );
    }
    return m;
  };

  app.get('/health/performance', async (_request, reply) => {
    const m = app.versus.performance;
    if (m === undefined) return { status: 'disabled', message: 'ENABLE_PERFORMANCE_MONITORING is false' };
    const health = await m.health();
    if (health.status !== 'failing') return toSnakeCase(health);
    const failing = health.checks.filter((c) => c.status === 'failing');
    return sendError(
      reply,
      new PerformanceFailingError(
        `performance targets failing: ${failing.map((c) => `${c.name} ${c.value} ${c.unit} (target ${c.target})`).join('; ')}`,
        { details: toSnakeCase(health) as Record<string, unknown> },
      ),
    );
  });

  app.get('/admin/performance', async () => toSnakeCase(await manager().report()));

  app.get('/admin/performance/recommendations', async () => ({
    generated_at: Date.now(),
    recommendations: toSnakeCase(await manager().recommendations()),
  }));

  app.post<{ Params: { action: string } }>(
    '/admin/performance/actions/:action',
    {
      // A client that sends `content-type: application/json` with no body (curl -X POST -H ...,
      // many HTTP libraries) means "no body", as an action takes none: it is not parsed as JSON.
      onRequest: async (request) => {
        if (request.headers['content-length'] === '0') delete request.headers['content-type'];
      },
    },
    async (request) => {
      const { action } = request.params;
      if (!isAction(action)) {
        throw new NotFoundError(
          `no performance action "${action}"; the actions are ${ACTION_NAMES.join(', ')} (GET /admin/performance lists them)`,
        );
      }
      refuseBody(action, request.body);
      return toSnakeCase(await runAction(action));
    },
  );

  function isAction(name: string): name is ActionName {
    return (ACTION_NAMES as readonly string[]).includes(name);
  }

  /**
   * The actions take no options: a body that asks for something (`{"service": ...}` to reset one
   * breaker) is refused rather than ignored, since ignoring it would do more than was asked.
   */
  function refuseBody(action: ActionName, body: unknown): void {
    if (body === undefined) return;
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)
      return;
    const hint =
      action === 'reset-breakers'
        ? '; to reset one breaker, POST /admin/breakers/reset with {"service": "<name>"}'
        : '';
    throw new InvalidRequestError(`${action} takes no body (send none, or {})${hint}`);
  }

  async function runAction(action: ActionName) {
    const m = manager();
    switch (action) {
      case 'gc': {
        const result = m.forceGc();
        return { action: 'gc', ok: result.performed, message: result.message, details: result };
      }
      case 'clear-expired':
        return m.clearExpired();
      case 'reset-breakers':
        return m.resetBreakers();
      case 'heap-snapshot':
        return m.heapSnapshot();
    }
  }
}

import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_LOAD_SHEDDING, testApp } from './helpers/app.ts';

const ADMIN = 'admin-key-abcdefghijklm';
const CLIENT = 'client-key-abcdefghijkl';
const admin = { authorization: `Bearer ${ADMIN}` };

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(env: Record<string, string> = {}) {
  // A generous memory budget and no load shedding: the test worker also holds PGlite (whose start
  // blocks the event loop for seconds on a busy machine) and every other suite's leftovers.
  const t = await testApp({
    API_KEYS: CLIENT,
    ADMIN_API_KEY: ADMIN,
    TARGET_MEMORY_USAGE_MB: '16384',
    ...NO_LOAD_SHEDDING,
    ...env,
  });
  app = t.app;
  await app.ready();
  return t;
}

describe('GET /health/performance', () => {
  it('is ok with fast requests, degraded when p95 misses the target, 503 PERFORMANCE_FAILING when far off', async () => {
    await start({ TARGET_RESPONSE_TIME_MS: '100' });
    const perf = app!.versus.performance!;
    for (let i = 0; i < 50; i++) await app!.inject({ method: 'GET', url: '/health' });
    let res = await app!.inject({ method: 'GET', url: '/health/performance' });
    expect(res.statusCode).toBe(200);
    const ok = res.json();
    expect(ok.status).toBe('ok');
    expect(ok.checks.map((c: { name: string }) => c.name)).toEqual([
      'response_time_p95',
      'db_query_p95',
      'cache_hit_rate',
      'memory_per_worker',
      'error_rate',
    ]);
    expect(ok.checks[0]).toMatchObject({ status: 'ok', target: 100, unit: 'ms' });

    for (let i = 0; i < 100; i++) perf.recordRequest(150, 200);
    res = await app!.inject({ method: 'GET', url: '/health/performance' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('degraded');
    expect(res.json().checks[0]).toMatchObject({ name: 'response_time_p95', status: 'degraded' });
    expect(res.json().checks[0].value).toBeCloseTo(150, 0);

    for (let i = 0; i < 1000; i++) perf.recordRequest(900, 200);
    res = await app!.inject({ method: 'GET', url: '/health/performance' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'PERFORMANCE_FAILING', status: 'failing' });
    expect(res.json().error.message).toMatch(/response_time_p95 9\d\d(\.\d+)? ms \(target 100\)/);
  });

  it('needs no key (probes), and says disabled when monitoring is off', async () => {
    await start({ ENABLE_PERFORMANCE_MONITORING: 'false' });
    const res = await app!.inject({ method: 'GET', url: '/health/performance' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('disabled');
    const adminRes = await app!.inject({ method: 'GET', url: '/admin/performance', headers: admin });
    expect(adminRes.statusCode).toBe(404);
    expect(adminRes.json().error.code).toBe('MONITORING_DISABLED');
  });
});

describe('admin performance routes', () => {
  it('GET /admin/performance needs the admin key and returns the dashboard JSON', async () => {
    await start();
    expect((await app!.inject({ method: 'GET', url: '/admin/performance' })).statusCode).toBe(401);
    const forbidden = await app!.inject({
      method: 'GET',
      url: '/admin/performance',
      headers: { authorization: `Bearer ${CLIENT}` },
    });
    expect(forbidden.statusCode).toBe(403);
    const res = await app!.inject({ method: 'GET', url: '/admin/performance', headers: admin });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual([
      'generated_at',
      'window_s',
      'status',
      'targets',
      'http',
      'contexts',
      'caches',
      'pools',
      'database',
      'breakers',
      'http_clients',
      'memory',
      'trends',
      'alerts',
      'recommendations',
      'actions',
    ]);
    expect(body.window_s).toBe(300);
    expect(body.memory.rss_bytes).toBeGreaterThan(0);
    expect(body.memory.budget.budget_bytes).toBe(16384 * 1024 * 1024);
    expect(body.http.last_5m).toMatchObject({ count: expect.any(Number), error_rate: expect.any(Number) });
    expect(body.trends.map((t: { metric: string }) => t.metric)).toEqual(['p95', 'rss', 'heap_used']);
  });

  it('database statements feed the db_query_p95 target and the database section', async () => {
    await start();
    for (let i = 0; i < 25; i++) await app!.versus.db.query('SELECT $1::int AS n', [i]);
    const health = (await app!.inject({ method: 'GET', url: '/health/performance' })).json();
    const db = health.checks.find((c: { name: string }) => c.name === 'db_query_p95');
    expect(db.status).toBe('ok');
    expect(db.value).toBeGreaterThan(0);
    expect(db.detail).toMatch(/p95 of 2\d statements/);
    const report = (await app!.inject({ method: 'GET', url: '/admin/performance', headers: admin })).json();
    expect(report.database.queries.count).toBeGreaterThanOrEqual(25);
    expect(report.pools).toContainEqual(expect.objectContaining({ name: 'database', kind: 'database' }));
  });

  it('GET /admin/performance/recommendations lists recommendations', async () => {
    await start();
    const res = await app!.inject({
      method: 'GET',
      url: '/admin/performance/recommendations',
      headers: admin,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().recommendations).toEqual([]);
  });

  it('POST actions: gc explains --expose-gc, clear-expired and reset-breakers say what they did', async () => {
    await start();
    const post = (action: string, headers: Record<string, string> = admin) =>
      app!.inject({ method: 'POST', url: `/admin/performance/actions/${action}`, headers });
    expect((await post('gc', {})).statusCode).toBe(401);
    const gc = await post('gc');
    expect(gc.statusCode).toBe(200);
    if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
      expect(gc.json()).toMatchObject({
        action: 'gc',
        ok: false,
        message: expect.stringMatching(/--expose-gc/),
      });
    }
    // The tiered cache purges its expired memory entries (none in a fresh app).
    expect((await post('clear-expired')).json()).toMatchObject({
      action: 'clear-expired',
      ok: true,
      details: { cleared: { cache: 0 } },
    });
    app!.versus.resilience.service('upstream-a');
    expect((await post('reset-breakers')).json()).toMatchObject({
      action: 'reset-breakers',
      ok: true,
      message: 'reset 1 circuit breakers (0 were not closed)',
      details: { breakers: 1, reset: [] },
    });
    const report = (await app!.inject({ method: 'GET', url: '/admin/performance', headers: admin })).json();
    expect(report.breakers).toEqual([{ name: 'upstream-a', state: 'closed', transitions: [] }]);
    expect(report.caches.map((c: { layer: string }) => c.layer)).toContain('memory');
    // A body asking for more than the action does is refused.
    for (const payload of [{ service: 'upstream-b' }, [1], 'all', null]) {
      const scoped = await app!.inject({
        method: 'POST',
        url: '/admin/performance/actions/reset-breakers',
        headers: { ...admin, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      expect(scoped.statusCode, scoped.body).toBe(400);
      expect(scoped.json().error.code).toBe('INVALID_REQUEST');
      expect(scoped.json().error.message).toContain('/admin/breakers/reset');
    }
    const empty = await app!.inject({
      method: 'POST',
      url: '/admin/performance/actions/clear-expired',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(empty.statusCode).toBe(200);
    // A JSON content type with no body at all is no body, not invalid JSON.
    const none = await app!.inject({
      method: 'POST',
      url: '/admin/performance/actions/clear-expired',
      headers: { ...admin, 'content-type': 'application/json', 'content-length': '0' },
    });
    expect(none.statusCode, none.body).toBe(200);
    expect(none.json()).toMatchObject({ action: 'clear-expired', ok: true });
    // An action that does not exist is not found, and the answer lists those that do.
    const bad = await post('reboot');
    expect(bad.statusCode).toBe(404);
    expect(bad.json().error.code).toBe('NOT_FOUND');
    expect(bad.json().error.message).toBe(
      'no performance action "reboot"; the actions are gc, clear-expired, reset-breakers, heap-snapshot (GET /admin/performance lists them)',
    );
  });

  it('/metrics carries the seed metric names', async () => {
    await start();
    await app!.inject({ method: 'GET', url: '/health' });
    const text = (await app!.inject({ method: 'GET', url: '/metrics', headers: admin })).body;
    for (const name of [
      'http_request_duration_seconds',
      'database_query_duration_seconds',
      'cache_hit_rate',
      'cache_operations_total',
      'memory_usage_bytes',
      'circuit_breaker_state',
      'performance_target_status',
      'performance_alerts_firing',
      'memory_budget_ratio',
      'memory_leak_slope_bytes_per_minute',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/memory_usage_bytes\{type="rss"\} \d+/);
    expect(text).toContain('performance_target_status{target="response_time_p95"} 0');
  });
});

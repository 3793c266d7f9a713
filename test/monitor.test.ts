import { describe, expect, it } from 'vitest';
import {
  ALERT_RULES,
  createAlertEngine,
  createPerformanceManager,
  createWindowedHistogram,
  evaluateTargets,
  trend,
} from '../src/perf/monitor/index.ts';
import { createPool } from '../src/perf/pool/index.ts';
import { healthySnapshot, latency } from './helpers/snapshot.ts';

function captureLogger() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, msg, obj });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('windowed histogram', () => {
  it('gives exact percentiles (HDR, 3 significant digits) and forgets slots that leave the window', () => {
    const w = createWindowedHistogram({ windowMs: 300_000, slots: 10 });
    for (let ms = 1; ms <= 1000; ms++) w.record(ms, ms > 990);
    const s = w.summary();
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(500, -0.5);
    expect(Math.abs(s.p95 - 950) / 950).toBeLessThan(0.001);
    expect(Math.abs(s.p99 - 990) / 990).toBeLessThan(0.001);
    expect(s.errors).toBe(10);
    expect(s.errorRate).toBeCloseTo(0.01);
    // Two 30 s slots later, the last minute no longer holds those values but five minutes do.
    w.rotate();
    w.rotate();
    w.record(5);
    expect(w.summary(60_000).count).toBe(1);
    expect(w.summary().count).toBe(1001);
    for (let i = 0; i < 11; i++) w.rotate();
    expect(w.summary()).toMatchObject({ count: 0, p95: 0, errorRate: 0 });
    w.close();
  });
});

describe('alerts', () => {
  it('p95 above target fires after 2 minutes, logs once per transition, and resolves with timestamps', () => {
    const { lines, logger } = captureLogger();
    const engine = createAlertEngine(ALERT_RULES, logger);
    const t0 = 1_800_000_000_000;
    const slow = (at: number) => ({ ...healthySnapshot(), at, http1m: latency({ p95: 350, count: 200 }) });

    expect(engine.evaluate(slow(t0))).toEqual([]);
    expect(engine.active()).toMatchObject([{ id: 'response_time_p95', state: 'pending', since: t0 }]);
    expect(engine.evaluate(slow(t0 + 60_000))).toEqual([]);
    const fired = engine.evaluate(slow(t0 + 120_000));
    expect(fired).toMatchObject([{ id: 'response_time_p95', to: 'firing', at: t0 + 120_000 }]);
    expect(engine.evaluate(slow(t0 + 130_000))).toEqual([]);
    expect(engine.active()).toMatchObject([
      { state: 'firing', firedAt: t0 + 120_000, value: 350, threshold: 200 },
    ]);

    const resolved = engine.evaluate({ ...healthySnapshot(), at: t0 + 200_000 });
    expect(resolved).toMatchObject([
      { id: 'response_time_p95', to: 'resolved', at: t0 + 200_000, firedAt: t0 + 120_000 },
    ]);
    // The figure in the message is the one that fired it, and it says so.
    expect(resolved[0]!.message).toBe(
      'resolved; it had fired with: p95 response time 350 ms over the last minute, target 200 ms',
    );
    expect(engine.active()).toEqual([]);
    expect(engine.history().map((h) => h.to)).toEqual(['firing', 'resolved']);
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn alert firing: p95 response time 350 ms over the last minute, target 200 ms',
      'info alert resolved: response_time_p95',
    ]);
  });

  it('a condition that clears before its duration never fires', () => {
    const { lines, logger } = captureLogger();
    const engine = createAlertEngine(ALERT_RULES, logger);
    const t0 = 1_800_000_000_000;
    engine.evaluate({ ...healthySnapshot(), at: t0, http1m: latency({ p95: 350 }) });
    engine.evaluate({ ...healthySnapshot(), at: t0 + 60_000 });
    engine.evaluate({ ...healthySnapshot(), at: t0 + 200_000, http1m: latency({ p95: 350 }) });
    expect(engine.history()).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('per-subject rules fire for each breaker and pool separately, immediately when forMs is 0', () => {
    const { logger } = captureLogger();
    const engine = createAlertEngine(ALERT_RULES, logger);
    const s = healthySnapshot();
    s.breakers = [
      { name: 'openai', state: 'open', transitions: [] },
      { name: 'anthropic', state: 'closed', transitions: [] },
    ];
    s.memory!.budget = { ...s.memory!.budget, ratio: 0.85, status: 'warning' };
    const fired = engine.evaluate(s).map((t) => t.id);
    expect(fired.sort()).toEqual(['breaker_open:openai', 'memory_budget']);
  });

  it('every rule is quiet on healthy figures', () => {
    const engine = createAlertEngine(ALERT_RULES, captureLogger().logger);
    engine.evaluate(healthySnapshot());
    expect(engine.active()).toEqual([]);
  });
});

describe('targets (/health/performance body)', () => {
  it('ok on healthy figures, degraded when p95 misses the target, failing when far off', () => {
    const s = healthySnapshot();
    expect(evaluateTargets(s).status).toBe('ok');
    s.http = latency({ p95: 260 });
    const degraded = evaluateTargets(s);
    expect(degraded.status).toBe('degraded');
    expect(degraded.checks.find((c) => c.name === 'response_time_p95')).toMatchObject({
      status: 'degraded',
      value: 260,
      target: 200,
    });
    s.http = latency({ p95: 450 });
    expect(evaluateTargets(s).status).toBe('failing');
  });

  it('memory over budget degrades; only twice the budget fails', () => {
    const s = healthySnapshot();
    const memory = () => evaluateTargets(s).checks.find((c) => c.name === 'memory_per_worker')!;
    s.memory!.rssBytes = 450 * 1024 * 1024;
    expect(memory()).toMatchObject({ status: 'degraded', value: 450, target: 409.6 });
    s.memory!.rssBytes = 600 * 1024 * 1024;
    expect(memory().status).toBe('degraded');
    s.memory!.rssBytes = 1100 * 1024 * 1024;
    expect(memory().status).toBe('failing');
    expect(evaluateTargets(s).status).toBe('failing');
  });

  it('a low cache hit rate degrades but never fails the instance; too little data is no_data', () => {
    const s = healthySnapshot();
    Object.assign(s.caches[0]!, { hits: 100, misses: 900, hitRate: 0.1 });
    expect(evaluateTargets(s).status).toBe('degraded');
    s.http = latency({ count: 5, p95: 5000 });
    expect(evaluateTargets(s).checks.find((c) => c.name === 'response_time_p95')!.status).toBe('no_data');
  });
});

describe('trends', () => {
  it('forecasts when a rising p95 reaches its target, and calls noise steady', () => {
    const rising = Array.from({ length: 20 }, (_, i) => ({ t: i * 30_000, value: 100 + i * 2 }));
    const t = trend('p95', 'ms', rising, 200);
    expect(t.direction).toBe('rising');
    expect(t.slopePerMinute).toBeCloseTo(4, 5);
    expect(t.reachesTargetInMinutes).toBeCloseTo(15.5, 1);
    expect(t.text).toBe('p95 rising 4.00 ms/min; reaches the 200 ms target in ~16 min');
    const flat = Array.from({ length: 20 }, (_, i) => ({ t: i * 30_000, value: 120 + ((i * 7) % 3) }));
    expect(trend('p95', 'ms', flat, 200)).toMatchObject({
      direction: 'steady',
      reachesTargetInMinutes: null,
    });
  });
});

describe('PerformanceManager', () => {
  it('composes sources, measures requests, fires alerts over time and runs the operator actions', async () => {
    let now = 1_800_000_000_000;
    const { lines, logger } = captureLogger();
    const manager = createPerformanceManager({
      targets: { responseTimeMs: 200, cacheHitRate: 0.8, memoryMb: 4096 },
      logger,
      memory: { gc: null },
      now: () => now,
    });
    const cacheStats = { layer: 'memory', hits: 0, misses: 0, evictions: 0, sets: 0, maxSize: 100 };
    let cleared = 0;
    manager.addCache({ name: 'cache', stats: () => [{ ...cacheStats }], clearExpired: () => ++cleared });
    const states: { name: string; state: 'open' | 'closed' }[] = [{ name: 'openai', state: 'open' }];
    manager.setBreakers({
      states: () => states.map((b) => ({ ...b, transitions: [] })),
      reset: () => {
        for (const b of states) b.state = 'closed';
      },
    });
    const pool = createPool({ name: 'things', create: () => ({}), max: 1 });
    manager.addPool(pool);
    await manager.initialize();

    for (let i = 0; i < 100; i++) manager.recordRequest(300, 200);
    Object.assign(cacheStats, { hits: 300, misses: 700, evictions: 600, sets: 700 });
    now += 10_000;
    let s = await manager.evaluate();
    expect(s.http.p95).toBeCloseTo(300, 0);
    expect(s.caches[0]).toMatchObject({ hitRate: 0.3, hits: 300, misses: 700 });
    expect(
      manager
        .alerts()
        .active.map((a) => `${a.id}:${a.state}`)
        .sort(),
    ).toEqual([
      'breaker_open:openai:firing',
      'cache_hit_rate:cache/memory:pending',
      'response_time_p95:pending',
    ]);
    now += 120_000;
    s = await manager.evaluate();
    expect(manager.alerts().active.find((a) => a.id === 'response_time_p95')!.state).toBe('firing');
    const recs = (await manager.recommendations()).map((r) => r.rule);
    expect(recs).toContain('cache_too_small');

    expect(await manager.clearExpired()).toMatchObject({ ok: true, details: { cleared: { cache: 1 } } });
    expect(await manager.resetBreakers()).toMatchObject({ ok: true, details: { reset: ['openai'] } });
    now += 10_000;
    await manager.evaluate();
    expect(manager.alerts().history.map((h) => `${h.id} ${h.to}`)).toContain('breaker_open:openai resolved');
    expect(manager.forceGc()).toMatchObject({
      performed: false,
      message: expect.stringMatching(/--expose-gc/),
    });
    expect(lines.filter((l) => l.msg.startsWith('alert firing')).length).toBe(2);

    const report = await manager.report();
    expect(report.pools).toMatchObject([{ name: 'things', kind: 'object', max: 1 }]);
    expect(report.memory?.budget.status).toBe('ok');
    expect(report.actions.map((a) => a.name)).toEqual([
      'gc',
      'clear-expired',
      'reset-breakers',
      'heap-snapshot',
    ]);
    await manager.close();
    await pool.close();
  });

  it('context() times operations and knows its parents through AsyncLocalStorage', async () => {
    const manager = createPerformanceManager({
      targets: { responseTimeMs: 200, cacheHitRate: 0.8, memoryMb: 512 },
      logger: captureLogger().logger,
      memory: false,
    });
    const seen: string[] = [];
    await manager.context(
      'generate',
      async () => {
        await new Promise((r) => setTimeout(r, 20));
        await manager.context('provider_call', async () => {
          const c = manager.currentContext()!;
          seen.push(`${c.name} < ${c.parent?.name} (${c.parent?.attributes?.request})`);
        });
      },
      { request: 'req-1' },
    );
    expect(seen).toEqual(['provider_call < generate (req-1)']);
    expect(() =>
      manager.context('fails', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const report = await manager.report();
    expect(report.contexts.generate).toMatchObject({ count: 1, errors: 0 });
    expect(report.contexts.generate!.p50).toBeGreaterThanOrEqual(15);
    expect(report.contexts.fails).toMatchObject({ count: 1, errors: 1 });
    expect(manager.currentContext()).toBeUndefined();
    await manager.close();
  });

  it('a failing source is left out and logged once, not thrown', async () => {
    const { lines, logger } = captureLogger();
    const manager = createPerformanceManager({
      targets: { responseTimeMs: 200, cacheHitRate: 0.8, memoryMb: 512 },
      logger,
      memory: false,
    });
    manager.addCache({
      name: 'redis',
      stats: () => {
        throw new Error('connection refused');
      },
    });
    await manager.evaluate();
    const s = await manager.evaluate();
    expect(s.caches).toEqual([]);
    expect(lines.filter((l) => l.msg === 'performance source failed')).toHaveLength(1);
    await manager.close();
  });
});

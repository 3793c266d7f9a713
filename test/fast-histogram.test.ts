import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, histogramObserver } from '../src/perf/metrics/index.ts';

describe('histogramObserver', () => {
  it('writes exactly what prom-client observe writes, and survives reset()', async () => {
    const a = createMetricsRegistry({ defaultMetrics: false });
    const b = createMetricsRegistry({ defaultMetrics: false });
    const opts = { name: 'x_seconds', help: 'x', labelNames: ['route', 'status'] as const };
    const slow = a.histogram(opts);
    const fast = b.histogram(opts);
    const observers = [
      histogramObserver(fast, { route: '/a', status: '200' }),
      histogramObserver(fast, { route: '/b', status: '500' }),
    ];
    const values = [0.00005, 0.003, 0.2, 0.2, 7, 45, Number.NaN, 0.0001];
    values.forEach((v, i) => {
      if (Number.isFinite(v)) slow.labels(i % 2 ? '/b' : '/a', i % 2 ? '500' : '200').observe(v);
      observers[i % 2]!(v);
    });
    expect(await b.metrics()).toBe(await a.metrics());
    fast.reset();
    slow.reset();
    observers[0]!(0.01);
    slow.labels('/a', '200').observe(0.01);
    expect(await b.metrics()).toBe(await a.metrics());
    expect(await b.metrics()).toContain('x_seconds_count{route="/a",status="200"} 1');
  });
});

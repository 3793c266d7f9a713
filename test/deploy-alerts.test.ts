/** deploy/alerts.yml only uses metric names Versus exports, and prometheus.yml loads it. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool } from '../src/perf/pool/index.ts';
import { testApp } from './helpers/app.ts';

const deploy = (name: string) => readFileSync(resolve(import.meta.dirname, '..', 'deploy', name), 'utf8');
const PROMQL = new Set(['histogram_quantile', 'clamp_min']);

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('deploy/alerts.yml', () => {
  it('is loaded by prometheus.yml and mounted by docker-compose.yml', () => {
    expect(deploy('prometheus.yml')).toMatch(/rule_files:\s*\n\s*- \/etc\/prometheus\/alerts\.yml/);
    expect(deploy('docker-compose.yml')).toContain('./alerts.yml:/etc/prometheus/alerts.yml');
  });

  it('uses only metric names that /metrics exports', async () => {
    const exprs = [...deploy('alerts.yml').matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+(?:for|labels):/g)].map(
      (m) => m[1]!,
    );
    expect(exprs.length).toBeGreaterThanOrEqual(8);
    const names = new Set<string>();
    for (const expr of exprs) {
      for (const m of expr.matchAll(/\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\s*[{)\s=<>]/g)) {
        if (!PROMQL.has(m[1]!)) names.add(m[1]!.replace(/_(bucket|count|sum)$/, ''));
      }
    }
    const { app } = await testApp({});
    const pool = createPool({ name: 'probe', create: () => ({}), metrics: app.versus.metrics });
    close = async () => {
      await pool.close();
      await app.close();
    };
    await app.ready();
    await app.inject({ method: 'GET', url: '/health' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const missing = [...names].filter((n) => !text.includes(`# TYPE ${n} `));
    expect([...names].length).toBeGreaterThanOrEqual(8);
    expect(missing).toEqual([]);
  });
});

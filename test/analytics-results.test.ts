/**
 * The results document against the definitions in DESIGN.md: the same figures recomputed in the
 * test from the exported events must match what SQL + the results builder produce.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildResults, fromRow, RESULTS_SQL, type Results } from '../src/platform/analytics/index.ts';
import { sampleRatioMismatch, twoProportion, welch } from '../src/platform/analytics/stats/index.ts';
import { exportStream, insertEvents } from '../src/platform/events/index.ts';
import { event, pgliteSql, type TestSql } from './helpers/experiments.ts';

let sql: TestSql;
beforeAll(async () => {
  sql = await pgliteSql();
});
afterAll(() => sql.close());

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function results(experimentId: string, variants: { name: string; weight: number }[]): Promise<Results> {
  const r = await sql.query(RESULTS_SQL, [experimentId]);
  return buildResults(
    { id: experimentId, name: experimentId, status: 'running', variants },
    r.rows.map((row) => fromRow(row as never)),
  );
}

async function exported(experimentId: string): Promise<Record<string, unknown>[]> {
  let text = '';
  for await (const chunk of exportStream(sql, experimentId, 'ndjson', 700)) text += chunk;
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

interface VariantJson {
  requests: number;
  errors: number;
  cache_hits: number;
  fallbacks: number;
  unsticky: number;
  latency_ms: { n: number; mean: number; p95: number };
  cost_usd: { total: number };
  feedback: { count: number; labels: number };
}

function summary(values: number[]) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance };
}

describe('results', () => {
  const id = 'exp_results';
  const variants = [
    { name: 'control', weight: 50 },
    { name: 'fast', weight: 50 },
  ];

  beforeAll(async () => {
    const random = rng(7);
    const events = [];
    for (let i = 0; i < 3000; i++) {
      const variant = random() < 0.5 ? 'control' : 'fast';
      const base = variant === 'control' ? 120 : 100;
      const error = random() < (variant === 'control' ? 0.05 : 0.03);
      const cacheHit = !error && random() < 0.1;
      const fallback = !error && !cacheHit && random() < 0.02;
      events.push(
        event({
          experimentId: id,
          variant,
          createdAt: new Date(1_700_000_000_000 + i),
          status: error ? 502 : 200,
          errorCode: error ? 'PROVIDER_ERROR' : null,
          // Cache hits answer in ~1 ms: they must not make a variant look fast.
          latencyMs: cacheHit ? 1 : base + 40 * random(),
          ttftMs: i % 4 === 0 ? 10 + 5 * random() : null,
          costUsd: cacheHit ? 0 : 0.0001 + 0.00005 * random(),
          cacheHit,
          fallback,
          sticky: i % 10 !== 0,
        }),
      );
    }
    await insertEvents(sql, events);
    // Feedback on a third of the responses, including some errors.
    const fb = events.filter((_, i) => i % 3 === 0);
    for (const [i, e] of fb.entries()) {
      await sql.query(
        'INSERT INTO experiment_feedback (response_id, experiment_id, score, label) VALUES ($1, $2, $3, $4)',
        [
          e.responseId,
          id,
          e.variant === 'control' ? random() * 0.8 : 0.2 + random() * 0.8,
          i % 5 === 0 ? 'x' : null,
        ],
      );
    }
  });

  it('matches the definitions recomputed from the export', async () => {
    const res = await results(id, variants);
    const rows = await exported(id);
    expect(rows).toHaveLength(3000);
    const side = (name: string) => rows.filter((r) => r.variant === name);
    const clean = (rs: Record<string, unknown>[]) =>
      rs.filter((r) => (r.status as number) < 400 && !r.cache_hit && !r.fallback);
    const [c, f] = [side('control'), side('fast')];

    const [vc, vf] = res.variants as unknown as VariantJson[];
    expect(vc!.requests).toBe(c.length);
    expect(vc!.errors).toBe(c.filter((r) => (r.status as number) >= 400).length);
    expect(vc!.cache_hits).toBe(c.filter((r) => r.cache_hit).length);
    expect(vc!.fallbacks).toBe(c.filter((r) => r.fallback).length);
    expect(vc!.unsticky).toBe(c.filter((r) => !r.sticky).length);
    expect(vc!.latency_ms.n).toBe(clean(c).length);
    expect(vc!.latency_ms.mean).toBeCloseTo(summary(clean(c).map((r) => r.latency_ms as number)).mean, 9);
    // percentile_cont: linear interpolation between order statistics.
    const sorted = clean(f)
      .map((r) => r.latency_ms as number)
      .sort((a, b) => a - b);
    const pos = 0.95 * (sorted.length - 1);
    const p95 =
      sorted[Math.floor(pos)]! +
      (pos - Math.floor(pos)) * (sorted[Math.ceil(pos)]! - sorted[Math.floor(pos)]!);
    expect(vf!.latency_ms.p95).toBeCloseTo(p95, 9);
    expect(vf!.cost_usd.total).toBeCloseTo(
      f.reduce((a, r) => a + (r.cost_usd as number), 0),
      12,
    );
    expect(vf!.feedback.count).toBe(f.filter((r) => r.feedback_score !== null).length);
    expect(vf!.feedback.labels).toBe(f.filter((r) => r.feedback_label !== null).length);

    const cmp = (metric: string) => res.comparisons.find((x) => x.metric === metric)!;
    const lat = welch(
      summary(clean(c).map((r) => r.latency_ms as number)),
      summary(clean(f).map((r) => r.latency_ms as number)),
    );
    expect(cmp('latency_ms').p_value).toBeCloseTo(lat.p_value!, 9);
    expect(cmp('latency_ms').ci95![0]).toBeCloseTo(lat.ci95![0], 6);
    expect(cmp('latency_ms').difference).toBeLessThan(-15); // fast is ~20 ms faster
    expect(cmp('latency_ms').significant).toBe(true);

    const cost = welch(
      summary(clean(c).map((r) => r.cost_usd as number)),
      summary(clean(f).map((r) => r.cost_usd as number)),
    );
    expect(cmp('cost_usd').p_value).toBeCloseTo(cost.p_value!, 9);

    const scores = (rs: Record<string, unknown>[]) =>
      rs.filter((r) => r.feedback_score !== null).map((r) => r.feedback_score as number);
    const fbk = welch(summary(scores(c)), summary(scores(f)));
    expect(cmp('feedback_score').p_value).toBeCloseTo(fbk.p_value!, 9);
    expect(cmp('feedback_score').difference).toBeGreaterThan(0.1);

    const err = twoProportion(
      { x: c.filter((r) => (r.status as number) >= 400).length, n: c.length },
      { x: f.filter((r) => (r.status as number) >= 400).length, n: f.length },
    );
    expect(cmp('error_rate').p_value).toBeCloseTo(err.p_value!, 12);
    expect(cmp('error_rate').ci95).toEqual(err.ci95);

    expect(res.srm.chi2).toBeCloseTo(sampleRatioMismatch([c.length, f.length], [50, 50]).chi2, 12);
    expect(res.srm.ok).toBe(true);
  });

  it('leaves cache hits out of the latency comparison (a cache cannot fake a winner)', async () => {
    const res = await results(id, variants);
    const [vc] = res.variants as unknown as VariantJson[];
    // With the 1 ms cache hits included the mean would be far below 120.
    expect(vc!.latency_ms.mean).toBeGreaterThan(120);
    expect(vc!.cache_hits).toBeGreaterThan(50);
  });

  it('flags a sample-ratio mismatch against the configured weights', async () => {
    const res = await results(id, [
      { name: 'control', weight: 70 },
      { name: 'fast', weight: 30 },
    ]);
    expect(res.srm.ok).toBe(false);
    expect(res.srm.p_value).toBeLessThan(0.001);
  });

  it('gives p_value null without enough data and lists variants without events', async () => {
    await insertEvents(sql, [event({ experimentId: 'exp_tiny', variant: 'a', latencyMs: 10 })]);
    const res = await results('exp_tiny', [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ]);
    expect(res.variants.map((v) => v.requests)).toEqual([1, 0]);
    for (const c of res.comparisons) {
      expect(c.p_value).toBeNull();
      expect(c.ci95).toBeNull();
      expect(c.significant).toBe(false);
    }
  });

  it('exports CSV with a header and one line per event', async () => {
    let text = '';
    for await (const chunk of exportStream(sql, id, 'csv', 1000)) text += chunk;
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe(
      'response_id,experiment_id,variant,unit,sticky,created_at,model,status,error_code,latency_ms,ttft_ms,prompt_tokens,completion_tokens,cost_usd,cache_hit,fallback,fallback_model,stream,feedback_score,feedback_label',
    );
    expect(lines).toHaveLength(3001);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(3000);
  });
});

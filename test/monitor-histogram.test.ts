import { describe, expect, it } from 'vitest';
import { LOG_HISTOGRAM_MAX, LogHistogram } from '../src/perf/monitor/log-histogram.ts';

/** The exact percentile by the same rule: the value at rank ceil(p% of n), at least 1. */
function exact(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/** A deterministic generator, so a failure can be replayed. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('LogHistogram', () => {
  it('is exact below 2048 and within 0.1% above, for every percentile', () => {
    const random = lcg(7);
    const values: number[] = [];
    const h = new LogHistogram();
    // Latencies in µs spread over six decades: 1 µs to ~20 minutes.
    for (let i = 0; i < 20_000; i++) {
      const v = Math.round(10 ** (random() * 9.1));
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    expect(h.totalCount).toBe(values.length);
    expect(h.maxValue).toBe(values.at(-1));
    expect(h.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
    for (const p of [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]) {
      const want = exact(values, p);
      const got = h.valueAtPercentile(p);
      // The answer is the top of the bucket holding the exact value: never below it, at most
      // one bucket width (1/1024 of the value) above.
      expect(got).toBeGreaterThanOrEqual(want);
      if (want < 2048) expect(got).toBe(want);
      else expect((got - want) / want).toBeLessThan(1 / 1024);
    }
  });

  it('adds histograms as if their values had been recorded in one, and resets to empty', () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    const both = new LogHistogram();
    for (let v = 1; v <= 5000; v++) {
      (v % 3 === 0 ? a : b).record(v * 37);
      both.record(v * 37);
    }
    const sum = new LogHistogram();
    sum.add(a);
    sum.add(b);
    sum.add(new LogHistogram());
    for (const p of [1, 50, 95, 99, 100]) expect(sum.valueAtPercentile(p)).toBe(both.valueAtPercentile(p));
    expect(sum.totalCount).toBe(5000);
    expect(sum.maxValue).toBe(5000 * 37);
    expect(sum.mean).toBe(both.mean);

    sum.reset();
    expect(sum.totalCount).toBe(0);
    expect(sum.valueAtPercentile(99)).toBe(0);
    expect(sum.maxValue).toBe(0);
    expect(sum.mean).toBe(0);
    // A reset histogram forgets everything, including the buckets beyond its first size.
    sum.record(3);
    expect(sum.valueAtPercentile(100)).toBe(3);
    expect(sum.valueAtPercentile(50)).toBe(3);
  });

  it('grows for large values and clamps beyond its range without losing the sum or the maximum', () => {
    const h = new LogHistogram();
    h.record(10);
    h.record(90_000_000); // 90 s in µs: past the first allocation
    h.record(LOG_HISTOGRAM_MAX + 1_000_000);
    expect(h.totalCount).toBe(3);
    expect(h.maxValue).toBe(LOG_HISTOGRAM_MAX + 1_000_000);
    expect(h.mean).toBeCloseTo((10 + 90_000_000 + LOG_HISTOGRAM_MAX + 1_000_000) / 3, 3);
    expect(h.valueAtPercentile(10)).toBe(10);
    const p66 = h.valueAtPercentile(66);
    expect(p66).toBeGreaterThanOrEqual(90_000_000);
    expect((p66 - 90_000_000) / 90_000_000).toBeLessThan(1 / 1024);
    // The clamped value sits in the last bucket; the percentile never reads above the maximum.
    expect(h.valueAtPercentile(100)).toBeGreaterThanOrEqual(LOG_HISTOGRAM_MAX - LOG_HISTOGRAM_MAX / 1024);
    expect(h.valueAtPercentile(100)).toBeLessThanOrEqual(h.maxValue);
  });

  it('ignores NaN and negative values and counts 0', () => {
    const h = new LogHistogram();
    h.record(Number.NaN);
    h.record(-5);
    expect(h.totalCount).toBe(0);
    h.record(0);
    expect(h.totalCount).toBe(1);
    expect(h.valueAtPercentile(50)).toBe(0);
  });
});

/**
 * A/A simulation: with no real difference between arms, a test at α = 0.05 must flag about 5% of
 * experiments. 1,000 simulated experiments per test, from a seeded generator so the run is
 * reproducible; the binomial(1000, 0.05) band 3%–7% is about ±2.9 standard deviations.
 */
import { describe, expect, it } from 'vitest';
import {
  type Summary,
  sampleRatioMismatch,
  twoProportion,
  welch,
} from '../src/platform/analytics/stats/index.ts';

/** mulberry32: small, fast, well-distributed 32-bit generator. */
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

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function summarise(values: number[]): Summary {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance };
}

const EXPERIMENTS = 1000;

describe('A/A simulation at alpha 0.05', () => {
  it("Welch's t-test on skewed latencies (log-normal) flags 3%-7%", () => {
    const random = rng(1);
    const normal = gaussian(random);
    const latency = () => Math.exp(5 + 0.6 * normal()); // median ~150 ms, long right tail
    let positives = 0;
    for (let i = 0; i < EXPERIMENTS; i++) {
      const a = Array.from({ length: 200 }, latency);
      const b = Array.from({ length: 240 }, latency);
      if (welch(summarise(a), summarise(b)).significant) positives++;
    }
    expect(positives / EXPERIMENTS).toBeGreaterThanOrEqual(0.03);
    expect(positives / EXPERIMENTS).toBeLessThanOrEqual(0.07);
  });

  it("Welch's t-test on feedback scores in [0, 1] with small samples flags 3%-7%", () => {
    const random = rng(2);
    let positives = 0;
    for (let i = 0; i < EXPERIMENTS; i++) {
      const a = Array.from({ length: 25 }, random);
      const b = Array.from({ length: 40 }, random);
      if (welch(summarise(a), summarise(b)).significant) positives++;
    }
    expect(positives / EXPERIMENTS).toBeGreaterThanOrEqual(0.03);
    expect(positives / EXPERIMENTS).toBeLessThanOrEqual(0.07);
  });

  it('the two-proportion z-test on a 10% error rate flags 3%-7%', () => {
    const random = rng(3);
    let positives = 0;
    for (let i = 0; i < EXPERIMENTS; i++) {
      let xa = 0;
      let xb = 0;
      for (let j = 0; j < 1000; j++) {
        if (random() < 0.1) xa++;
        if (random() < 0.1) xb++;
      }
      if (twoProportion({ x: xa, n: 1000 }, { x: xb, n: 1000 }).significant) positives++;
    }
    expect(positives / EXPERIMENTS).toBeGreaterThanOrEqual(0.03);
    expect(positives / EXPERIMENTS).toBeLessThanOrEqual(0.07);
  });

  it('the SRM check almost never fires on a correct 90/10 split (p < 0.001)', () => {
    const random = rng(4);
    let flagged = 0;
    for (let i = 0; i < EXPERIMENTS; i++) {
      let a = 0;
      for (let j = 0; j < 2000; j++) if (random() < 0.9) a++;
      if (!sampleRatioMismatch([a, 2000 - a], [90, 10]).ok) flagged++;
    }
    expect(flagged).toBeLessThanOrEqual(5);
  });

  it('and a real 20% latency difference is found most of the time (the tests have power)', () => {
    const random = rng(5);
    const normal = gaussian(random);
    let positives = 0;
    for (let i = 0; i < 200; i++) {
      const a = Array.from({ length: 500 }, () => Math.exp(5 + 0.6 * normal()));
      const b = Array.from({ length: 500 }, () => 1.2 * Math.exp(5 + 0.6 * normal()));
      if (welch(summarise(a), summarise(b)).significant) positives++;
    }
    expect(positives / 200).toBeGreaterThan(0.95);
  });
});

/**
 * The hypothesis tests of the results endpoint, on summary statistics (count, mean, sample
 * variance) so the heavy lifting stays in SQL. Definitions follow docs/experiments.md exactly.
 */
import { chiSquareSf, erfc, normalQuantile, tQuantile, tTwoSided } from '../../../perf/stats/index.ts';

/** Summary of one side: count, mean and sample variance (denominator n − 1). */
export interface Summary {
  n: number;
  mean: number;
  variance: number;
}

export interface TestResult {
  /** variant − baseline; null when either side is empty. */
  difference: number | null;
  ci95: [number, number] | null;
  /** Two-sided p-value; null without enough data (fewer than 2 per side, or no variance at all). */
  p_value: number | null;
  significant: boolean;
}

export const ALPHA = 0.05;
const Z975 = normalQuantile(0.975);

function noTest(difference: number | null): TestResult {
  return { difference, ci95: null, p_value: null, significant: false };
}

/**
 * A sample's variance, with the rounding error of summing equal values taken as the zero it is:
 * the database's var_samp of six equal costs of 2.2e-5 is 3e-43, not 0, which would make a
 * zero-width interval and a p-value of 1e-206 out of no spread at all. A variance below
 * (1e-9 × mean)² is far under any real spread of the metrics compared here.
 */
function varianceOf(s: Summary): number {
  const v = Math.max(0, s.variance);
  const tolerance = (1e-9 * s.mean) ** 2;
  return v <= tolerance ? 0 : v;
}

/** Welch's unequal-variance t-test of variant − baseline, with the Welch–Satterthwaite interval. */
export function welch(baseline: Summary, variant: Summary, alpha = ALPHA): TestResult {
  const difference = baseline.n > 0 && variant.n > 0 ? variant.mean - baseline.mean : null;
  if (difference === null || baseline.n < 2 || variant.n < 2) return noTest(difference);
  const vb = varianceOf(baseline) / baseline.n;
  const vv = varianceOf(variant) / variant.n;
  const se2 = vb + vv;
  if (!(se2 > 0)) return noTest(difference);
  const se = Math.sqrt(se2);
  const df = (se2 * se2) / ((vb * vb) / (baseline.n - 1) + (vv * vv) / (variant.n - 1));
  const p = tTwoSided(difference / se, df);
  const half = tQuantile(1 - alpha / 2, df) * se;
  return { difference, ci95: [difference - half, difference + half], p_value: p, significant: p < alpha };
}

/** Wilson's score interval for a proportion x/n at critical value z. */
function wilson(x: number, n: number, z: number): [number, number] {
  const p = x / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
  // At x = 0 or x = n one bound is the rate itself; rounding must not put it past.
  return [x === 0 ? 0 : Math.max(0, centre - half), x === n ? 1 : Math.min(1, centre + half)];
}

/**
 * Pooled two-proportion z-test of variant − baseline (x successes of n). The interval is
 * Newcombe's hybrid score interval (his method 10, from the two Wilson intervals): unlike the
 * Wald interval (difference ± z × unpooled SE) it has its nominal coverage at small counts and
 * rates near 0 or 1, and it is never zero-width: 0 errors of 6 against 4 of 4 gave the Wald
 * interval [1, 1].
 */
export function twoProportion(
  baseline: { x: number; n: number },
  variant: { x: number; n: number },
  alpha = ALPHA,
): TestResult {
  const difference = baseline.n > 0 && variant.n > 0 ? variant.x / variant.n - baseline.x / baseline.n : null;
  if (difference === null || baseline.n < 2 || variant.n < 2) return noTest(difference);
  const pooled = (baseline.x + variant.x) / (baseline.n + variant.n);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / baseline.n + 1 / variant.n));
  if (!(sePooled > 0)) return noTest(difference);
  const z = difference / sePooled;
  const p = erfc(Math.abs(z) / Math.SQRT2);
  const pb = baseline.x / baseline.n;
  const pv = variant.x / variant.n;
  const zc = alpha === ALPHA ? Z975 : normalQuantile(1 - alpha / 2);
  const [lb, ub] = wilson(baseline.x, baseline.n, zc);
  const [lv, uv] = wilson(variant.x, variant.n, zc);
  const below = Math.sqrt((pv - lv) ** 2 + (ub - pb) ** 2);
  const above = Math.sqrt((uv - pv) ** 2 + (pb - lb) ** 2);
  return {
    difference,
    ci95: [difference - below, difference + above],
    p_value: p,
    significant: p < alpha,
  };
}

export interface SrmResult {
  chi2: number;
  p_value: number | null;
  ok: boolean;
}

export const SRM_ALPHA = 0.001;

/** Sample-ratio mismatch: Pearson's chi-square of observed counts against the configured weights. */
export function sampleRatioMismatch(counts: number[], weights: number[]): SrmResult {
  const total = counts.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  if (counts.length < 2 || total === 0 || !(weightSum > 0)) return { chi2: 0, p_value: null, ok: true };
  let chi2 = 0;
  for (let i = 0; i < counts.length; i++) {
    const expected = (total * (weights[i] ?? 0)) / weightSum;
    const diff = (counts[i] ?? 0) - expected;
    chi2 += (diff * diff) / expected;
  }
  const p = chiSquareSf(chi2, counts.length - 1);
  return { chi2, p_value: p, ok: p >= SRM_ALPHA };
}

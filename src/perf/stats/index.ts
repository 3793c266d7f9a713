/**
 * Statistics shared by the toolkit and the product: the t, normal and chi-square distributions
 * (checked against scipy in test/analytics-stats.test.ts) and least-squares line fits with a
 * confidence for the slope, used by leak detection (heap after
 * GC over time) and trends (p95 and memory over time).
 */

import { tCdf } from './distributions.ts';

export {
  chiSquareSf,
  normalCdf,
  normalQuantile,
  normalSf,
  tCdf,
  tQuantile,
  tSf,
  tTwoSided,
} from './distributions.ts';
export { betaInc, erfc, gammaP, gammaQ, lnGamma } from './special.ts';

export interface Point {
  x: number;
  y: number;
}

export interface LineFit {
  n: number;
  /** y units per x unit. */
  slope: number;
  intercept: number;
  /** Coefficient of determination, 0 (no line) to 1 (a perfect line). */
  r2: number;
  /** Standard error of the slope. */
  slopeStdError: number;
  /**
   * One-sided confidence that the true slope has the sign of the fitted one: 1 − p of Student's t
   * test of slope = 0 with n − 2 degrees of freedom. 0.5 means no evidence either way.
   */
  confidence: number;
}

/** Fits y = intercept + slope·x. Undefined with fewer than 3 points or when every x is equal. */
export function fitLine(points: readonly Point[]): LineFit | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dx = p.x - mx;
    const dy = p.y - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = Math.max(0, syy - slope * sxy);
  const r2 = syy === 0 ? 1 : 1 - sse / syy;
  const slopeStdError = Math.sqrt(sse / (n - 2) / sxx);
  let confidence: number;
  if (slope === 0) confidence = 0.5;
  else if (slopeStdError === 0) confidence = 1;
  else confidence = tCdf(Math.abs(slope) / slopeStdError, n - 2);
  return { n, slope, intercept, r2, slopeStdError, confidence };
}

/**
 * Least-squares line fits with a confidence for the slope, shared by leak detection (heap after
 * GC over time) and trends (p95 and memory over time).
 */

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
  else confidence = studentTCdf(Math.abs(slope) / slopeStdError, n - 2);
  return { n, slope, intercept, r2, slopeStdError, confidence };
}

/** P(T <= t) for Student's t with `df` degrees of freedom (t >= 0). */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  return 1 - 0.5 * incompleteBeta(x, df / 2, 0.5);
}

/** Regularized incomplete beta I_x(a, b), by Lentz's continued fraction. */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  return (Math.exp(lnFront) * betaFraction(x, a, b)) / a;
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 200; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-12) break;
  }
  return h;
}

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7), accurate to ~15 digits for z > 0.
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61503916999186,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const zz = z - 1;
  let s = g[0]!;
  for (let i = 1; i < 9; i++) s += g[i]! / (zz + i);
  const t = zz + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(s);
}

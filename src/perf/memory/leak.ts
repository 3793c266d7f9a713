/**
 * Leak detection: does the heap that survives garbage collection keep rising?
 *
 * An ordinary heap is a sawtooth: it climbs between collections and drops after each. Its floor
 * (the heap after GC) is flat. A leak lifts the floor. So the detector fits a line through the
 * floor: the lowest sample in each of several time buckets, which is the heap after GC when the
 * samples come from GC events, and the sawtooth's troughs when they are plain interval samples.
 * It reports a leak only when the floor rises fast enough, steadily (most buckets above the one
 * before) and with high statistical confidence.
 */
import { fitLine } from '../stats/index.ts';

export interface HeapPoint {
  /** Milliseconds (any monotonic origin). */
  t: number;
  bytes: number;
}

export interface LeakOptions {
  /** Time buckets whose minima form the floor. @default 8 */
  buckets?: number;
  /** Floor growth below this is not a leak. @default 1 MiB per minute */
  minSlopeBytesPerMinute?: number;
  /** Total floor growth over the window below this is not a leak. @default 8 MiB */
  minGrowthBytes?: number;
  /** Confidence (1 − p of the slope's t test) needed. @default 0.95 */
  minConfidence?: number;
  /** Share of bucket-to-bucket steps that must rise. @default 0.7 */
  minRisingShare?: number;
}

export interface LeakReport {
  suspected: boolean;
  /** Floor growth in bytes per minute (negative: shrinking). */
  slopeBytesPerMinute: number;
  /** 0.5 to 1: confidence that the floor really moves in the fitted direction. */
  confidence: number;
  r2: number;
  /** Floor growth over the window, bytes. */
  growthBytes: number;
  points: number;
  windowMs: number;
  /** Why it is or is not a leak, in one sentence. */
  reason: string;
}

export function detectLeak(samples: readonly HeapPoint[], options: LeakOptions = {}): LeakReport {
  const buckets = options.buckets ?? 8;
  const minSlope = options.minSlopeBytesPerMinute ?? 1024 * 1024;
  const minGrowth = options.minGrowthBytes ?? 8 * 1024 * 1024;
  const minConfidence = options.minConfidence ?? 0.95;
  const minRising = options.minRisingShare ?? 0.7;
  const empty = (reason: string, windowMs = 0): LeakReport => ({
    suspected: false,
    slopeBytesPerMinute: 0,
    confidence: 0.5,
    r2: 0,
    growthBytes: 0,
    points: samples.length,
    windowMs,
    reason,
  });
  if (samples.length < buckets) return empty(`not enough samples yet (${samples.length} of ${buckets})`);
  const t0 = samples[0]!.t;
  const span = samples[samples.length - 1]!.t - t0;
  if (span <= 0) return empty('all samples have the same time');

  const floor: HeapPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = t0 + (span * b) / buckets;
    const to = b === buckets - 1 ? Number.POSITIVE_INFINITY : t0 + (span * (b + 1)) / buckets;
    let low: HeapPoint | undefined;
    for (const s of samples)
      if (s.t >= from && s.t < to && (low === undefined || s.bytes < low.bytes)) low = s;
    if (low !== undefined) floor.push(low);
  }
  const fit = fitLine(floor.map((p) => ({ x: p.t, y: p.bytes })));
  if (fit === undefined) return empty('samples are too bunched in time to fit a trend', span);
  let rising = 0;
  for (let i = 1; i < floor.length; i++) if (floor[i]!.bytes > floor[i - 1]!.bytes) rising++;
  const risingShare = rising / (floor.length - 1);
  const slopePerMinute = fit.slope * 60_000;
  const growth = fit.slope * span;
  const report: LeakReport = {
    suspected: false,
    slopeBytesPerMinute: Math.round(slopePerMinute),
    confidence: round(fit.confidence),
    r2: round(fit.r2),
    growthBytes: Math.round(growth),
    points: samples.length,
    windowMs: Math.round(span),
    reason: '',
  };
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (slopePerMinute < minSlope) {
    report.reason = `heap after GC is flat or falling (${mb(slopePerMinute)}/min; threshold ${mb(minSlope)}/min)`;
  } else if (growth < minGrowth) {
    report.reason = `heap after GC grew only ${mb(growth)} over the window (threshold ${mb(minGrowth)})`;
  } else if (fit.confidence < minConfidence) {
    report.reason = `heap after GC rises ${mb(slopePerMinute)}/min but the trend is not significant (confidence ${fit.confidence.toFixed(3)})`;
  } else if (risingShare < minRising) {
    report.reason = `heap after GC rises ${mb(slopePerMinute)}/min but unsteadily (${Math.round(risingShare * 100)}% of steps rise)`;
  } else {
    report.suspected = true;
    report.reason = `heap after GC rises steadily: ${mb(slopePerMinute)}/min over ${Math.round(span / 1000)} s (confidence ${fit.confidence.toFixed(3)})`;
  }
  return report;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * Trends: a rolling series per figure (p95 latency, RSS, heap) and a linear forecast of when it
 * crosses its target: "p95 rising 4 ms/min; reaches the 200 ms target in ~12 min".
 */
import { fitLine } from '../stats/index.ts';

export interface TrendPoint {
  /** Epoch ms. */
  t: number;
  value: number;
}

export interface Trend {
  metric: string;
  unit: string;
  direction: 'rising' | 'falling' | 'steady' | 'unknown';
  /** Units per minute. */
  slopePerMinute: number;
  confidence: number;
  latest: number | null;
  target: number | null;
  /** Minutes until the line crosses the target, when it is heading there. */
  reachesTargetInMinutes: number | null;
  points: number;
  text: string;
}

export interface TrendOptions {
  /** Confidence needed to call a slope rising or falling. @default 0.9 */
  minConfidence?: number;
  /** Slopes smaller than this share of the latest value per minute are steady. @default 0.005 */
  minRelativeSlope?: number;
}

/** A bounded series of points, oldest first. */
export class Series {
  readonly points: TrendPoint[] = [];
  #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  push(t: number, value: number): void {
    this.points.push({ t, value });
    if (this.points.length > this.#max) this.points.shift();
  }
}

function fmt(n: number): string {
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/**
 * Fits the points and says where the figure is heading. `target` is an upper bound (latency,
 * memory): a rising figure below it gets a time-to-target forecast.
 */
export function trend(
  metric: string,
  unit: string,
  points: readonly TrendPoint[],
  target: number | null,
  options: TrendOptions = {},
): Trend {
  const latest = points.length > 0 ? points[points.length - 1]!.value : null;
  const base = { metric, unit, latest, target, points: points.length };
  const fit = fitLine(points.map((p) => ({ x: p.t / 60_000, y: p.value })));
  if (fit === undefined || latest === null) {
    return {
      ...base,
      direction: 'unknown',
      slopePerMinute: 0,
      confidence: 0,
      reachesTargetInMinutes: null,
      text: `${metric}: not enough data for a trend yet`,
    };
  }
  const minConfidence = options.minConfidence ?? 0.9;
  const minRelative = options.minRelativeSlope ?? 0.005;
  const significant =
    fit.confidence >= minConfidence &&
    Math.abs(fit.slope) >= Math.abs(latest) * minRelative &&
    fit.slope !== 0;
  const direction = !significant ? 'steady' : fit.slope > 0 ? 'rising' : 'falling';
  let reaches: number | null = null;
  let text = `${metric} ${direction}`;
  if (direction !== 'steady') text += ` ${fmt(Math.abs(fit.slope))} ${unit}/min`;
  else text += ` at ${fmt(latest)} ${unit}`;
  if (target !== null) {
    const now = points[points.length - 1]!.t / 60_000;
    const fitted = fit.intercept + fit.slope * now;
    if (latest >= target) {
      text += `; above the ${fmt(target)} ${unit} target`;
    } else if (direction === 'rising') {
      reaches = Math.max(0, Math.round(((target - fitted) / fit.slope) * 10) / 10);
      text += `; reaches the ${fmt(target)} ${unit} target in ~${reaches >= 10 ? Math.round(reaches) : reaches} min`;
    }
  }
  return {
    ...base,
    direction,
    slopePerMinute: Math.round(fit.slope * 1000) / 1000,
    confidence: Math.round(fit.confidence * 1000) / 1000,
    reachesTargetInMinutes: reaches,
    text,
  };
}

/**
 * Latency over a sliding window, with percentiles to 0.1%: a ring of log-linear histograms (HDR's
 * layout, see log-histogram.ts), one per slot
 * (30 s by default, ten of them for five minutes). A timer moves to the next slot and clears it,
 * so recording is one histogram update with no clock read. A query adds up the slots that cover
 * the window asked for.
 */
import { LogHistogram } from './log-histogram.ts';

export interface WindowOptions {
  /** Longest window that can be asked for, ms. @default 300000 (5 min) */
  windowMs?: number;
  /** Slots in the ring; a query is exact to one slot's width. @default 10 */
  slots?: number;
}

export interface LatencySummary {
  count: number;
  /** Requests with an error (5xx, or whatever the recorder counts as one). */
  errors: number;
  errorRate: number;
  /** Milliseconds; 0 when count is 0. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Per second over the window actually covered. */
  rate: number;
  windowMs: number;
}

export interface WindowedHistogram {
  /** Records one duration in ms. */
  record(ms: number, error?: boolean): void;
  /** Summary of the last `windowMs` (rounded up to whole slots, including the current one). */
  summary(windowMs?: number): LatencySummary;
  /** Moves to the next slot (the timer does this; tests may call it). */
  rotate(): void;
  close(): void;
}

// Microseconds with 3 significant digits: 0.1% resolution from 1 µs to half an hour.
const histogram = () => new LogHistogram();

export function createWindowedHistogram(options: WindowOptions = {}): WindowedHistogram {
  const windowMs = options.windowMs ?? 300_000;
  const slots = options.slots ?? 10;
  const slotMs = windowMs / slots;
  // One extra slot: the current one is partial, so `slots` full slots plus it cover the window.
  const ring = Array.from({ length: slots + 1 }, histogram);
  const errors = new Array<number>(slots + 1).fill(0);
  const startedAt = new Array<number>(slots + 1).fill(0);
  let current = 0;
  let closed = false;
  let hist = ring[0]!;
  startedAt[0] = performance.now();
  const scratch = histogram();
  const timer = setInterval(() => rotate(), slotMs);
  timer.unref();

  function rotate(): void {
    current = (current + 1) % ring.length;
    hist = ring[current]!;
    hist.reset();
    errors[current] = 0;
    startedAt[current] = performance.now();
  }

  return {
    record(ms, error = false) {
      if (closed) return;
      // Clamp: a clock step can give a negative duration; it counts as the shortest one.
      hist.record(ms > 0.001 ? Math.round(ms * 1000) : 1);
      if (error) errors[current]!++;
    },
    summary(window = windowMs) {
      if (closed) throw new Error('windowed histogram is closed');
      const n = Math.min(ring.length, Math.max(1, Math.ceil(window / slotMs)));
      scratch.reset();
      let errs = 0;
      let oldest = performance.now();
      for (let i = 0; i < n; i++) {
        const idx = (current - i + ring.length) % ring.length;
        const h = ring[idx]!;
        if (h.totalCount > 0) scratch.add(h);
        errs += errors[idx]!;
        if (startedAt[idx]! > 0) oldest = Math.min(oldest, startedAt[idx]!);
      }
      const count = scratch.totalCount;
      const covered = Math.max(1, performance.now() - oldest);
      const ms = (us: number) => Math.round(us) / 1000;
      return {
        count,
        errors: errs,
        errorRate: count === 0 ? 0 : errs / count,
        p50: count === 0 ? 0 : ms(scratch.valueAtPercentile(50)),
        p95: count === 0 ? 0 : ms(scratch.valueAtPercentile(95)),
        p99: count === 0 ? 0 : ms(scratch.valueAtPercentile(99)),
        max: count === 0 ? 0 : ms(scratch.maxValue),
        mean: count === 0 ? 0 : ms(scratch.mean),
        rate: Math.round((count / covered) * 1000 * 100) / 100,
        windowMs: Math.round(covered),
      };
    },
    rotate,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
    },
  };
}

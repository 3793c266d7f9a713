/**
 * `context(name, fn)`: times an operation into a windowed histogram (and a Prometheus histogram),
 * and keeps the chain of open contexts in AsyncLocalStorage so nested code knows where it runs
 * (`current()` returns the innermost context, with its parents).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Histogram } from 'prom-client';
import { histogramObserver } from '../metrics/index.ts';
import { createWindowedHistogram, type LatencySummary, type WindowedHistogram } from './window.ts';

export interface OperationContext {
  name: string;
  parent: OperationContext | undefined;
  /** performance.now() at entry. */
  startedAt: number;
  /** Free-form tags given by the caller (request id, experiment); never put secrets here. */
  attributes: Readonly<Record<string, string>> | undefined;
}

export interface ContextTimer {
  run<R>(name: string, fn: () => R, attributes?: Record<string, string>): R;
  current(): OperationContext | undefined;
  summaries(): Record<string, LatencySummary>;
  close(): void;
}

/** Context names beyond this many share the `other` series: names come from code, not input. */
const MAX_NAMES = 64;

export function createContextTimer(histogram: Histogram<'name'> | undefined, windowMs: number): ContextTimer {
  const storage = new AsyncLocalStorage<OperationContext>();
  const series = new Map<
    string,
    { window: WindowedHistogram; prom: ((seconds: number) => void) | undefined }
  >();

  function seriesFor(name: string) {
    let s = series.get(name);
    if (s === undefined) {
      const key = series.size >= MAX_NAMES ? 'other' : name;
      s = series.get(key);
      if (s === undefined) {
        s = {
          window: createWindowedHistogram({ windowMs }),
          prom: histogram === undefined ? undefined : histogramObserver(histogram, { name: key }),
        };
        series.set(key, s);
      }
    }
    return s;
  }

  function finish(name: string, startedAt: number, failed: boolean): void {
    const ms = performance.now() - startedAt;
    const s = seriesFor(name);
    s.window.record(ms, failed);
    s.prom?.(ms / 1000);
  }

  return {
    run(name, fn, attributes) {
      const ctx: OperationContext = {
        name,
        parent: storage.getStore(),
        startedAt: performance.now(),
        attributes,
      };
      return storage.run(ctx, () => {
        let result: ReturnType<typeof fn>;
        try {
          result = fn();
        } catch (err) {
          finish(name, ctx.startedAt, true);
          throw err;
        }
        if (result instanceof Promise) {
          return result.then(
            (v) => {
              finish(name, ctx.startedAt, false);
              return v;
            },
            (err) => {
              finish(name, ctx.startedAt, true);
              throw err;
            },
          ) as typeof result;
        }
        finish(name, ctx.startedAt, false);
        return result;
      });
    },
    current: () => storage.getStore(),
    summaries() {
      const out: Record<string, LatencySummary> = {};
      for (const [name, s] of series) out[name] = s.window.summary();
      return out;
    },
    close() {
      for (const s of series.values()) s.window.close();
      series.clear();
    },
  };
}

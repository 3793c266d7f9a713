/** Operations per second of one function with mitata, for micro benchmarks compared in one run. */
import { measure } from 'mitata';
import { collectGarbage as gc } from '../../src/perf/memory/index.ts';
import { human } from './report.ts';

// A collection before each measurement, so one target's garbage is not collected on the next
// target's time.

/**
 * Measures `fn` (sync or async) and returns operations per second, where one call performs
 * `opsPerCall` operations (100 for a batch of 100 concurrent reads).
 */
export async function opsPerSecond(fn: () => unknown, opsPerCall = 1, minCpuMs = 400): Promise<number> {
  gc();
  const stats = await measure(fn, { min_cpu_time: minCpuMs * 1e6, max_samples: 1e9 });
  return (opsPerCall * 1e9) / stats.avg;
}

/** The entries rotated by `run`: each run measures the targets in a different order. */
export function rotated<T>(entries: T[], run: number): T[] {
  const k = run % entries.length;
  return [...entries.slice(k), ...entries.slice(0, k)];
}

/** Samples per target across runs; medians at the end. */
export class Samples {
  readonly #byName = new Map<string, number[]>();

  add(name: string, value: number): void {
    const list = this.#byName.get(name) ?? [];
    list.push(value);
    this.#byName.set(name, list);
  }

  last(): string[] {
    return [...this.#byName].map(([name, values]) => `${name} ${Math.round(values.at(-1)!)}`);
  }

  medians(median: (values: number[]) => number): Record<string, number> {
    return Object.fromEntries([...this.#byName].map(([name, values]) => [name, median(values)]));
  }

  /**
   * Median over runs of target / anchor within the same run, formatted as "1.23×". Pairing
   * by run keeps a load spike on the shared machine from skewing one side of the ratio only.
   */
  ratio(target: string, anchor: string, median: (values: number[]) => number): string {
    const t = this.#byName.get(target) ?? [];
    const a = this.#byName.get(anchor) ?? [];
    const ratios = t.map((v, i) => v / (a[i] ?? Number.NaN)).filter((r) => Number.isFinite(r));
    return ratios.length === 0 ? 'n/a' : `${median(ratios).toFixed(2)}×`;
  }

  /** A table row: the target, its median, and its ratio to each anchor. */
  row(target: string, anchors: readonly string[], median: (values: number[]) => number): string[] {
    return [
      target,
      human(median(this.#byName.get(target) ?? [])),
      ...anchors.map((a) => this.ratio(target, a, median)),
    ];
  }
}

/**
 * Measures every target `runs` times, in a rotated order each run, logging each run's figures.
 * A target is a function and the operations one call performs.
 */
export async function alternate(
  targets: Record<string, readonly [() => unknown, number]>,
  runs: number,
  log: (line: string) => void,
  minCpuMs: number,
): Promise<Samples> {
  const results = new Samples();
  for (let r = 0; r < runs; r++) {
    for (const [label, [fn, ops]] of rotated(Object.entries(targets), r)) {
      results.add(label, await opsPerSecond(fn, ops, minCpuMs));
    }
    log(`  run ${r + 1}/${runs}: ${results.last().join(', ')}`);
  }
  return results;
}

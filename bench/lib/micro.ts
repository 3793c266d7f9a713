/** Operations per second of one function with mitata, for micro benchmarks compared in one run. */
import { measure } from 'mitata';

/**
 * Measures `fn` (sync or async) and returns operations per second, where one call performs
 * `opsPerCall` operations (100 for a batch of 100 concurrent reads).
 */
export async function opsPerSecond(fn: () => unknown, opsPerCall = 1, minCpuMs = 400): Promise<number> {
  const stats = await measure(fn, { min_cpu_time: minCpuMs * 1e6, max_samples: 1e9 });
  return (opsPerCall * 1e9) / stats.avg;
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
}

/**
 * What the L1-miss -> L2-hit scenarios share: 10,000 keys read in 100-key windows, each cache
 * with an L1 of 100 entries so every window misses it; seeding both caches, the window rotation,
 * Versus's two read targets and the hit-rate row.
 */
import type { BentoCache } from 'bentocache';
import type { Cache } from '../../src/perf/cache/index.ts';
import { benchValue } from './anchors.ts';

export const N = 10_000;
export const WINDOW = 100;
export const KEYS = Array.from({ length: N }, (_, i) => `item:${i}`);

/** Writes every key to Versus and to bentocache, 100 at a time, for 10 minutes. */
export async function seedBoth(versus: Cache, bento: BentoCache<never>): Promise<void> {
  for (let i = 0; i < N; i += 100) {
    await Promise.all(KEYS.slice(i, i + 100).map((k, j) => versus.set(k, benchValue(i + j), { ttl: '10m' })));
    await Promise.all(
      KEYS.slice(i, i + 100).map((k, j) => bento.set({ key: k, value: benchValue(i + j), ttl: '10m' })),
    );
  }
}

/** The next 100-key window of a list of N, round and round. */
export function windows(): <T>(list: T[]) => T[] {
  let w = 0;
  return (list) => {
    w = (w + 1) % (N / WINDOW);
    return list.slice(w * WINDOW, w * WINDOW + WINDOW);
  };
}

/** Versus `get` and `getOrSet` of one window, 100 reads in flight. */
export function versusReads(
  versus: Cache,
  windowOf: <T>(list: T[]) => T[],
): Record<string, [() => unknown, number]> {
  return {
    'Versus get ×100': [() => Promise.all(windowOf(KEYS).map((k) => versus.get(k))), WINDOW],
    'Versus getOrSet ×100': [
      () => Promise.all(windowOf(KEYS).map((k) => versus.getOrSet(k, () => null, { ttl: '10m' }))),
      WINDOW,
    ],
  };
}

/** The table row of Versus's L2 hit rate over the run, padded to `columns` cells. */
export function hitRateRow(versus: Cache, columns: number): string[] {
  const s = versus.stats();
  const hitRate = s.counts.l2Hits / (s.counts.l2Hits + s.counts.l2Misses);
  return [
    '(Versus L2 hit rate over the run)',
    `${(hitRate * 100).toFixed(1)} %`,
    ...Array(columns - 2).fill(''),
  ];
}

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sampleRatioMismatch } from '../src/platform/analytics/stats/index.ts';
import {
  allocationCounts,
  BUCKETS,
  bucketCounts,
  bucketOf,
  initialAllocation,
  rebalance,
  type Segment,
  variantAt,
} from '../src/platform/experiments/assignment.ts';

const UNITS = 100_000;

function assignAll(salt: string, allocation: Segment[], units = UNITS): number[] {
  const out: number[] = [];
  for (let i = 0; i < units; i++) out.push(variantAt(allocation, bucketOf(salt, `user-${i}`)));
  return out;
}

function tally(assigned: number[], variants: number): number[] {
  const counts = new Array<number>(variants).fill(0);
  for (const v of assigned) counts[v]! += 1;
  return counts;
}

describe('assignment', () => {
  for (const weights of [
    [50, 50],
    [90, 10],
    [1, 1, 1],
  ]) {
    it(`is uniform over 100K units for ${weights.join('/')}`, () => {
      const allocation = initialAllocation(bucketCounts(weights)!);
      const counts = tally(assignAll('salt-uniform', allocation), weights.length);
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => {
        expect(Math.abs(counts[i]! / UNITS - w / total)).toBeLessThan(0.006);
      });
      expect(sampleRatioMismatch(counts, weights).p_value).toBeGreaterThan(0.001);
    });
  }

  it('spreads buckets evenly: every tenth of the range holds about a tenth of the units', () => {
    const deciles = new Array<number>(10).fill(0);
    for (let i = 0; i < UNITS; i++) deciles[Math.floor(bucketOf('s', String(i)) / 1000)]! += 1;
    expect(sampleRatioMismatch(deciles, new Array(10).fill(1)).ok).toBe(true);
  });

  it('gives different experiments (salts) independent assignments', () => {
    const allocation = initialAllocation([5000, 5000]);
    const a = assignAll('exp-a', allocation, 20_000);
    const b = assignAll('exp-b', allocation, 20_000);
    const same = a.filter((v, i) => v === b[i]).length / a.length;
    expect(Math.abs(same - 0.5)).toBeLessThan(0.02);
  });

  it('is the same in another process', () => {
    const allocation = initialAllocation(bucketCounts([30, 70])!);
    const here = assignAll('cross-process', allocation, 2000).join('');
    const script = `
      import { bucketOf, variantAt } from ${JSON.stringify(new URL('../src/platform/experiments/assignment.ts', import.meta.url).pathname)};
      const allocation = ${JSON.stringify(allocation)};
      let out = '';
      for (let i = 0; i < 2000; i++) out += variantAt(allocation, bucketOf('cross-process', 'user-' + i));
      process.stdout.write(out);`;
    const there = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(there).toBe(here);
  });

  it('bucket counts follow the weights, sum to 10,000 and refuse shares below one bucket', () => {
    expect(bucketCounts([1, 1, 1])).toEqual([3334, 3333, 3333]);
    expect(bucketCounts([90, 10])).toEqual([9000, 1000]);
    expect(bucketCounts([0.5, 0.25, 0.25])).toEqual([5000, 2500, 2500]);
    expect(bucketCounts([100000, 1])).toBeUndefined();
    // A total that overflows would give every variant 0 buckets.
    expect(bucketCounts([1e308, 1e308])).toBeUndefined();
  });
});

describe('weight changes move as few units as possible', () => {
  function moved(before: Segment[], after: Segment[]): number {
    let n = 0;
    for (let b = 0; b < BUCKETS; b++) if (variantAt(before, b) !== variantAt(after, b)) n++;
    return n;
  }

  for (const [from, to] of [
    [
      [50, 50],
      [60, 40],
    ],
    [
      [1, 1, 1],
      [50, 25, 25],
    ],
    [
      [25, 25, 25, 25],
      [10, 40, 10, 40],
    ],
    [
      [90, 10],
      [10, 90],
    ],
  ] as const) {
    it(`${from.join('/')} -> ${to.join('/')} moves exactly the minimum`, () => {
      const before = initialAllocation(bucketCounts([...from])!);
      const target = bucketCounts([...to])!;
      const after = rebalance(before, target);
      expect(allocationCounts(after, to.length)).toEqual(target);
      const current = allocationCounts(before, from.length);
      const minimum = target.reduce((n, t, i) => n + Math.max(0, t - current[i]!), 0);
      expect(moved(before, after)).toBe(minimum);
      // Segments cover [0, 10000) without gaps or overlaps.
      let next = 0;
      for (const [start, end] of after) {
        expect(start).toBe(next);
        next = end;
      }
      expect(next).toBe(BUCKETS);
    });
  }

  it('moves about the minimum share of real units, and repeated changes stay consistent', () => {
    let allocation = initialAllocation(bucketCounts([50, 50])!);
    const first = assignAll('moves', allocation, 50_000);
    allocation = rebalance(allocation, bucketCounts([60, 40])!);
    const second = assignAll('moves', allocation, 50_000);
    const share = first.filter((v, i) => v !== second[i]).length / first.length;
    expect(Math.abs(share - 0.1)).toBeLessThan(0.01);
    // Only units of the shrinking variant moved, all to the growing one.
    expect(first.every((v, i) => v === second[i] || (v === 1 && second[i] === 0))).toBe(true);
    // Back to 50/50 restores the original assignment.
    allocation = rebalance(allocation, bucketCounts([50, 50])!);
    expect(assignAll('moves', allocation, 50_000)).toEqual(first);
  });
});

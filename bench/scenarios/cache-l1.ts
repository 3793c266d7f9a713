/**
 * L1 hits: Versus `get` and `getOrSet` against raw lru-cache, cache-manager v7 (memory) and
 * bentocache (memory L1), all measured in one process, alternating run by run.
 *
 * Two views: "awaited" is what a caller sees (`await cache.get(k)`, one at a time; raw
 * lru-cache is synchronous so it has no await); "call cost" runs 100 calls per iteration
 * without awaiting, which leaves out the await every async cache pays and shows the work of the
 * call itself against lru-cache's.
 */
import { LRUCache } from 'lru-cache';
import { createCache } from '../../src/perf/cache/index.ts';
import { bentoMemory, cacheManagerMemory } from '../lib/anchors.ts';
import { alsoInCacheDoc } from '../lib/cache-doc.ts';
import { alternate } from '../lib/micro.ts';
import { median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const KEYS = Array.from({ length: 1000 }, (_, i) => `user:${i}`);
const value = (i: number) => ({ id: i, name: `user ${i}`, roles: ['reader'] });

export const scenario: Scenario = {
  id: 'cache-l1',
  title: 'Cache: L1 hits (get, getOrSet) vs lru-cache, cache-manager, bentocache',
  async run({ runs, log }) {
    const lru = new LRUCache<string, object>({ max: 10_000 });
    const versus = createCache({ name: 'bench-l1', l1: { maxEntries: 10_000 } });
    const ns = versus.namespace('users');
    const manager = cacheManagerMemory();
    const bento = bentoMemory();
    for (let i = 0; i < KEYS.length; i++) {
      const k = KEYS[i]!;
      lru.set(k, value(i));
      await versus.set(k, value(i));
      await ns.set(k, value(i));
      await manager.set(k, value(i), 300_000);
      await bento.set({ key: k, value: value(i), ttl: '5m' });
    }
    let i = 0;
    const next = () => KEYS[i++ % 1000]!;
    const factory = () => 0;
    const batch = KEYS.slice(0, 100);
    const resolved = Promise.resolve(0);
    const targets: Record<string, [() => unknown, number]> = {
      'await floor: an already-resolved promise': [() => resolved, 1],
      'lru-cache get (sync)': [() => lru.get(next()), 1],
      'cache-manager get': [() => manager.get(next()), 1],
      'bentocache get': [() => bento.get({ key: next() }), 1],
      'Versus get': [() => versus.get(next()), 1],
      'Versus getOrSet': [() => versus.getOrSet(next(), factory), 1],
      'Versus namespace get': [() => ns.get(next()), 1],
      'lru-cache get ×100': [
        () => {
          for (const k of batch) lru.get(k);
        },
        100,
      ],
      'Versus get ×100, not awaited': [
        () => {
          for (const k of batch) void versus.get(k);
        },
        100,
      ],
      'Versus getOrSet ×100, not awaited': [
        () => {
          for (const k of batch) void versus.getOrSet(k, factory);
        },
        100,
      ],
    };
    const results = await alternate(targets, runs, log, 300);
    await versus.close();
    await bento.disconnectAll();
    const row = (name: string) =>
      results.row(name, ['lru-cache get (sync)', 'cache-manager get', 'bentocache get'], median);
    const markdown = [
      preamble('npm run bench -- cache-l1', runs),
      'Operations per second (median), one key at a time over 1,000 warm keys; ratios are medians of the per-run ratios (each run measures every target). Goals: ≥ 0.25× lru-cache, ≥ 3.5× cache-manager, ≥ 30× bentocache. The first row is the ceiling of any awaited call in this harness: awaiting a promise that is already resolved.',
      '',
      table(
        ['target', 'ops/s', 'vs lru-cache', 'vs cache-manager', 'vs bentocache'],
        [
          row('await floor: an already-resolved promise'),
          row('lru-cache get (sync)'),
          row('cache-manager get'),
          row('bentocache get'),
          row('Versus get'),
          row('Versus getOrSet'),
          row('Versus namespace get'),
        ],
      ),
      '',
      'Call cost without the await (100 calls per iteration, the promises not awaited), against lru-cache doing the same 100 lookups:',
      '',
      table(
        ['target', 'ops/s', 'vs lru-cache ×100'],
        ['lru-cache get ×100', 'Versus get ×100, not awaited', 'Versus getOrSet ×100, not awaited'].map((n) =>
          results.row(n, ['lru-cache get ×100'], median),
        ),
      ),
    ].join('\n');
    return alsoInCacheDoc(scenario.id, scenario.title, markdown);
  },
};

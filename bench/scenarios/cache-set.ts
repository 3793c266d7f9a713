/**
 * Writes through both tiers: Versus `set` (L1 + Redis L2 + bus announcement) against
 * bentocache (memory L1 + Redis L2 + bus), cache-manager v7 (memory only: no Redis store is
 * installed, so it writes one tier) and raw ioredis SET of the same encoded size, 100 in
 * flight and one at a time, in one process, alternating. One at a time is the seed's floor
 * (> 1,000 sets/s).
 */
import { benchValue, cacheManagerMemory, tieredContenders } from '../lib/anchors.ts';
import { alsoInCacheDoc } from '../lib/cache-doc.ts';
import { alternate } from '../lib/micro.ts';
import { human, median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const N = 10_000;
const TAGS = ['catalog', 'prices'];

export const scenario: Scenario = {
  id: 'cache-set',
  title: 'Cache: set through both tiers vs bentocache, cache-manager, raw ioredis',
  async run({ runs, log }) {
    const { redis, name, versus, bento, plainBento, close } = tieredContenders('set', 10_000);
    const manager = cacheManagerMemory();
    const payload = Buffer.from(JSON.stringify(benchValue(12345)));
    const rows: string[][] = [];
    try {
      await versus.ready();
      let i = 0;
      const hundred = <T>(fn: (k: string, n: number) => Promise<T>) =>
        Promise.all(
          Array.from({ length: 100 }, () => {
            const n = i++ % N;
            return fn(`item:${n}`, n);
          }),
        );
      const targets: Record<string, [() => unknown, number]> = {
        'raw ioredis SET ×100': [
          () => hundred((k) => redis.set(`${name}:raw:${k}`, payload, 'PX', 600_000)),
          100,
        ],
        'cache-manager set ×100 (memory only)': [
          () => hundred((k, n) => manager.set(k, benchValue(n), 600_000)),
          100,
        ],
        'bentocache set ×100, auto-pipelined connection': [
          () => hundred((k, n) => bento.set({ key: k, value: benchValue(n), ttl: '10m' })),
          100,
        ],
        'bentocache set ×100, default connection': [
          () => hundred((k, n) => plainBento.set({ key: k, value: benchValue(n), ttl: '10m' })),
          100,
        ],
        'Versus set ×100': [() => hundred((k, n) => versus.set(k, benchValue(n), { ttl: '10m' })), 100],
        // Tagged writes also keep each tag's life key (a script per write): their cost shows here.
        'bentocache set ×100, 2 tags, auto-pipelined': [
          () => hundred((k, n) => bento.set({ key: `t:${k}`, value: benchValue(n), ttl: '10m', tags: TAGS })),
          100,
        ],
        'Versus set ×100, 2 tags': [
          () => hundred((k, n) => versus.set(`t:${k}`, benchValue(n), { ttl: '10m', tags: TAGS })),
          100,
        ],
        'bentocache set, one at a time': [
          () => bento.set({ key: `one:${i++ % N}`, value: benchValue(i), ttl: '10m' }),
          1,
        ],
        'Versus set, one at a time': [() => versus.set(`one:${i++ % N}`, benchValue(i), { ttl: '10m' }), 1],
      };
      const results = await alternate(targets, runs, log, 1000);
      const m = results.medians(median);
      for (const label of Object.keys(targets)) {
        const oneAtATime = label.endsWith('one at a time');
        rows.push([
          label,
          human(m[label]!),
          oneAtATime ? '' : results.ratio(label, 'raw ioredis SET ×100', median),
          oneAtATime ? '' : results.ratio(label, 'cache-manager set ×100 (memory only)', median),
          results.ratio(
            label,
            oneAtATime
              ? 'bentocache set, one at a time'
              : label.includes('tags')
                ? 'bentocache set ×100, 2 tags, auto-pipelined'
                : 'bentocache set ×100, auto-pipelined connection',
            median,
          ),
          oneAtATime ? '' : results.ratio(label, 'bentocache set ×100, default connection', median),
        ]);
      }
      const s = versus.stats();
      rows.push(['(Versus L2 write errors over the run)', String(s.counts.l2Errors), '', '', '', '']);
      rows.push(['(seed floor for sets)', '1,000', '', '', '', '']);
    } finally {
      await close();
    }
    const markdown = [
      preamble('npm run bench -- cache-set', runs),
      'Writes per second (median) of a ~90-byte object under 10,000 keys; ratios are medians of the per-run ratios (one-at-a-time rows against bentocache one at a time, tagged rows against the tagged writes of bentocache, both auto-pipelined). A tagged write of Versus also keeps a life key per tag, so that tag records expire once no entry needs them. bentocache ×100 runs with its documented set-up (a plain ioredis connection) and with auto-pipelining.',
      '',
      table(
        [
          'target',
          'writes/s',
          'vs raw ioredis',
          'vs cache-manager',
          'vs bentocache (auto-pipelined)',
          'vs bentocache (default)',
        ],
        rows,
      ),
    ].join('\n');
    return alsoInCacheDoc(scenario.id, scenario.title, markdown);
  },
};

/**
 * L1 miss -> L2 hit with 100 reads in flight: Versus (L1 of 100 entries, so every 100-key
 * window misses it and is read from Redis) against raw ioredis auto-pipelined GETs of the same
 * keys and bentocache (memory L1 of 100 + Redis L2 + bus), in one process, alternating.
 * Also one read at a time, against the seed's floor of 2,000 gets/s.
 */
import { Command } from 'ioredis';
import { benchValue, tieredContenders } from '../lib/anchors.ts';
import { alsoInCacheDoc } from '../lib/cache-doc.ts';
import { alternate } from '../lib/micro.ts';
import { human, median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const N = 10_000;
const WINDOW = 100;
const KEYS = Array.from({ length: N }, (_, i) => `item:${i}`);

export const scenario: Scenario = {
  id: 'cache-l2',
  title: 'Cache: L1 miss -> L2 hit, 100 in flight, vs raw ioredis and bentocache',
  async run({ runs, log }) {
    const { redis, name, versus, bento, plainBento, close } = tieredContenders('l2', WINDOW);
    const rows: string[][] = [];
    try {
      await versus.ready();
      for (let i = 0; i < N; i += 100) {
        await Promise.all(
          KEYS.slice(i, i + 100).map((k, j) => versus.set(k, benchValue(i + j), { ttl: '10m' })),
        );
        await Promise.all(
          KEYS.slice(i, i + 100).map((k, j) => bento.set({ key: k, value: benchValue(i + j), ttl: '10m' })),
        );
      }
      const written = await redis.exists(...KEYS.map((k) => `${name}::${k}`));
      if (written !== N)
        throw new Error(`seeding wrote ${written} of ${N} keys to Redis (is Redis overloaded?)`);
      const redisKeys = KEYS.map((k) => `${name}::${k}`);
      let w = 0;
      const windowOf = <T>(list: T[]) => {
        w = (w + 1) % (N / WINDOW);
        return list.slice(w * WINDOW, w * WINDOW + WINDOW);
      };
      let s = 0;
      const one = () => {
        s = (s + 7919) % N;
        return KEYS[s]!;
      };
      const targets: Record<string, [() => unknown, number]> = {
        'raw ioredis GET ×100 (auto-pipelined)': [
          () => Promise.all(windowOf(redisKeys).map((k) => redis.getBuffer(k))),
          WINDOW,
        ],
        // One MGET of the window's keys, no decoding, sent as Versus sends it (straight to the
        // socket, not through the auto-pipeline's queue): the round trip every read of Versus waits for.
        'raw ioredis MGET of the 100 keys (no decoding)': [
          () => redis.sendCommand(new Command('mget', windowOf(redisKeys), { replyEncoding: null })),
          WINDOW,
        ],
        'bentocache get ×100, auto-pipelined connection': [
          () => Promise.all(windowOf(KEYS).map((k) => bento.get({ key: k }))),
          WINDOW,
        ],
        'bentocache get ×100, default connection': [
          () => Promise.all(windowOf(KEYS).map((k) => plainBento.get({ key: k }))),
          WINDOW,
        ],
        'Versus get ×100': [() => Promise.all(windowOf(KEYS).map((k) => versus.get(k))), WINDOW],
        'Versus getOrSet ×100': [
          () => Promise.all(windowOf(KEYS).map((k) => versus.getOrSet(k, () => null, { ttl: '10m' }))),
          WINDOW,
        ],
        'Versus get, one at a time': [() => versus.get(one()), 1],
      };
      const results = await alternate(targets, runs, log, 1000);
      const m = results.medians(median);
      for (const label of Object.keys(targets)) {
        rows.push([
          label,
          human(m[label]!),
          results.ratio(label, 'raw ioredis GET ×100 (auto-pipelined)', median),
          results.ratio(label, 'bentocache get ×100, auto-pipelined connection', median),
          results.ratio(label, 'bentocache get ×100, default connection', median),
        ]);
      }
      const stats = versus.stats();
      const hitRate = stats.counts.l2Hits / (stats.counts.l2Hits + stats.counts.l2Misses);
      rows.push(['(Versus L2 hit rate over the run)', `${(hitRate * 100).toFixed(1)} %`, '', '', '']);
      rows.push(['(seed floor for gets)', '2,000', '', '', '']);
    } finally {
      await close();
    }
    const markdown = [
      preamble('npm run bench -- cache-l2', runs),
      `Reads per second (median) of ${N.toLocaleString('en')} keys in 100-key windows; each cache's L1 holds 100 entries, so every window misses L1 and is read from the local Redis. Ratios are medians of the per-run ratios. Goals: ≥ 1.0× raw ioredis, ≥ 4× bentocache. The raw MGET row is the round trip alone, sent straight to the socket as Versus sends its MGET, no decoding: the ceiling for any two-tier cache on this connection. bentocache runs twice: with its documented set-up (a plain ioredis connection) and with auto-pipelining on its connection too.`,
      '',
      table(
        ['target', 'reads/s', 'vs raw ioredis', 'vs bentocache (auto-pipelined)', 'vs bentocache (default)'],
        rows,
      ),
    ].join('\n');
    return alsoInCacheDoc(scenario.id, scenario.title, markdown);
  },
};

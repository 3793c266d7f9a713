/**
 * L1 miss -> L2 hit with 100 reads in flight: Versus (L1 of 100 entries, so every 100-key
 * window misses it and is read from Redis) against raw ioredis auto-pipelined GETs of the same
 * keys and bentocache (memory L1 of 100 + Redis L2 + bus), in one process, alternating.
 * Also one read at a time, against the seed's floor of 2,000 gets/s.
 */
import { Command } from 'ioredis';
import { tieredContenders } from '../lib/anchors.ts';
import { alsoInCacheDoc } from '../lib/cache-doc.ts';
import { hitRateRow, KEYS, N, seedBoth, versusReads, WINDOW, windows } from '../lib/l2-reads.ts';
import { alternate } from '../lib/micro.ts';
import { median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

export const scenario: Scenario = {
  id: 'cache-l2',
  title: 'Cache: L1 miss -> L2 hit, 100 in flight, vs raw ioredis and bentocache',
  async run({ runs, log }) {
    const { redis, name, versus, bento, plainBento, close } = tieredContenders('l2', WINDOW);
    const rows: string[][] = [];
    try {
      await versus.ready();
      await seedBoth(versus, bento);
      const written = await redis.exists(...KEYS.map((k) => `${name}::${k}`));
      if (written !== N)
        throw new Error(`seeding wrote ${written} of ${N} keys to Redis (is Redis overloaded?)`);
      const redisKeys = KEYS.map((k) => `${name}::${k}`);
      const windowOf = windows();
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
        ...versusReads(versus, windowOf),
        'Versus get, one at a time': [() => versus.get(one()), 1],
      };
      const results = await alternate(targets, runs, log, 1000);
      const anchors = [
        'raw ioredis GET ×100 (auto-pipelined)',
        'bentocache get ×100, auto-pipelined connection',
        'bentocache get ×100, default connection',
      ];
      for (const label of Object.keys(targets)) rows.push(results.row(label, anchors, median));
      rows.push(hitRateRow(versus, 5));
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

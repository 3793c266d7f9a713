/** The cache with its Redis tier and bus, against the real Redis (each test its own key prefix). */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEntryAs } from '../src/perf/cache/codec.ts';
import { makeEntry } from '../src/perf/cache/entry.ts';
import { type Cache, createCache } from '../src/perf/cache/index.ts';
import { createMetricsRegistry } from '../src/perf/metrics/index.ts';
import { closeRedis, createRedisClient } from '../src/perf/redis/index.ts';
import { cacheContract, slowGetOrSet } from './cache/contract.ts';
import { sharedCaches, TEST_L2_TIMEOUT } from './cache/instances.ts';
import { chaosRedis } from './helpers/chaos.ts';
import { waitFor } from './helpers/http.ts';
import { hasRedis, REDIS_URL, uniqueName } from './helpers/services.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: Redis;
beforeAll(() => {
  if (hasRedis) redis = createRedisClient(REDIS_URL!, { name: 'versus-cache-test' });
});
afterAll(async () => {
  if (redis) await closeRedis(redis);
});

/** Deletes every key of a cache name (entries, namespaces, tag records, locks). */
async function dropKeys(name: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}[:/#!]*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

describe.runIf(hasRedis)('with Redis', () => {
  cacheContract('L1 + L2 Redis', () => ({ redis }), dropKeys);

  const { open, names, instances } = sharedCaches(() => redis, 'l2', dropKeys);

  it('a value set on A is read on B from L2, and B drops its L1 copy when A writes or deletes', async () => {
    const [a, b] = await instances(2);
    const layers: string[] = [];
    b!.on('hit', (e) => layers.push(e.layer));
    await a!.set('k', 1);
    expect(await b!.get('k')).toBe(1);
    expect(await b!.get('k')).toBe(1);
    expect(layers).toEqual(['l2', 'l1']);
    await a!.set('k', 2);
    await waitFor(async () => (await b!.get('k')) === 2, 2000, 5);
    await a!.delete('k');
    await waitFor(async () => (await b!.get('k')) === undefined, 2000, 5);
  });

  it.each([
    ['deletes', (c: Cache) => c.delete('k'), undefined],
    ['clears', (c: Cache) => c.clear(), undefined],
    ['sets', (c: Cache) => c.set('k', 'newer'), 'newer'],
  ])(
    'a factory running on A while B %s the key does not store its older value',
    async (_op, change, after) => {
      const [a, b] = await instances(2);
      await a!.set('sentinel', 1);
      const { result, running, release } = slowGetOrSet(a!, 'k', 'from before');
      await running;
      await change(b!);
      // Bus messages arrive in order: once A has dropped the sentinel, it has B's change too.
      await b!.delete('sentinel');
      await waitFor(() => a!.peek('sentinel') === undefined, 2000, 5);
      release();
      expect(await result).toBe('from before');
      await sleep(20);
      expect(await a!.get('k')).toBe(after);
      expect(await b!.get('k')).toBe(after);
    },
  );

  it('createCache with one bad warmer throws before starting the good ones or opening the bus', async () => {
    await waitFor(() => redis.status === 'ready', 2000, 5);
    const clients = async () =>
      String(await redis!.client('LIST'))
        .trim()
        .split('\n').length;
    const before = await clients();
    let runs = 0;
    const good = { name: 'good', interval: '10ms', run: async () => void runs++ };
    for (const bad of [{ name: 'bad' }, { name: 'late', interval: '30d', run: async () => {} }]) {
      expect(() => createCache({ redis, name: uniqueName('l2'), warmers: [good, bad as never] })).toThrow(
        /warmer/,
      );
    }
    await sleep(50);
    expect(runs).toBe(0);
    expect(await clients()).toBe(before);
  });

  it('a getOrSet waiting for Redis when close() is called neither runs its factory nor writes', async () => {
    const [a, b] = await instances(2);
    let calls = 0;
    const pending = a!.getOrSet('k', () => {
      calls++;
      return 'after close';
    });
    const closing = a!.close();
    await expect(pending).rejects.toThrow(/closed/);
    await closing;
    expect(calls).toBe(0);
    await sleep(20);
    expect(await b!.get('k')).toBeUndefined();
  });

  it('messages on the bus channel that are not its own are ignored, and the bus keeps working', async () => {
    const [a, b] = await instances(2);
    const errors: unknown[] = [];
    b!.on('error', (e) => errors.push(e));
    await a!.set('k', 1);
    expect(await b!.get('k')).toBe(1);
    // Valid JSON of every other shape, and fields of the wrong types: another program's messages.
    const foreign = [
      'null',
      '5',
      '"x"',
      'true',
      '[]',
      '{}',
      '{"k":5}',
      '{"k":[1,null]}',
      '{"c":5}',
      '{"t":"x","a":1}',
    ];
    const channel = `${names.at(-1)}!bus`;
    for (const payload of foreign) await redis.publish(channel, payload);
    await a!.set('k', 2);
    await waitFor(async () => (await b!.get('k')) === 2, 2000, 5);
    expect(errors).toEqual([]);
  });

  it('deleteByTag of no tags and delete of 25,000 keys at once reach Redis without an error', async () => {
    const [a] = await instances(1);
    const errors: unknown[] = [];
    a!.on('error', (e) => errors.push(e));
    await a!.deleteByTag([]);
    await a!.set('x1', 1);
    await a!.set('x2', 2);
    const keys = Array.from({ length: 25_000 }, (_, i) => `x${i}`);
    await a!.delete(keys);
    const name = a!.stats().name;
    expect(await redis.exists(`${name}::x1`, `${name}::x2`)).toBe(0);
    expect(errors).toEqual([]);
    expect(a!.stats().counts.l2Errors).toBe(0);
  });

  it('clearing a namespace on A leaves every other namespace on B alone (bentocache #32)', async () => {
    const [a, b] = await instances(2);
    await a!.namespace('x').set('k', 'x');
    await a!.namespace('y').set('k', 'y');
    await a!.set('k', 'root');
    // B holds all three in L1.
    expect(await b!.namespace('x').get('k')).toBe('x');
    expect(await b!.namespace('y').get('k')).toBe('y');
    expect(await b!.get('k')).toBe('root');
    await a!.namespace('x').clear();
    await waitFor(async () => (await b!.namespace('x').get('k')) === undefined, 2000, 5);
    const layers: string[] = [];
    b!.on('hit', (e) => layers.push(e.layer));
    expect(await b!.namespace('y').get('k')).toBe('y');
    expect(await b!.get('k')).toBe('root');
    // Still served from B's memory: the clear did not touch B's other namespaces.
    expect(layers).toEqual(['l1', 'l1']);
    expect(await redis.exists(`${b!.stats().name}/y::k`)).toBe(1);
  });

  it('100 concurrent getOrSet across two instances run the factory once with the lock on', async () => {
    const [a, b] = await instances(2, { lock: { enabled: true, ttl: '2s' } });
    let calls = 0;
    const factory = async () => {
      calls++;
      await sleep(50);
      return 'v';
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a! : b!).getOrSet('hot', factory)),
    );
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['v']));
  });

  it('a read on the wire while the key is written does not put its older answer into L1', async () => {
    const chaos = chaosRedis(redis);
    const name = uniqueName('race');
    names.push(name);
    const a = createCache({ redis: chaos.client, name, l2: { timeout: 2000 } });
    const b = createCache({ redis, name, l2: { timeout: TEST_L2_TIMEOUT } });
    open.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    await b.set('k', 'old');
    chaos.mode = 'slow';
    chaos.delayMs = 100;
    const read = a.get('k'); // MGET leaves now, reaches Redis in 100 ms
    await sleep(10);
    const write = a.set('k', 'new'); // reaches Redis after the read
    expect(await read).toBe('old');
    await write;
    chaos.mode = 'ok';
    expect(await a.get('k')).toBe('new');
  });

  describe('reads issued in one tick', () => {
    it('a read issued after a write on the same connection sees the write (commands keep their order)', async () => {
      const [a, b] = await instances(2);
      for (let i = 0; i < 20; i++) {
        // Not awaited: the SET waits in the auto-pipeline when b's MGET is issued.
        const written = a!.set(`order${i}`, i);
        const read = b!.get(`order${i}`);
        expect(await read).toBe(i);
        await written;
      }
      // With nothing waiting in the auto-pipeline the MGET leaves at once, and still reads.
      await a!.set('order-last', 'last');
      expect(redis.autoPipelineQueueSize).toBe(0);
      expect(await b!.get('order-last')).toBe('last');
    });

    it('binary values decoded in one batch keep their own bytes after later batches', async () => {
      const [a, b] = await instances(2);
      const values = ['one', 'two', 'three'].map((s) => Buffer.from(s));
      await Promise.all(values.map((v, i) => a!.set(`bin${i}`, v)));
      const first = await Promise.all(values.map((_, i) => b!.get<Buffer>(`bin${i}`)));
      expect(first.every((v) => Buffer.isBuffer(v))).toBe(true);
      await Promise.all(values.map((_, i) => a!.set(`later${i}`, Buffer.from('x'.repeat(20)))));
      await Promise.all(values.map((_, i) => b!.get(`later${i}`)));
      expect(first).toEqual(values);
    });

    it('more than one MGET of reads: every caller is answered and counted, a key is fetched once', async () => {
      const [a, b] = await instances(2);
      const n = 1200;
      const keys = Array.from({ length: n }, (_, i) => `k${i}`);
      await Promise.all(keys.map((k, i) => a!.set(k, i)));
      let calls = 0;
      const factory = (v: unknown) => () => {
        calls++;
        return v;
      };
      const gets = keys.map((k) => b!.get(k));
      const again = b!.get('k7');
      const fromL2 = b!.getOrSet('k1100', factory(-1));
      const made = b!.getOrSet('missing', factory('made'));
      const missed = b!.get('missing-too');
      expect(await Promise.all(gets)).toEqual(keys.map((_, i) => i));
      expect(await again).toBe(7);
      expect(await fromL2).toBe(1100);
      expect(await made).toBe('made');
      expect(await missed).toBeUndefined();
      expect(calls).toBe(1);
      const counts = b!.stats().counts;
      expect(counts.l2Hits).toBe(n + 2);
      expect(counts.l2Misses).toBe(2);
    });
  });

  it('getOrSet misses spread over several MGETs each run their own factory with their own options', async () => {
    const [a, b] = await instances(2);
    const n = 1100;
    // Even keys are in Redis, odd keys are not: misses in every MGET of the batch.
    await Promise.all(Array.from({ length: n / 2 }, (_, i) => a!.set(`k${2 * i}`, `stored ${2 * i}`)));
    const plain = Array.from({ length: n }, (_, i) => b!.get(`p${i}`));
    const answers = Array.from({ length: n }, (_, i) =>
      b!.getOrSet(`k${i}`, () => `made ${i}`, { ttl: 1000 + i, tags: [`t${i % 3}`] }),
    );
    expect(await Promise.all(plain)).toEqual(plain.map(() => undefined));
    const got = await Promise.all(answers);
    expect(got).toEqual(got.map((_, i) => (i % 2 === 0 ? `stored ${i}` : `made ${i}`)));
    // Each made value went to L2 with its own tag: deleting one tag removes only its keys. A
    // deletes, so no bus delivery is awaited: A reads B's entries from Redis and judges them.
    await a!.deleteByTag('t1');
    expect(await a!.get('k1')).toBeUndefined();
    expect(await a!.get('k3')).toBe('made 3');
    expect(await a!.get('k5')).toBe('made 5');
    expect(await a!.get('k7')).toBeUndefined();
  });

  describe('tags across instances', () => {
    it.each([
      ['without grace', 0],
      ['with grace on (bentocache #71)', '1h'],
    ] as const)('deleteByTag on A removes the entry on B %s', async (_, grace) => {
      const [a, b] = await instances(2, { grace });
      await a!.getOrSet('k', () => 'old', { tags: ['t'] });
      await a!.set('untagged', 'stays');
      expect(await b!.get('k')).toBe('old'); // now in B's L1
      expect(await b!.get('untagged')).toBe('stays');
      await a!.deleteByTag('t');
      await waitFor(async () => (await b!.get('k')) === undefined, 2000, 5);
      expect(await b!.getOrSet('k', () => 'new', { tags: ['t'] })).toBe('new');
      expect(await b!.get('untagged')).toBe('stays');
    });

    it('expireByTag on A without grace: B misses and refetches', async () => {
      const [a, b] = await instances(2);
      await a!.set('k', 'old', { tags: ['t'] });
      expect(await b!.get('k')).toBe('old');
      await a!.expireByTag('t');
      await waitFor(async () => (await b!.get('k')) === undefined, 2000, 5);
      expect(await b!.getOrSet('k', () => 'new', { tags: ['t'] })).toBe('new');
    });

    it('expireByTag on A makes B serve stale within grace while refreshing', async () => {
      const [a, b] = await instances(2, { grace: '1h' });
      await a!.set('k', 'old', { tags: ['t'] });
      expect(await b!.get('k')).toBe('old');
      await a!.expireByTag('t');
      await waitFor(async () => (await b!.get('k')) === undefined, 2000, 5);
      expect(await b!.getOrSet('k', async () => 'new', { tags: ['t'] })).toBe('old');
      await waitFor(async () => (await b!.get('k')) === 'new', 2000, 5);
      expect(await a!.get('k')).toBe('new');
    });

    // Every SCAN page: one page of COUNT 1000 misses keys when Redis holds other data.
    const tagKeys = async (name: string) => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, page] = await redis.scan(cursor, 'MATCH', `${name}#*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...page);
      } while (cursor !== '0');
      const lives = await Promise.all(
        keys.map(async (k) => [k.slice(name.length), await redis.pttl(k)] as const),
      );
      return Object.fromEntries(lives);
    };
    const MINUTE = 60_000;

    it('tag records live as long as the entries they invalidate (twice as long), and at least a minute', async () => {
      const [a, b] = await instances(2);
      const name = a!.stats().name;
      // A tag whose entries are long gone from Redis, one with a 10-minute entry, one never written.
      await a!.set('short', 1, { tags: ['brief'], ttl: '50ms' });
      await a!.set('long', 2, { tags: ['lasting', 'brief'], ttl: '10m' });
      await a!.set('untagged', 3, { ttl: '2h' });
      let keys = await tagKeys(name);
      expect(Object.keys(keys).sort()).toEqual(['#brief!l', '#lasting!l']);
      expect(keys['#lasting!l']).toBeGreaterThan(20 * MINUTE - 5000);
      expect(keys['#lasting!l']).toBeLessThanOrEqual(20 * MINUTE + 1000);
      // The shorter write did not shorten the life the longer one gave.
      expect(keys['#brief!l']).toBeGreaterThan(20 * MINUTE - 5000);

      await a!.set('short2', 1, { tags: ['fleeting'], ttl: '50ms' });
      await waitFor(async () => (await redis.exists(`${name}#fleeting!l`)) === 0, 2000, 10);
      await b!.deleteByTag(['lasting', 'fleeting', 'never']);
      keys = await tagKeys(name);
      expect(keys['#lasting!d']).toBeGreaterThan(20 * MINUTE - 5000);
      expect(keys['#lasting!d']).toBeLessThanOrEqual(20 * MINUTE + 1000);
      for (const tag of ['fleeting', 'never']) {
        expect(keys[`#${tag}!d`]).toBeGreaterThan(MINUTE - 5000);
        expect(keys[`#${tag}!d`]).toBeLessThanOrEqual(MINUTE + 1000);
      }

      // A write reaching Redis after the invalidation (an entry made before it, on its way)
      // lengthens the records it finds: the record outlives that entry too.
      await a!.set('late', 4, { tags: ['never'], ttl: '2h' });
      expect(await b!.get('late')).toBe(4);
      keys = await tagKeys(name);
      expect(keys['#never!d']).toBeGreaterThan(240 * MINUTE - 5000);
      expect(keys['#never!l']).toBeGreaterThan(240 * MINUTE - 5000);
      // A later invalidation keeps the longer life, and the later timestamp.
      const first = Number(await redis.get(`${name}#never!d`));
      await b!.deleteByTag('never');
      expect(Number(await redis.get(`${name}#never!d`))).toBeGreaterThan(first);
      expect(await redis.pttl(`${name}#never!d`)).toBeGreaterThan(240 * MINUTE - 5000);
      // An older timestamp never replaces a newer one (clocks of two instances, a delayed call).
      const newest = await redis.get(`${name}#never!d`);
      await redis.set(`${name}#never!d`, String(Number(newest) + 60_000), 'KEEPTTL');
      await b!.deleteByTag('never');
      expect(await redis.get(`${name}#never!d`)).toBe(String(Number(newest) + 60_000));
      // The invalidations still work: the entries created before them are gone on both.
      expect(await a!.get('long')).toBeUndefined();
      expect(await b!.get('long')).toBeUndefined();
      expect(await b!.get('late')).toBeUndefined();
      expect(await b!.get('untagged')).toBe(3);
    });

    it('a tagged write within the life the last one gave is a plain SET, until a clear', async () => {
      const [a, b] = await instances(2);
      const life = `${a!.stats().name}#t!l`;
      await a!.set('k1', 1, { tags: ['t'], ttl: '10m' });
      // Shortened behind the cache's back: a plain SET leaves it so, the script would lengthen it.
      await redis.pexpire(life, 5000);
      await a!.set('k2', 2, { tags: ['t'], ttl: '5m' });
      expect(await redis.pttl(life)).toBeLessThanOrEqual(5000);
      await a!.set('k3', 3, { tags: ['t'], ttl: '30m' });
      expect(await redis.pttl(life)).toBeGreaterThan(60 * MINUTE - 5000);
      // A clear on B deletes the life key; A, told on the bus, runs the script again.
      expect(await a!.get('k3')).toBe(3);
      await b!.clear();
      expect(await redis.exists(life)).toBe(0);
      await waitFor(async () => (await a!.get('k3')) === undefined, 2000, 5);
      await a!.set('k4', 4, { tags: ['t'], ttl: '1m' });
      expect(await redis.pttl(life)).toBeGreaterThan(2 * MINUTE - 5000);
      // And so after its own clear.
      await a!.clear();
      await a!.set('k5', 5, { tags: ['t'], ttl: '1m' });
      expect(await redis.pttl(life)).toBeGreaterThan(2 * MINUTE - 5000);
    });

    it('a record without expiry stays without one, and tagged writes work after SCRIPT FLUSH', async () => {
      const [a] = await instances(1);
      const name = a!.stats().name;
      await redis.set(`${name}#old!e`, '1000');
      await a!.set('k', 1, { tags: ['old'] });
      await a!.expireByTag('old');
      expect(await redis.pttl(`${name}#old!e`)).toBe(-1);
      expect(Number(await redis.get(`${name}#old!e`))).toBeGreaterThan(1000);
      expect(await a!.get('k')).toBeUndefined();
      await redis.script('FLUSH');
      await a!.set('k', 2, { tags: ['old'] });
      await a!.expireByTag('new');
      expect(await a!.get('k')).toBe(2);
      expect(await redis.pttl(`${name}#new!e`)).toBeGreaterThan(0);
      expect(a!.stats().counts.l2Errors).toBe(0);
    });

    it('with tags.recordTtl, records expire after it and tagged writes keep no life keys', async () => {
      const [a] = await instances(1, { ttl: '300ms', tags: { recordTtl: '600ms' } });
      await a!.set('k', 'old', { tags: ['t'] });
      await a!.deleteByTag('t');
      await a!.expireByTag('u');
      const name = a!.stats().name;
      const records = await tagKeys(name);
      expect(Object.keys(records).sort()).toEqual(['#t!d', '#u!e']);
      for (const ttl of Object.values(records)) expect(ttl).toBeGreaterThan(0);
      for (const ttl of Object.values(records)) expect(ttl).toBeLessThanOrEqual(600);
      // While the record lives, an instance that has not heard of the deletion still reads it.
      const late = createCache({ redis, name, l2: { timeout: TEST_L2_TIMEOUT } });
      open.push(late);
      await late.ready();
      expect(await late.get('k')).toBeUndefined();
      await waitFor(async () => Object.keys(await tagKeys(name)).length === 0, 3000, 50);
      expect(await redis.exists(`${name}::k`)).toBe(0);
    });

    it('an instance started after the invalidation reads the tag records from Redis', async () => {
      const [a] = await instances(1);
      await a!.set('gone', 1, { tags: ['t'] });
      await a!.set('stale', 2, { tags: ['u'] });
      await a!.deleteByTag('t');
      await a!.expireByTag('u');
      const name = a!.stats().name;
      const late = createCache({ redis, name, grace: '1h', l2: { timeout: TEST_L2_TIMEOUT } });
      open.push(late);
      await late.ready();
      expect(await late.get('gone')).toBeUndefined();
      expect(await late.get('stale')).toBeUndefined();
      expect(await late.getOrSet('gone', () => 'fresh')).toBe('fresh');
    });
  });

  describe('compression and codecs', () => {
    const big = { text: 'all work and no play '.repeat(500), n: [1, 2, 3] };

    it('compresses values above the threshold with zstd and reads them back on another instance', async () => {
      const [a, b] = await instances(2);
      await a!.set('big', big);
      await a!.set('small', { n: 1 });
      const name = a!.stats().name;
      const raw = await redis.getBuffer(`${name}::big`);
      expect(raw?.[0]).toBe(0x02);
      expect(raw!.length).toBeLessThan(2000);
      expect((await redis.getBuffer(`${name}::small`))?.[0]).toBe(0x01);
      expect(await b!.get('big')).toEqual(big);
    });

    it('writes uncompressed when compression is off, and every instance reads every codec', async () => {
      const [plain] = await instances(1, { compression: { enabled: false } });
      const name = plain!.stats().name;
      await plain!.set('big', big);
      expect((await redis.getBuffer(`${name}::big`))?.[0]).toBe(0x01);
      // Entries as older settings or hosts wrote them: gzip, zstd, plain msgpack.
      for (const [key, codec] of [
        ['gzip', 0x03],
        ['zstd', 0x02],
        ['plain', 0x01],
      ] as const) {
        await redis.set(
          `${name}::${key}`,
          encodeEntryAs(makeEntry({ key }, 60_000, 0, undefined), codec),
          'PX',
          60_000,
        );
      }
      const compressed = createCache({
        redis,
        name,
        compression: { enabled: true, threshold: 10 },
        l2: { timeout: TEST_L2_TIMEOUT },
      });
      open.push(compressed);
      expect(await compressed.get('big')).toEqual(big);
      for (const key of ['gzip', 'zstd', 'plain']) {
        expect(await compressed.get(key)).toEqual({ key });
        expect(await plain!.get(key)).toEqual({ key });
      }
    });

    it.each([
      ['uncompressed', { enabled: false }],
      ['zstd-compressed', { enabled: true, threshold: 10 }],
    ])(
      'a value read from L2 keeps its types (%s): Map with object keys, Set, typed arrays, Error, RegExp',
      async (_label, compression) => {
        const [a, b] = await instances(2, { compression });
        const owner = { id: 7 };
        const value = {
          byOwner: new Map<unknown, unknown>([
            [owner, 'seven'],
            [[1, 2], { nested: new Map([['inner', 1]]) }],
          ]),
          ids: new Set([1, 'two', { three: 3 }]),
          floats: new Float64Array([1.5, -2.25]),
          bytes: new Uint8Array([1, 2, 255]),
          buffer: Buffer.from('raw'),
          raw: new Uint16Array([513]).buffer,
          at: new Date(1_700_000_000_000),
          big: 2n ** 70n,
          err: new RangeError('out of range'),
          pattern: /ab+c/gi,
          byName: new Map([
            ['a', 1],
            ['__proto__', 2],
          ]),
          list: [new Map([[{ k: 1 }, 'v']])],
        };
        await a!.set('typed', value);
        const read = (await b!.get('typed')) as typeof value;
        expect(b!.stats().counts.l2Hits).toBe(1);
        expect(read).not.toBe(value);
        expect(read.byOwner).toBeInstanceOf(Map);
        expect([...read.byOwner]).toEqual([
          [{ id: 7 }, 'seven'],
          // A Map with only string keys reads as an object, inside a Map as anywhere else.
          [[1, 2], { nested: { inner: 1 } }],
        ]);
        expect(read.ids).toBeInstanceOf(Set);
        expect([...read.ids]).toEqual([1, 'two', { three: 3 }]);
        expect(read.floats).toBeInstanceOf(Float64Array);
        expect([...read.floats]).toEqual([1.5, -2.25]);
        expect(read.bytes).toBeInstanceOf(Uint8Array);
        expect([...read.bytes]).toEqual([1, 2, 255]);
        expect(Buffer.isBuffer(read.buffer) && read.buffer.toString()).toBe('raw');
        expect(read.raw).toBeInstanceOf(ArrayBuffer);
        expect([...new Uint16Array(read.raw)]).toEqual([513]);
        expect(read.at).toEqual(new Date(1_700_000_000_000));
        expect(read.big).toBe(2n ** 70n);
        expect(read.err).toBeInstanceOf(Error);
        expect(read.err.message).toBe('out of range');
        expect(read.pattern).toBeInstanceOf(RegExp);
        expect(String(read.pattern)).toBe('/ab+c/gi');
        expect(read.byName).toEqual({ a: 1, __proto_: 2 });
        expect(Object.getPrototypeOf(read.byName)).toBe(Object.prototype);
        expect(read.list[0]).toBeInstanceOf(Map);
        expect([...read.list[0]!]).toEqual([[{ k: 1 }, 'v']]);
        const raw = await redis.getBuffer(`${a!.stats().name}::typed`);
        expect(raw?.[0]).toBe(compression.enabled ? 0x02 : 0x01);
      },
    );

    it('keeps a value msgpack cannot encode (a cycle) in L1 only, without failing the write', async () => {
      const [cache] = await instances(1);
      const cyclic: Record<string, unknown> = { n: 1 };
      cyclic.self = cyclic;
      await cache!.set('cyclic', cyclic);
      expect(await cache!.get('cyclic')).toBe(cyclic);
      expect(await redis.exists(`${cache!.stats().name}::cyclic`)).toBe(0);
      expect(cache!.stats().counts.l2Errors).toBe(1);
      expect(cache!.stats().l2.breaker).toBe('closed');
    });

    it.each([
      [
        'a value msgpack cannot encode',
        () => {
          const cyclic: Record<string, unknown> = { n: 1 };
          cyclic.self = cyclic;
          return cyclic;
        },
      ],
      ['a value over l2.maxValueBytes', () => 'x'.repeat(5000)],
    ])(
      '%s is kept in L1 only, and the older value leaves L2 so no instance reads it back',
      async (_label, make) => {
        const warnings: { fields: unknown; msg: string }[] = [];
        const logger = { warn: (fields: unknown, msg: string) => void warnings.push({ fields, msg }) };
        // No compression: the 5,000-character string stays 5,000 bytes.
        const options = {
          logger,
          l2: { timeout: TEST_L2_TIMEOUT, maxValueBytes: 2000 },
          compression: { enabled: false },
        };
        const [a, b] = await instances(2, options);
        await a!.set('k', 'older');
        expect(await b!.get('k')).toBe('older');
        const value = make();
        await a!.set('k', value);
        expect(await a!.get('k')).toBe(value);
        await waitFor(async () => (await b!.get('k')) === undefined, 2000, 5);
        expect(await redis.exists(`${a!.stats().name}::k`)).toBe(0);
        expect(a!.stats().l2.breaker).toBe('closed');
        expect(warnings.some((w) => (w.fields as { key?: string }).key === `${a!.stats().name}::k`)).toBe(
          true,
        );
      },
    );

    it('refuses an l2.maxValueBytes that is not a positive integer', () => {
      for (const maxValueBytes of [0, -1, 1.5, Number.NaN]) {
        expect(() => createCache({ redis, name: uniqueName('l2'), l2: { maxValueBytes } })).toThrow(
          /l2\.maxValueBytes/,
        );
      }
    });

    it('treats an unreadable value (unknown codec byte) as a miss, and names its key in the warning', async () => {
      const warnings: { fields: unknown; msg: string }[] = [];
      const logger = { warn: (fields: unknown, msg: string) => void warnings.push({ fields, msg }) };
      const [cache] = await instances(1, { logger });
      const name = cache!.stats().name;
      await redis.set(`${name}::odd`, Buffer.from([0x7f, 1, 2, 3]), 'PX', 60_000);
      expect(await cache!.get('odd')).toBeUndefined();
      expect(warnings).toContainEqual({
        fields: expect.objectContaining({ key: `${name}::odd` }),
        msg: 'cache L2 value unreadable; treated as a miss',
      });
      expect(await cache!.getOrSet('odd', () => 'rewritten')).toBe('rewritten');
      expect((await redis.getBuffer(`${name}::odd`))?.[0]).toBe(0x01);
    });

    it('treats an entry whose fields have the wrong types (tags not a list) as a miss', async () => {
      const [cache] = await instances(1);
      const name = cache!.stats().name;
      const later = Date.now() + 60_000;
      for (const tags of [5, 'x', {}, [1]]) {
        await redis.set(
          `${name}::bad`,
          encodeEntryAs(
            { createdAt: 1, expiresAt: later, staleUntil: later, tags, value: 'v' } as never,
            0x01,
          ),
          'PX',
          60_000,
        );
        expect(await cache!.get('bad')).toBeUndefined();
        expect(await cache!.getOrSet('bad', () => 'rewritten')).toBe('rewritten');
        await cache!.delete('bad');
      }
    });
  });

  describe('degradation', () => {
    it('one stall that times out many calls at once counts as one failure, not a hundred', async () => {
      const chaos = chaosRedis(redis);
      const name = uniqueName('stall');
      names.push(name);
      const cache = createCache({ redis: chaos.client, name, l2: { timeout: 20, breakerThreshold: 3 } });
      open.push(cache);
      await cache.ready();
      chaos.mode = 'slow';
      chaos.delayMs = 100;
      await Promise.all(Array.from({ length: 100 }, (_, i) => cache.set(`k${i}`, i)));
      expect(cache.stats().l2.breaker).toBe('closed');
      chaos.mode = 'ok';
      // The stalled writes still reach Redis 100 ms late: let them land before the keys are dropped.
      await sleep(chaos.delayMs + 100);
    });

    it('Redis on a wrong port: reads and writes succeed through L1 and the factory; the breaker opens', async () => {
      const dead = createRedisClient('redis://127.0.0.1:1', { name: 'versus-cache-test-dead' });
      const name = uniqueName('dead');
      const cache = createCache({ redis: dead, name, l2: { breakerThreshold: 3 } });
      try {
        expect(await cache.ready(100)).toBe(false);
        await cache.set('k', 1);
        expect(await cache.get('k')).toBe(1);
        // Failures count once per incident (10 ms apart), as real traffic would spread them.
        for (let i = 0; i < 5; i++) {
          expect(await cache.getOrSet(`m${i}`, () => i)).toBe(i);
          await sleep(15);
        }
        expect(await cache.get('never')).toBeUndefined();
        const s = cache.stats();
        expect(s.l2.breaker).toBe('open');
        expect(s.counts.l2Errors).toBeGreaterThan(0);
        expect(s.bus.subscribed).toBe(false);
      } finally {
        await cache.close();
        dead.disconnect();
      }
    });

    it('Redis failing mid-test: still served; the breaker opens, stops calling Redis, then probes and recovers', async () => {
      const chaos = chaosRedis(redis);
      const name = uniqueName('chaos');
      names.push(name);
      const errors: string[] = [];
      const cache = createCache({
        redis: chaos.client,
        name,
        l2: { breakerThreshold: 3, breakerPause: 100 },
      });
      open.push(cache);
      cache.on('error', (e) => errors.push(e.error.name));
      await cache.ready();
      await cache.set('before', 'b');

      chaos.mode = 'fail';
      await cache.set('during', 'd');
      expect(await cache.get('before')).toBe('b'); // L1
      for (let i = 0; i < 5; i++) {
        expect(await cache.getOrSet(`f${i}`, () => `v${i}`)).toBe(`v${i}`);
        await sleep(15);
      }
      expect(cache.stats().l2.breaker).toBe('open');
      expect(errors).toContain('CacheL2UnavailableError');
      const callsWhileOpen = chaos.calls;
      expect(await cache.getOrSet('f9', () => 'v9')).toBe('v9');
      await cache.set('more', 1);
      expect(chaos.calls).toBe(callsWhileOpen);

      chaos.mode = 'ok';
      await sleep(120);
      expect(await cache.getOrSet('after', () => 'a')).toBe('a'); // the probe
      expect(cache.stats().l2.breaker).toBe('closed');
      await cache.set('k', 'written');
      expect((await redis.getBuffer(`${name}::k`))?.[0]).toBe(0x01);
    });

    it('slow Redis: calls past the L2 timeout count as failures and the factory answers', async () => {
      const chaos = chaosRedis(redis);
      const name = uniqueName('slow');
      names.push(name);
      const cache = createCache({ redis: chaos.client, name, l2: { timeout: 20 } });
      open.push(cache);
      await cache.ready();
      chaos.mode = 'slow';
      chaos.delayMs = 300;
      expect(await cache.getOrSet('k', () => 'from source')).toBe('from source');
      expect(cache.stats().counts.l2Errors).toBeGreaterThanOrEqual(1);
    });

    it('drops its whole L1 when the bus subscription comes back after a loss', async () => {
      const [cache] = await instances(1);
      await cache!.set('k', 'v');
      expect(cache!.stats().l1.entries).toBe(1);
      const name = cache!.stats().name;
      const list = (await redis.client('LIST')) as string;
      const line = list.split('\n').find((l) => l.includes(` name=${name}-bus `));
      const id = /id=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await redis.client('KILL', 'ID', id!);
      await waitFor(() => cache!.stats().l1.entries === 0 && cache!.stats().bus.subscribed, 5000, 10);
      expect(await cache!.get('k')).toBe('v'); // from L2
    });
  });

  it('reports L2 series: operations by layer and the latency histogram', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const [a] = await instances(1, { metrics });
    const name = a!.stats().name;
    const other = createCache({ redis, name, metrics, l2: { timeout: TEST_L2_TIMEOUT } });
    open.push(other);
    await a!.set('k', 1);
    await other.get('k');
    await other.get('missing');
    const text = await metrics.metrics();
    expect(text).toContain('cache_operations_total{layer="l2",op="get",result="hit"} 1');
    expect(text).toContain('cache_operations_total{layer="l2",op="get",result="miss"} 1');
    expect(text).toContain('cache_operations_total{layer="l2",op="set",result="ok"} 1');
    expect(text).toMatch(/cache_l2_duration_seconds_count\{op="get"\} [1-9]/);
    expect(text).toContain('cache_hit_rate{layer="l2"} 0.5');
  });
});

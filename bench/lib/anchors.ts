/** The anchors cache benchmarks compare against, built the way their docs show. */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { Redis as IORedis, type Redis } from 'ioredis';
import { createCache } from '../../src/perf/cache/index.ts';
import { closeRedis, createRedisClient } from '../../src/perf/redis/index.ts';

/** bentocache with a memory L1 only. */
export function bentoMemory(maxItems = 10_000) {
  return new BentoCache({
    default: 'c',
    stores: { c: bentostore().useL1Layer(memoryDriver({ maxItems })) },
  });
}

/**
 * bentocache with a memory L1, a Redis L2 and the Redis bus. `autoPipelining` false is
 * bentocache as its docs set it up (a plain ioredis connection); true gives its connection
 * ioredis's auto-pipelining too, to compare the caches rather than the client settings.
 */
export function bentoTiered(url: string, prefix: string, maxItems = 10_000, autoPipelining = true) {
  const u = new URL(url);
  const options = { host: u.hostname, port: Number(u.port || 6379), enableAutoPipelining: autoPipelining };
  const redis = new IORedis(options);
  const bento = new BentoCache({
    default: 'c',
    prefix,
    stores: {
      c: bentostore()
        .useL1Layer(memoryDriver({ maxItems }))
        .useL2Layer(redisDriver({ connection: redis }))
        .useBus(redisBusDriver({ connection: { host: options.host, port: options.port } })),
    },
  });
  return { bento, redis };
}

/** cache-manager v7 with its default store (keyv in memory). */
export function cacheManagerMemory() {
  return createCacheManager();
}

/** Deletes every key starting with `prefix` (SCAN, never KEYS or FLUSHDB: the server is shared). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** The ~90-byte object the two-tier cache benchmarks read and write. */
export const benchValue = (i: number) => ({
  id: i,
  title: `item number ${i}`,
  price: i * 1.5,
  tags: ['a', 'b'],
});

/**
 * The contenders of a two-tier benchmark on the Redis at REDIS_URL, under one fresh name: raw
 * ioredis (Versus's own client), Versus's cache, and bentocache with an auto-pipelined and a plain
 * connection. Every cache's L1 holds `l1Entries`. `close()` disconnects everything and deletes
 * every key written under the name.
 */
export function tieredContenders(id: string, l1Entries: number) {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const redis = createRedisClient(url, { name: 'versus-bench' });
  const name = `bench-${id}-${process.pid}-${Date.now().toString(36)}`;
  // A 1 s L2 timeout instead of 50 ms: on a shared 2-core machine a load spike can pass 50 ms,
  // and a skipped write during seeding would turn into misses measured as reads.
  const versus = createCache({ name, redis, l1: { maxEntries: l1Entries }, l2: { timeout: 1000 } });
  const piped = bentoTiered(url, `${name}-bento`, l1Entries);
  const plain = bentoTiered(url, `${name}-bento-plain`, l1Entries, false);
  return {
    redis,
    name,
    versus,
    bento: piped.bento,
    plainBento: plain.bento,
    async close() {
      await versus.close();
      await piped.bento.disconnectAll();
      await plain.bento.disconnectAll();
      piped.redis.disconnect();
      plain.redis.disconnect();
      await dropPrefix(redis, name);
      await closeRedis(redis);
    },
  };
}

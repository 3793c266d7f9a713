/** The anchors cache benchmarks compare against, built the way their docs show. */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { createCache as createCacheManager } from 'cache-manager';
import { Redis as IORedis, type Redis } from 'ioredis';

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

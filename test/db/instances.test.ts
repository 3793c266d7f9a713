/**
 * Two instances (each its own database layer and tiered cache) sharing PostgreSQL and Redis: a
 * write committed on one invalidates the other's cached query through the cache's bus.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../../src/perf/cache/index.ts';
import { closeRedis, createRedisClient, type Redis } from '../../src/perf/redis/index.ts';
import { type Backend, postgresBackend } from '../helpers/db.ts';
import { waitFor } from '../helpers/http.ts';
import { hasPostgres, hasRedis, REDIS_URL, uniqueName } from '../helpers/services.ts';

describe.runIf(hasPostgres && hasRedis)('query cache across instances', () => {
  let backend: Backend;
  let name: string;
  const redisClients: Redis[] = [];
  const caches: Cache[] = [];

  function instanceCache(): Cache {
    const redis = createRedisClient(REDIS_URL!, { name: 'versus-db-test' });
    redisClients.push(redis);
    const cache = createCache({ redis, name });
    caches.push(cache);
    return cache.namespace('db');
  }

  beforeEach(async () => {
    backend = await postgresBackend();
    name = uniqueName('dbq');
  });
  afterEach(async () => {
    await backend.cleanup();
    await Promise.all(caches.splice(0).map((c) => c.close()));
    const redis = redisClients[0];
    if (redis !== undefined) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}[:/#!]*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    }
    await Promise.all(redisClients.splice(0).map((r) => closeRedis(r)));
  });

  it('a write on one instance invalidates the cached query on the other', async () => {
    const one = await backend.open({ cache: instanceCache() });
    const two = await backend.open({ cache: instanceCache() });
    await Promise.all(caches.map((c) => c.ready()));
    await one.query('CREATE TABLE scores (player text, points int)');
    await one.query(`INSERT INTO scores VALUES ('ada', 10), ('bob', 7)`);
    const read =
      'WITH ranked AS (SELECT player, points FROM scores) SELECT player FROM ranked ORDER BY points DESC LIMIT 1';

    expect(await one.cachedQuery(read)).toMatchObject({ cached: false, rows: [{ player: 'ada' }] });
    expect(await one.cachedQuery(read)).toMatchObject({ cached: true, rows: [{ player: 'ada' }] });
    // The second instance finds the result in the shared Redis tier.
    expect(await two.cachedQuery(read)).toMatchObject({ cached: true, rows: [{ player: 'ada' }] });

    await two.query(`UPDATE scores SET points = 20 WHERE player = 'bob'`);
    const fresh = await waitFor(async () => {
      const r = await one.cachedQuery(read);
      return r.rows[0]?.player === 'bob' ? r : undefined;
    }, 5000);
    expect(fresh?.cached).toBe(false);
  });

  it('a rolled-back write on one instance leaves the other instance’s cached query alone', async () => {
    const one = await backend.open({ cache: instanceCache() });
    const two = await backend.open({ cache: instanceCache() });
    await Promise.all(caches.map((c) => c.ready()));
    await one.query('CREATE TABLE stock (n int)');
    await one.query('INSERT INTO stock VALUES (1)');
    await one.cachedQuery('SELECT n FROM stock');
    await expect(
      two.transaction(async (tx) => {
        await tx.query('DELETE FROM stock');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await new Promise((r) => setTimeout(r, 200));
    expect(await one.cachedQuery('SELECT n FROM stock')).toMatchObject({ cached: true, rows: [{ n: 1 }] });
  });
});

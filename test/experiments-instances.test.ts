/**
 * Two instances (each its own tiered cache, sharing Redis and the database): a change made on one
 * is seen on the other at once, through the cache's invalidation bus, not after a TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../src/perf/cache/index.ts';
import { closeRedis, createRedisClient, type Redis } from '../src/perf/redis/index.ts';
import { createRecorder, submitFeedback } from '../src/platform/events/index.ts';
import { createExperimentService } from '../src/platform/experiments/index.ts';
import { event, pgliteSql, type TestSql } from './helpers/experiments.ts';
import { hasRedis, REDIS_URL, uniqueName } from './helpers/services.ts';

describe.runIf(hasRedis)('experiments across instances', () => {
  let redis: Redis;
  let sql: TestSql;
  let caches: Cache[];
  const name = uniqueName('exp');

  beforeAll(async () => {
    redis = createRedisClient(REDIS_URL!, { name: 'versus-experiments-test' });
    sql = await pgliteSql();
    caches = [createCache({ redis, name }), createCache({ redis, name })];
    for (const c of caches) expect(await c.ready()).toBe(true);
  }, 60_000);
  afterAll(async () => {
    for (const c of caches) await c.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}[:/#!]*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    await closeRedis(redis);
    await sql.close();
  });

  it('a PATCH on one instance takes effect on the other at once', async () => {
    const [a, b] = caches.map((cache) =>
      createExperimentService({ db: sql, cache: cache.namespace('experiments'), isKnownModel: () => true }),
    );
    const e = await a!.create({
      name: 'shared',
      status: 'running',
      variants: [
        { name: 'x', model: 'mock/fast', weight: 1 },
        { name: 'y', model: 'mock/fast', weight: 1 },
      ],
    });
    // Both instances hold it in memory now.
    expect((await a!.get('shared')).status).toBe('running');
    expect((await b!.get(e.id)).status).toBe('running');
    await a!.update(e.id, { status: 'paused' });
    const deadline = Date.now() + 2000;
    let seen = (await b!.get(e.id)).status;
    while (seen !== 'paused' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      seen = (await b!.get(e.id)).status;
    }
    expect(seen).toBe('paused');
    expect((await b!.get('shared')).status).toBe('paused');
  });

  it('feedback sent to one instance finds an event still buffered on the other (Redis marker)', async () => {
    const silent = { warn: () => {}, error: () => {} };
    // A long flush interval: without the marker the event is nowhere but in A's memory.
    const a = createRecorder({ db: sql, log: silent, markers: redis, flushIntervalMs: 60_000 });
    const b = createRecorder({ db: sql, log: silent, markers: redis, flushIntervalMs: 60_000 });
    const e = event({ experimentId: 'exp_marker' });
    a.record(e);
    await new Promise((r) => setTimeout(r, 50)); // the marker write is fire-and-forget
    const started = Date.now();
    const f = await submitFeedback(sql, b, { response_id: e.responseId, score: 0.3 });
    expect(f.experimentId).toBe('exp_marker');
    // Found through the marker, not through the one-interval re-check.
    expect(Date.now() - started).toBeLessThan(1000);
    await redis.del(`versus:response:${e.responseId}`);
    await a.close();
    await b.close();
  });
});

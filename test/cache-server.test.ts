import { describe, expect, it } from 'vitest';
import { testApp } from './helpers/app.ts';
import { hasRedis, REDIS_URL } from './helpers/services.ts';

describe('cache in the server', () => {
  it('app.versus.cache is built from config, reported in parts and /metrics, and closed with the app', async () => {
    const { app } = await testApp({ CACHE_MEMORY_MAX_SIZE: '2' });
    const cache = app.versus.cache;
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('c', 3);
    expect(cache.stats().l1).toMatchObject({ entries: 2, maxEntries: 2 });
    expect(await cache.get('c')).toBe(3);
    const part = app.versus.parts.find((p) => p.name === 'cache');
    expect(part?.summary).toMatch(/^L1 memory \(2 entries\); set REDIS_URL/);
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toContain('cache_operations_total{layer="l1",op="get",result="hit"} 1');
    await app.close();
    await expect(cache.get('c')).rejects.toMatchObject({ code: 'CACHE_CLOSED' });
  });

  it.runIf(hasRedis)('with REDIS_URL the cache has its Redis tier and bus', async () => {
    const { app } = await testApp({ REDIS_URL: REDIS_URL! });
    try {
      const cache = app.versus.cache;
      expect(await cache.ready()).toBe(true);
      expect(cache.stats()).toMatchObject({
        l2: { enabled: true, breaker: 'closed' },
        bus: { subscribed: true },
      });
      const part = app.versus.parts.find((p) => p.name === 'cache');
      expect(part?.summary).toMatch(/^L1 memory \(10000 entries\) \+ L2 Redis \+ invalidation bus at redis:/);
    } finally {
      await app.close();
    }
  });
});

import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache } from '../src/perf/cache/index.ts';
import { testApp } from './helpers/app.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('purging expired entries', () => {
  it('drops entries past their grace and keeps fresh ones and stale ones still in grace', async () => {
    const cache = createCache({ name: 'purge' });
    try {
      await cache.set('gone', 1, { ttl: 5 });
      await cache.set('graced', 2, { ttl: 5, grace: 60_000 });
      await cache.set('fresh', 3, { ttl: 60_000 });
      await cache.namespace('child').set('gone-too', 4, { ttl: 5 });
      await cache.set('deleted-by-tag', 5, { ttl: 60_000, tags: ['t'] });
      await cache.deleteByTag('t');
      await sleep(30);
      expect(cache.purgeExpired()).toBe(3);
      expect(cache.stats().l1.entries).toBe(2);
      expect(await cache.get('fresh')).toBe(3);
      // The graced entry is still there for getOrSet to serve when its source fails.
      expect(
        await cache.getOrSet(
          'graced',
          () => {
            throw new Error('source down');
          },
          { ttl: 5, grace: 60_000 },
        ),
      ).toBe(2);
      expect(cache.purgeExpired()).toBe(0);
    } finally {
      await cache.close();
    }
  });

  it('POST /admin/performance/actions/clear-expired purges the server cache', async () => {
    ({ app } = await testApp());
    await app.versus.cache.set('short', 1, { ttl: 5 });
    await app.versus.cache.set('long', 2, { ttl: 60_000 });
    await sleep(30);
    const res = await app.inject({ method: 'POST', url: '/admin/performance/actions/clear-expired' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      action: 'clear-expired',
      ok: true,
      details: { cleared: { cache: 1 } },
    });
    expect(app.versus.cache.stats().l1.entries).toBe(1);
  });
});

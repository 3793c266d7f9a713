import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/perf/cache/index.ts';
import { cacheContract } from './cache/contract.ts';

cacheContract('L1 only', () => ({}));

describe('L1 only', () => {
  it('refuses a redis option that is not an ioredis client, saying what to pass', () => {
    for (const wrong of ['redis://127.0.0.1:6379', null, {}]) {
      expect(() => createCache({ redis: wrong as unknown as Redis })).toThrow(
        expect.objectContaining({
          code: 'CACHE_INVALID_OPTION',
          message: expect.stringMatching(/expected an ioredis client/),
        }),
      );
    }
  });

  it('bounds its tag knowledge: past 100,000 tags it forgets them and drops L1, and tags still work', async () => {
    const cache = createCache({ name: 'tagcap' });
    try {
      await cache.set('kept', 1, { tags: ['x'] });
      const many = Array.from({ length: 100_001 }, (_, i) => `t${i}`);
      await cache.deleteByTag(many);
      expect(cache.stats().l1.entries).toBe(0);
      await cache.set('k', 'v', { tags: ['x'] });
      expect(await cache.get('k')).toBe('v');
      await cache.deleteByTag('x');
      expect(await cache.get('k')).toBeUndefined();
    } finally {
      await cache.close();
    }
  });
});

/**
 * Cache instances sharing one name, as processes sharing Redis are: each test's instances (and
 * any cache it adds to `open`, any name it adds to `names`) are closed and their keys dropped
 * after the test. Call inside the describe that uses them.
 */
import type { Cluster, Redis } from 'ioredis';
import { afterEach, expect } from 'vitest';
import { type Cache, type CacheOptions, createCache } from '../../src/perf/cache/index.ts';
import { uniqueName } from '../helpers/services.ts';

/**
 * Tests about sharing and codecs get a generous Redis timeout: on a loaded 2-core machine a 50 ms
 * call can time out, which is the degradation path (tested on its own), not the one under test.
 */
export const TEST_L2_TIMEOUT = 2000;

export function sharedCaches(
  client: () => Redis | Cluster,
  prefix: string,
  dropKeys: (name: string) => Promise<void>,
) {
  const open: Cache[] = [];
  const names: string[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
    for (const n of names.splice(0)) await dropKeys(n);
  });
  async function instances(count: number, options: Omit<CacheOptions, 'name'> = {}): Promise<Cache[]> {
    const name = uniqueName(prefix);
    names.push(name);
    const caches = Array.from({ length: count }, () =>
      createCache({ redis: client(), l2: { timeout: TEST_L2_TIMEOUT }, ...options, name }),
    );
    open.push(...caches);
    for (const c of caches) expect(await c.ready()).toBe(true);
    return caches;
  }
  return { open, names, instances };
}

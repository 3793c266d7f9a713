/**
 * The cache contract: every behaviour a caller relies on, run against each configuration (L1
 * only, L1 + Redis L2). `make` builds a cache with its own name (key prefix) for one test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Cache, type CacheOptions, createCache } from '../../src/perf/cache/index.ts';
import { createMetricsRegistry } from '../../src/perf/metrics/index.ts';
import { uniqueName } from '../helpers/services.ts';

export type MakeOptions = Omit<CacheOptions, 'name'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A getOrSet whose factory waits until `release` is called. */
export function slowGetOrSet(cache: Cache, key: string, value: unknown, tags?: string[]) {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let started!: () => void;
  const running = new Promise<void>((r) => {
    started = r;
  });
  const result = cache.getOrSet(
    key,
    async () => {
      started();
      await gate;
      return value;
    },
    tags === undefined ? {} : { tags },
  );
  return { result, running, release };
}

export function cacheContract(
  label: string,
  extra: () => MakeOptions,
  /** Removes whatever a cache of this name left behind (its Redis keys). */
  cleanup: (name: string) => Promise<void> = async () => {},
): void {
  describe(`cache contract: ${label}`, () => {
    const open: { name: string; cache: Cache }[] = [];
    const make = async (options: MakeOptions = {}): Promise<Cache> => {
      const name = uniqueName('ct');
      const cache = createCache({ ...extra(), ...options, name });
      open.push({ name, cache });
      expect(await cache.ready()).toBe(true);
      return cache;
    };
    afterEach(async () => {
      for (const { name, cache } of open.splice(0)) {
        await cache.close();
        await cleanup(name);
      }
    });

    it('get misses, set then get hits, delete removes', async () => {
      const cache = await make();
      expect(await cache.get('a')).toBeUndefined();
      await cache.set('a', { n: 1 });
      await cache.set('b', 'two');
      expect(await cache.get('a')).toEqual({ n: 1 });
      expect(await cache.has('b')).toBe(true);
      await cache.delete(['a', 'b']);
      expect(await cache.get('a')).toBeUndefined();
      expect(await cache.has('b')).toBe(false);
      const s = cache.stats();
      expect(s.counts.l1Hits).toBe(2);
      expect(s.counts.l1Misses).toBeGreaterThanOrEqual(3);
    });

    it('peek answers fresh memory hits synchronously and counts only those', async () => {
      const cache = await make({ ttl: '150ms' });
      expect(cache.peek('a')).toBeUndefined();
      await cache.set('a', { n: 1 });
      await cache.set('t', 'tagged', { tags: ['x'] });
      const ns = cache.namespace('n');
      await ns.set('a', 'inner');
      expect(cache.peek('a')).toEqual({ n: 1 });
      expect(cache.peek('t')).toBe('tagged');
      expect(ns.peek('a')).toBe('inner');
      await cache.expireByTag('x');
      expect(cache.peek('t')).toBeUndefined();
      expect(cache.peek(42 as unknown as string)).toBeUndefined();
      await sleep(250);
      expect(cache.peek('a')).toBeUndefined();
      const s = cache.stats();
      expect(s.counts.l1Hits).toBe(3);
      // The misses are left to the get() that follows a peek.
      expect(s.counts.l1Misses).toBe(0);
    });

    it('expires values after their ttl (number or string durations)', async () => {
      const cache = await make({ ttl: '150ms' });
      await cache.set('short', 1);
      await cache.set('long', 2, { ttl: '10s' });
      expect(await cache.get('short')).toBe(1);
      await sleep(250);
      expect(await cache.get('short')).toBeUndefined();
      expect(await cache.get('long')).toBe(2);
    });

    it('getOrSet runs the factory on a miss only, with key and signal in its context', async () => {
      const cache = await make();
      let calls = 0;
      const factory = async (ctx: { key: string; signal: AbortSignal }) => {
        calls++;
        expect(ctx.signal).toBeInstanceOf(AbortSignal);
        return `value of ${ctx.key}`;
      };
      expect(await cache.getOrSet('k', factory)).toBe('value of k');
      expect(await cache.getOrSet('k', factory)).toBe('value of k');
      expect(await cache.get('k')).toBe('value of k');
      expect(calls).toBe(1);
    });

    it('100 concurrent getOrSet calls run the factory once', async () => {
      const cache = await make();
      let calls = 0;
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          cache.getOrSet('hot', async () => {
            calls++;
            await sleep(20);
            return 42;
          }),
        ),
      );
      expect(calls).toBe(1);
      expect(new Set(results)).toEqual(new Set([42]));
    });

    it('a factory error reaches the caller and caches nothing', async () => {
      const cache = await make();
      const boom = new Error('source down');
      await expect(cache.getOrSet('k', () => Promise.reject(boom))).rejects.toBe(boom);
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.getOrSet('k', () => 'ok')).toBe('ok');
    });

    it('skipCache returns the value without storing it; setTtl overrides the ttl', async () => {
      const cache = await make();
      expect(
        await cache.getOrSet('skip', (ctx) => {
          ctx.skipCache();
          return 'once';
        }),
      ).toBe('once');
      expect(await cache.get('skip')).toBeUndefined();
      await cache.getOrSet('short', (ctx) => {
        ctx.setTtl(150);
        return 'brief';
      });
      expect(await cache.get('short')).toBe('brief');
      await sleep(250);
      expect(await cache.get('short')).toBeUndefined();
    });

    describe('grace', () => {
      it('serves the stale value when the factory throws, and backs off before retrying', async () => {
        const cache = await make({ ttl: 30, grace: '1m' });
        const errors: string[] = [];
        cache.on('error', (e) => errors.push(e.source));
        await cache.set('k', 'old');
        await sleep(50);
        expect(await cache.get('k')).toBeUndefined(); // get never serves stale
        let calls = 0;
        const failing = async () => {
          calls++;
          throw new Error('source down');
        };
        expect(await cache.getOrSet('k', failing, { softTimeout: 1000 })).toBe('old');
        expect(errors).toContain('factory');
        // Backoff: the stale value is served as fresh for a while, without calling the source.
        expect(await cache.getOrSet('k', failing)).toBe('old');
        expect(calls).toBe(1);
      });

      it('soft timeout answers with the stale value and the refresh lands in the background', async () => {
        const cache = await make({ ttl: 30, grace: '1m' });
        await cache.set('k', 'old');
        await sleep(50);
        const stale: string[] = [];
        cache.on('stale', (e) => stale.push(e.reason));
        const slow = async () => {
          await sleep(150);
          return 'new';
        };
        expect(await cache.getOrSet('k', slow, { softTimeout: 20, ttl: '1m' })).toBe('old');
        expect(stale).toEqual(['soft-timeout']);
        await sleep(250);
        expect(await cache.get('k')).toBe('new');
      });

      it('softTimeout 0 is stale-while-revalidate', async () => {
        const cache = await make({ ttl: 30, grace: '1m' });
        await cache.set('k', 'old');
        await sleep(50);
        let calls = 0;
        const refresh = async () => {
          calls++;
          return 'new';
        };
        expect(await cache.getOrSet('k', refresh, { ttl: '1m' })).toBe('old');
        await sleep(30);
        expect(await cache.getOrSet('k', refresh, { ttl: '1m' })).toBe('new');
        expect(calls).toBe(1);
      });

      it('without a stale value, the hard timeout throws CACHE_FACTORY_TIMEOUT and aborts the factory', async () => {
        const cache = await make();
        let signal: AbortSignal | undefined;
        const err = await cache
          .getOrSet(
            'k',
            async (ctx) => {
              signal = ctx.signal;
              await sleep(500);
              return 'late';
            },
            { hardTimeout: 40 },
          )
          .catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'CACHE_FACTORY_TIMEOUT', status: 504 });
        expect(signal?.aborted).toBe(true);
        await sleep(500);
        expect(await cache.get('k')).toBeUndefined();
      });

      it('a call joining a running factory keeps its own hard timeout; the factory runs on', async () => {
        const cache = await make();
        let runs = 0;
        let signal: AbortSignal | undefined;
        const factory = async (ctx: { signal: AbortSignal }) => {
          runs++;
          signal = ctx.signal;
          await sleep(300);
          return 'slow';
        };
        const first = cache.getOrSet('k', factory);
        while (runs === 0) await sleep(1);
        const started = Date.now();
        const joined = await cache.getOrSet('k', factory, { hardTimeout: 40 }).catch((e: unknown) => e);
        expect(joined).toMatchObject({
          code: 'CACHE_FACTORY_TIMEOUT',
          message: /this call's hard timeout of 40 ms/,
        });
        expect(Date.now() - started).toBeLessThan(250);
        expect(signal?.aborted).toBe(false);
        // A joiner with a longer timeout than the run needs gets the value.
        const patient = cache.getOrSet('k', factory, { hardTimeout: '5s' });
        expect(await first).toBe('slow');
        expect(await patient).toBe('slow');
        expect(runs).toBe(1);
        expect(await cache.get('k')).toBe('slow');
      });

      it('with a stale value, a hard-timed-out refresh still serves stale', async () => {
        const cache = await make({ ttl: 30, grace: '1m' });
        await cache.set('k', 'old');
        await sleep(50);
        const value = await cache.getOrSet('k', () => sleep(300).then(() => 'new'), {
          softTimeout: 200,
          hardTimeout: 30,
        });
        expect(value).toBe('old');
      });
    });

    describe('an invalidation while the factory runs', () => {
      it.each([
        ['delete', (c: Cache) => c.delete('k'), undefined],
        ['deleteByTag', (c: Cache) => c.deleteByTag('t'), undefined],
        ['clear', (c: Cache) => c.clear(), undefined],
        ['set', (c: Cache) => c.set('k', 'newer'), 'newer'],
      ])('%s wins over the value the factory returns afterwards', async (_op, change, after) => {
        const cache = await make();
        const run = slowGetOrSet(cache, 'k', 'from before', ['t']);
        await run.running;
        await change(cache);
        run.release();
        // The caller gets what it asked for; the cache keeps the change.
        expect(await run.result).toBe('from before');
        await sleep(10);
        expect(await cache.get('k')).toBe(after);
      });

      it('expireByTag makes the value stale at once', async () => {
        const cache = await make({ grace: '1h' });
        const run = slowGetOrSet(cache, 'k', 'from before', ['t']);
        await run.running;
        await cache.expireByTag('t');
        run.release();
        expect(await run.result).toBe('from before');
        // Stored, but stale: get misses, getOrSet with grace serves it and refreshes.
        expect(await cache.get('k')).toBeUndefined();
        expect(await cache.getOrSet('k', async () => 'fresh', { tags: ['t'] })).toBe('from before');
        await sleep(20);
        expect(await cache.get('k')).toBe('fresh');
      });

      it("clearing another namespace does not stop this one's write", async () => {
        const cache = await make();
        const a = cache.namespace('a');
        const run = slowGetOrSet(a, 'k', 'kept');
        await run.running;
        await cache.namespace('b').clear();
        run.release();
        expect(await run.result).toBe('kept');
        expect(await a.get('k')).toBe('kept');
      });
    });

    describe('tags', () => {
      it('deleteByTag removes tagged entries only', async () => {
        const cache = await make();
        await cache.set('a', 1, { tags: ['users'] });
        await cache.set('b', 2, { tags: ['users', 'admins'] });
        await cache.set('c', 3, { tags: ['posts'] });
        expect(await cache.getOrSet('a', () => -1)).toBe(1);
        expect(await cache.get('b')).toBe(2);
        await cache.deleteByTag('users');
        expect(await cache.get('a')).toBeUndefined();
        expect(await cache.get('b')).toBeUndefined();
        expect(await cache.get('c')).toBe(3);
        await cache.set('a', 10, { tags: ['users'] });
        expect(await cache.get('a')).toBe(10);
      });

      it('deleteByTag is not softened by grace: the factory runs, no stale value', async () => {
        const cache = await make({ grace: '1h' });
        await cache.getOrSet('k', () => 'old', { tags: ['t'] });
        await cache.deleteByTag(['t']);
        expect(await cache.getOrSet('k', () => 'new', { tags: ['t'] })).toBe('new');
      });

      it('expireByTag marks stale: get misses, getOrSet with grace serves stale and refreshes', async () => {
        const cache = await make({ grace: '1h' });
        await cache.set('k', 'old', { tags: ['t'] });
        await cache.set('other', 'x', { tags: ['u'] });
        await cache.expireByTag('t');
        expect(await cache.get('k')).toBeUndefined();
        expect(await cache.get('other')).toBe('x');
        expect(await cache.getOrSet('k', async () => 'new', { tags: ['t'] })).toBe('old');
        await sleep(20);
        expect(await cache.get('k')).toBe('new');
      });

      it('expireByTag without grace behaves as a delete for getOrSet', async () => {
        const cache = await make();
        await cache.set('k', 'old', { tags: ['t'] });
        await cache.expireByTag('t');
        expect(await cache.getOrSet('k', () => 'new', { tags: ['t'] })).toBe('new');
      });

      it('tags are scoped to their namespace', async () => {
        const cache = await make();
        const a = cache.namespace('a');
        const b = cache.namespace('b');
        await a.set('k', 'a', { tags: ['t'] });
        await b.set('k', 'b', { tags: ['t'] });
        await a.deleteByTag('t');
        expect(await a.get('k')).toBeUndefined();
        expect(await b.get('k')).toBe('b');
      });
    });

    describe('namespaces', () => {
      it('isolate keys; clear() removes its own namespace and children, never siblings', async () => {
        const cache = await make();
        const a = cache.namespace('a');
        const aChild = a.namespace('child');
        const b = cache.namespace('b');
        await cache.set('k', 'root');
        await a.set('k', 'a');
        await aChild.set('k', 'a/child');
        await b.set('k', 'b');
        expect(await a.get('k')).toBe('a');
        expect(a.namespacePath).toBe('a');
        expect(aChild.namespacePath).toBe('a/child');
        await cache.clear('a');
        expect(await a.get('k')).toBeUndefined();
        expect(await aChild.get('k')).toBeUndefined();
        expect(await b.get('k')).toBe('b');
        expect(await cache.get('k')).toBe('root');
      });

      it('a root key that looks like a namespace path does not collide', async () => {
        const cache = await make();
        await cache.set('a::k', 'root');
        await cache.namespace('a').set('k', 'ns');
        expect(await cache.get('a::k')).toBe('root');
        expect(await cache.namespace('a').get('k')).toBe('ns');
      });
    });

    describe('bad input', () => {
      it('rejects bad keys, options and names with CACHE_INVALID_OPTION', async () => {
        const cache = await make();
        await expect(cache.set('', 1)).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION' });
        await expect(cache.set('k', 1, { ttl: -5 })).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION' });
        await expect(cache.set('k', 1, { ttl: '5 minutes' })).rejects.toThrow(/ttl/);
        await expect(cache.set('k', 1, { tags: [''] })).rejects.toMatchObject({
          code: 'CACHE_INVALID_OPTION',
        });
        await expect(cache.getOrSet('k', undefined as never)).rejects.toMatchObject({
          code: 'CACHE_INVALID_OPTION',
        });
        expect(() => cache.namespace('a b')).toThrow(/namespace/);
        // Keys starting with NUL are reserved for namespaced entries: no way into another namespace.
        await cache.namespace('a').set('k', 'secret');
        await expect(cache.get('\0a\0k')).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION' });
        await expect(cache.set('\0a\0k', 1)).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION' });
        await expect(cache.get(42 as unknown as string)).rejects.toMatchObject({
          code: 'CACHE_INVALID_OPTION',
        });
        expect(() => createCache({ ttl: 'soon' })).toThrow(/ttl/);
        // A key Redis would store as U+FFFD, where '\uD800' and '\uFFFD' would meet.
        await expect(cache.set('a\uD800', 1)).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION' });
        await expect(cache.get('\uDFFF')).rejects.toThrow(/unpaired surrogate/);
      });

      it('rejects a getOrSet of a key from inside its own factory instead of waiting for itself', async () => {
        const cache = await make();
        let inner: unknown;
        const value = await cache.getOrSet('k', async () => {
          inner = await cache.getOrSet('k', () => 'inner').catch((e: { code: string }) => e.code);
          // Another key from inside a factory is fine.
          return `outer+${await cache.getOrSet('other', () => 'o')}`;
        });
        expect(inner).toBe('CACHE_INVALID_OPTION');
        expect(value).toBe('outer+o');
        // A cycle through a second key is caught too.
        const cycle = await cache.getOrSet('a', () =>
          cache.getOrSet('b', () => cache.getOrSet('a', () => 'x').catch((e: { code: string }) => e.code)),
        );
        expect(cycle).toBe('CACHE_INVALID_OPTION');
        // Outside any factory the keys work as before; another cache's key of the same name too.
        expect(await cache.getOrSet('k', () => 'again')).toBe('outer+o');
        const other = await make();
        expect(await cache.getOrSet('fresh', () => other.getOrSet('fresh', () => 'from other'))).toBe(
          'from other',
        );
      });

      it('answers wrong-typed arguments to the invalidations with a rejection, never a throw', async () => {
        const cache = await make();
        const calls: [string, () => Promise<void>][] = [
          ['delete(5)', () => cache.delete(5 as never)],
          ['delete(null)', () => cache.delete(null as never)],
          ['delete([1])', () => cache.delete([1] as never)],
          ['deleteByTag(5)', () => cache.deleteByTag(5 as never)],
          ['expireByTag({})', () => cache.expireByTag({} as never)],
          ['clear(5)', () => cache.clear(5 as never)],
          ['clear("a b")', () => cache.clear('a b')],
        ];
        for (const [label, call] of calls) {
          let p: Promise<void> | undefined;
          expect(() => {
            p = call();
          }, label).not.toThrow();
          await expect(p, label).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION' });
        }
      });

      it('refuses durations Redis or Node timers cannot keep, and keeps long ones that fit', async () => {
        const cache = await make();
        // Longer than Node's longest timer, which would fire after 1 ms.
        await expect(cache.getOrSet('k', () => 1, { hardTimeout: '30d' })).rejects.toThrow(
          /hardTimeout is 30d: at most 2147483647 ms \(24\.8 days\)/,
        );
        await expect(cache.getOrSet('k', () => 1, { softTimeout: 2 ** 31 })).rejects.toMatchObject({
          code: 'CACHE_INVALID_OPTION',
        });
        expect(() => createCache({ l2: { timeout: '30d' } })).toThrow(/l2\.timeout/);
        expect(() =>
          createCache({ warmers: [{ name: 'w', interval: '30d', run: () => undefined }] }),
        ).toThrow(/interval/);
        // An expiry Redis would refuse.
        await expect(cache.set('k', 1, { ttl: 1e300 })).rejects.toThrow(/ttl is 1e\+300: at most/);
        await expect(cache.set('k', 1, { grace: '200000000000d' })).rejects.toMatchObject({
          code: 'CACHE_INVALID_OPTION',
        });
        await cache.set('k', 'kept', { ttl: '30d', grace: '365d' });
        expect(await cache.get('k')).toBe('kept');
        expect(() => createCache({ l1: { maxEntries: 0 } })).toThrow(/maxEntries/);
      });

      it('with tags.recordTtl, a tagged entry may not outlive its tag records', async () => {
        expect(() => createCache({ tags: { recordTtl: '1m' } })).toThrow(
          /default ttl \+ grace is 300000 ms, longer than tags\.recordTtl \(60000 ms\)/,
        );
        expect(() => createCache({ ttl: '10s', tags: { recordTtl: 0 } })).toThrow(/tags\.recordTtl is 0/);
        const cache = await make({ ttl: '10s', grace: '5s', tags: { recordTtl: '1m' } });
        await expect(cache.set('k', 1, { ttl: '1m', tags: ['t'] })).rejects.toMatchObject({
          code: 'CACHE_INVALID_OPTION',
          message: expect.stringMatching(/ttl \+ grace is 65000 ms, longer than tags\.recordTtl/),
        });
        // Untagged entries are not bound by it; tagged ones within it are written.
        await cache.set('long', 1, { ttl: '1h' });
        await cache.set('k', 2, { ttl: '55s', tags: ['t'] });
        expect(await cache.get('k')).toBe(2);
        // A factory's setTtl and setTags are held to it too, and nothing is written.
        const longTtl = cache.getOrSet(
          'f',
          (ctx) => {
            ctx.setTtl('1h');
            return 'x';
          },
          { tags: ['t'] },
        );
        await expect(longTtl).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION', message: /setTtl/ });
        const lateTags = cache.getOrSet(
          'g',
          (ctx) => {
            ctx.setTags(['t']);
            return 'x';
          },
          { ttl: '1h' },
        );
        await expect(lateTags).rejects.toMatchObject({ code: 'CACHE_INVALID_OPTION', message: /setTags/ });
        expect(await cache.get('f')).toBeUndefined();
        expect(await cache.get('g')).toBeUndefined();
      });

      it('close() aborts running factories; calls after close() fail with CACHE_CLOSED', async () => {
        const cache = await make();
        await cache.set('k', 1);
        let signal: AbortSignal | undefined;
        const running = cache
          .getOrSet('slow', async (ctx) => {
            signal = ctx.signal;
            await sleep(5000);
            return 'late';
          })
          .catch((e: unknown) => e);
        await sleep(10);
        await cache.close();
        expect(await running).toMatchObject({ code: 'CACHE_CLOSED' });
        expect(signal?.aborted).toBe(true);
        await expect(cache.get('k')).rejects.toMatchObject({ code: 'CACHE_CLOSED' });
        await expect(cache.getOrSet('k', () => 2)).rejects.toMatchObject({ code: 'CACHE_CLOSED' });
      });
    });

    it('bounds L1 by entries and counts evictions', async () => {
      const metrics = createMetricsRegistry({ defaultMetrics: false });
      const cache = await make({ l1: { maxEntries: 3 }, metrics });
      for (const k of ['a', 'b', 'c', 'd']) await cache.set(k, k);
      const s = cache.stats();
      expect(s.l1.entries).toBe(3);
      expect(s.counts.evictions).toBe(1);
      const text = await metrics.metrics();
      expect(text).toContain('cache_evictions_total{layer="l1"} 1');
      expect(text).toContain('cache_entries{layer="l1"} 3');
    });

    it('bounds L1 by bytes when maxBytes is set', async () => {
      const cache = await make({ l1: { maxEntries: 1000, maxBytes: 10_000 } });
      for (let i = 0; i < 20; i++) await cache.set(`k${i}`, 'x'.repeat(1000));
      const s = cache.stats();
      expect(s.l1.bytes).toBeLessThanOrEqual(10_000);
      expect(s.l1.entries).toBeLessThan(20);
    });

    it('keeps a value whose sizeOf is not a number >= 0 out of L1, and the bound holds', async () => {
      const sizes: Record<string, unknown> = { nan: Number.NaN, negative: -5, text: '12', fine: 100 };
      const cache = await make({
        l1: {
          maxEntries: 1000,
          maxBytes: 1000,
          sizeOf: (v) => sizes[(v as { kind: string }).kind] as number,
        },
      });
      for (const kind of Object.keys(sizes)) await cache.set(kind, { kind });
      expect(cache.stats().l1.entries).toBe(1);
      expect(cache.stats().l1.bytes).toBe(100);
      for (let i = 0; i < 20; i++) await cache.set(`k${i}`, { kind: 'fine' });
      expect(cache.stats().l1.bytes).toBeLessThanOrEqual(1000);
    });

    it('emits hit and miss events', async () => {
      const cache = await make();
      const seen: string[] = [];
      const offHit = cache.on('hit', (e) => seen.push(`hit:${e.layer}`));
      cache.on('miss', () => seen.push('miss'));
      await cache.get('k');
      await cache.set('k', 1);
      await cache.get('k');
      await cache.getOrSet('k', () => 2);
      offHit();
      await cache.get('k');
      expect(seen).toEqual(['miss', 'hit:l1', 'hit:l1']);
    });

    it('reports Prometheus series: operations, hit rate, entries', async () => {
      const metrics = createMetricsRegistry({ defaultMetrics: false });
      const cache = await make({ metrics });
      await cache.set('k', 1);
      await cache.get('k');
      await cache.get('k');
      await cache.get('missing');
      const text = await metrics.metrics();
      expect(text).toContain('cache_operations_total{layer="l1",op="get",result="hit"} 2');
      expect(text).toContain('cache_operations_total{layer="l1",op="get",result="miss"} 1');
      expect(text).toMatch(/cache_hit_rate\{layer="l1"\} 0\.66/);
      expect(text).toContain('cache_entries{layer="l1"} 1');
    });

    it('runs warmers at start-up, on their interval and on warm(); a failing warmer is reported', async () => {
      let runs = 0;
      const cache = await make({
        warmers: [
          {
            name: 'config',
            interval: 40,
            run: async (c) => {
              runs++;
              await c.set('warm', runs);
            },
          },
        ],
      });
      await sleep(10);
      expect(await cache.get('warm')).toBeGreaterThanOrEqual(1);
      await sleep(100);
      expect(runs).toBeGreaterThanOrEqual(2);
      const errors: string[] = [];
      cache.on('error', (e) => errors.push(`${e.source}:${e.error.message}`));
      cache.addWarmer({
        name: 'broken',
        run: () => {
          throw new Error('no source');
        },
      });
      await cache.warm();
      expect(errors).toContain('warmer:no source');
    });
  });
}

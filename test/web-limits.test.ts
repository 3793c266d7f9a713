/** Rate limits (memory and shared through the real Redis) and load shedding. */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  installErrorHandling,
  installLoadShedding,
  type LoadShedder,
  rateLimitDecision,
} from '../src/perf/web/index.ts';
import { memoryStore, type RateLimitStore, redisStore } from '../src/perf/web/rate-limit-store.ts';
import { testApp } from './helpers/app.ts';
import { waitFor } from './helpers/http.ts';
import { hasRedis, REDIS_URL, uniqueName } from './helpers/services.ts';

const principalId = (key: string) => `key_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
const echo = (a: FastifyInstance) => {
  a.get('/v1/echo', async () => ({ ok: true }));
};

describe('rate limit decision (sliding window)', () => {
  const W = 60_000;
  it('allows up to the limit and counts down', () => {
    const d = rateLimitDecision({ current: 3, previous: 0 }, 10, W, 0);
    expect(d).toMatchObject({ allowed: true, remaining: 7, resetS: 60, retryAfterS: 0 });
  });
  it('weighs the previous window by its overlap', () => {
    // Half-way through the window: previous 10 counts as 5.
    expect(rateLimitDecision({ current: 5, previous: 10 }, 10, W, W / 2).allowed).toBe(true);
    expect(rateLimitDecision({ current: 6, previous: 10 }, 10, W, W / 2).allowed).toBe(false);
  });
  it('tells when to retry', () => {
    // This window full (10 counted, this one the 11th): the wait runs into the next window until
    // the 10 weigh at most 9 there, 6 s in.
    const over = rateLimitDecision({ current: 11, previous: 0 }, 10, W, 45_000);
    expect(over).toMatchObject({ allowed: false, remaining: 0, retryAfterS: 21, resetS: 21 });
    // Over only through the previous window: allowed again once its weight has decayed enough.
    const decaying = rateLimitDecision({ current: 6, previous: 10 }, 10, W, W / 2);
    expect(decaying.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(decaying.retryAfterS).toBeLessThan(30);
  });
});

/** One request at `now` through a store, decided as the limiter decides it. */
async function request(store: RateLimitStore, key: string, limit: number, now: number) {
  const W = 60_000;
  const counts = await store.hit(key, Math.floor(now / W), W, limit, 1 - (now % W) / W);
  return rateLimitDecision(counts, limit, W, now);
}

const stores: [string, () => RateLimitStore][] = [['memory', () => memoryStore(60_000)]];
const storeRedis = hasRedis ? new Redis(REDIS_URL!) : undefined;
const storePrefix = `${uniqueName('rl')}:`;
if (storeRedis !== undefined) stores.push(['redis', () => redisStore(storeRedis, storePrefix)]);
afterAll(async () => {
  if (storeRedis === undefined) return;
  const keys = await storeRedis.keys(`${storePrefix}*`);
  if (keys.length > 0) await storeRedis.del(...keys);
  await storeRedis.quit();
});

describe.each(stores)('rate limit counters (%s)', (_name, make) => {
  const W = 60_000;
  const base = 1_000 * W; // the start of window 1000

  it('does not count refused requests', async () => {
    const store = make();
    const key = uniqueName('k');
    for (let i = 0; i < 3; i++) expect((await request(store, key, 3, base + i)).allowed).toBe(true);
    for (let i = 0; i < 50; i++) expect((await request(store, key, 3, base + 10 + i)).allowed).toBe(false);
    // The next window sees the 3 admitted hits, not 53: two thirds of the way in they weigh 1.
    const later = await request(store, key, 3, base + W + (2 * W) / 3 + 1);
    expect(later).toMatchObject({ allowed: true, remaining: 1 });
    store.close();
  });

  // Bursts of several sizes at several points of a window, in the previous window or in this
  // one; the first refused client retries exactly when Retry-After said, with no other traffic:
  // it is admitted then, and a second earlier (when the wait is longer) it is still refused.
  it('admits a client that waits Retry-After, and not a second earlier', async () => {
    const store = make();
    let checked = 0;
    let intoNextWindow = 0;
    for (const limit of [1, 2, 5, 10]) {
      for (const offset of [0, 0.25, 0.5, 0.9].map((f) => Math.round(f * W))) {
        for (const burst of [limit, limit + 3, 3 * limit]) {
          for (const start of [base - W + offset, base + offset]) {
            const key = uniqueName('k');
            for (let i = 0; i < burst; i++) await request(store, key, limit, start + i);
            const now = start + burst;
            const refused = await request(store, key, limit, now);
            expect(refused.allowed).toBe(false);
            const wait = refused.retryAfterS * 1000;
            if (wait > 1000)
              expect((await request(store, key, limit, now + wait - 1000)).allowed).toBe(false);
            const retried = await request(store, key, limit, now + wait);
            expect(retried.allowed, `limit ${limit}, burst ${burst}, from ${start - base}`).toBe(true);
            checked++;
            if (Math.floor((now + wait) / W) > Math.floor(now / W)) intoNextWindow++;
          }
        }
      }
    }
    expect(checked).toBe(96);
    expect(intoNextWindow).toBeGreaterThan(10);
    store.close();
  });
});

describe('rate limits per API key', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  const KEY_A = `client-key-a-${uniqueName('k')}`;
  const KEY_B = `client-key-b-${uniqueName('k')}`;
  const ADMIN = `admin-key-${uniqueName('k')}`;

  it('answers 429 with RateLimit headers and Retry-After past the limit, per key', async () => {
    const { app } = await testApp(
      { API_KEYS: `${KEY_A},${KEY_B}`, ADMIN_API_KEY: ADMIN, RATE_LIMIT_REQUESTS: '3' },
      echo,
    );
    apps.push(app);
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ url: '/v1/echo', headers: as(KEY_A) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['ratelimit-limit']).toBe('3');
      expect(res.headers['ratelimit-remaining']).toBe(String(2 - i));
      expect(res.headers['ratelimit-policy']).toBe('3;w=60');
    }
    const limited = await app.inject({ url: '/v1/echo', headers: as(KEY_A) });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    // Other keys, the admin key and health probes are not affected.
    expect((await app.inject({ url: '/v1/echo', headers: as(KEY_B) })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/echo', headers: as(ADMIN) })).statusCode).toBe(200);
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('counts a percent-encoded path to a /v1 route like the route itself', async () => {
    const { app } = await testApp({ API_KEYS: KEY_A, RATE_LIMIT_REQUESTS: '2' }, echo);
    apps.push(app);
    const headers = { authorization: `Bearer ${KEY_A}` };
    const statuses = [];
    for (const url of ['/v1/echo', '/%761/echo', '/v1/%65cho', '/v1/echo#x']) {
      statuses.push((await app.inject({ url, headers })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it('is off by default', async () => {
    const { app } = await testApp({ API_KEYS: KEY_A }, echo);
    apps.push(app);
    const res = await app.inject({ url: '/v1/echo', headers: { authorization: `Bearer ${KEY_A}` } });
    expect(res.headers['ratelimit-limit']).toBeUndefined();
  });

  it('keeps serving, limiting per instance, when Redis is unreachable', async () => {
    const { app, logs } = await testApp(
      { API_KEYS: KEY_A, RATE_LIMIT_REQUESTS: '2', REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'warn' },
      echo,
    );
    apps.push(app);
    const headers = { authorization: `Bearer ${KEY_A}` };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.inject({ url: '/v1/echo', headers })).statusCode);
    expect(statuses).toEqual([200, 200, 429]);
    expect(logs()).toContain('limiting per instance');
    expect(logs()).not.toContain(KEY_A);
  });

  describe.skipIf(!hasRedis)('through Redis', () => {
    const redis = hasRedis ? new Redis(REDIS_URL!) : undefined;
    const key = `shared-client-key-${uniqueName('k')}`;
    afterAll(async () => {
      // Only this test's keys: the hash tag holds the principal id of the random key.
      const keys = await redis!.keys(`versus:rl:{${principalId(key)}}:*`);
      if (keys.length > 0) await redis!.del(...keys);
      await redis!.quit();
    });

    it('two instances sharing one Redis enforce one limit', async () => {
      const env = { API_KEYS: key, RATE_LIMIT_REQUESTS: '5', REDIS_URL: REDIS_URL! };
      const one = (await testApp(env, echo)).app;
      const two = (await testApp(env, echo)).app;
      apps.push(one, two);
      await Promise.all([one.ready(), two.ready()]);
      await waitFor(() => one.versus.redis?.status === 'ready' && two.versus.redis?.status === 'ready');
      const headers = { authorization: `Bearer ${key}` };
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push((await (i % 2 === 0 ? one : two).inject({ url: '/v1/echo', headers })).statusCode);
      }
      // Each instance saw 4 requests (under 5 alone): only a shared count rejects the 6th.
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      const stored = await redis!.keys(`versus:rl:{${principalId(key)}}:*`);
      expect(stored.length).toBe(1);
      expect(await redis!.pttl(stored[0]!)).toBeGreaterThan(60_000);
    });
  });
});

describe('load shedding', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function bare(options: Parameters<typeof installLoadShedding>[1]): Promise<LoadShedder> {
    app = Fastify({ logger: false });
    installErrorHandling(app);
    const shedder = installLoadShedding(app, options);
    app.get('/work', async () => ({ ok: true }));
    app.get('/health', async () => ({ status: 'ok' }));
    await app.ready();
    return shedder;
  }

  it('answers 503 OVERLOADED with Retry-After while the event loop lags, never on /health', async () => {
    const shedder = await bare({ maxEventLoopDelayMs: 50, sampleIntervalMs: 60_000, retryAfterS: 3 });
    expect(shedder.sample().overloaded).toBe(false);
    const stall = async () => {
      await new Promise((r) => setTimeout(r, 30)); // let the delay monitor take samples
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // Blocks the event loop, as a runaway synchronous task would.
      }
      await new Promise((r) => setTimeout(r, 20));
    };
    // One stalled interval is over once it is sampled: nothing is shed for it.
    await stall();
    expect(shedder.sample().overloaded).toBe(false);
    expect((await app!.inject({ url: '/work' })).statusCode).toBe(200);
    // A second stalled interval in a row is a loop that stays behind.
    await stall();
    const state = shedder.sample();
    expect(state).toMatchObject({ overloaded: true, reason: 'event_loop_delay', limit: 50 });
    const shed = await app!.inject({ url: '/work' });
    expect(shed.statusCode).toBe(503);
    expect(shed.json().error.code).toBe('OVERLOADED');
    expect(shed.json().error.reason).toBe('event_loop_delay');
    expect(shed.headers['retry-after']).toBe('3');
    expect((await app!.inject({ url: '/health' })).statusCode).toBe(200);

    // Recovers once a calm interval has been sampled.
    await new Promise((r) => setTimeout(r, 50));
    expect(shedder.sample().overloaded).toBe(false);
    expect((await app!.inject({ url: '/work' })).statusCode).toBe(200);
  });

  it('sheds past the memory limit', async () => {
    const shedder = await bare({
      maxEventLoopDelayMs: 0,
      maxRssBytes: 1024 * 1024,
      sampleIntervalMs: 60_000,
    });
    expect(shedder.sample()).toMatchObject({ overloaded: true, reason: 'memory' });
    const res = await app!.inject({ url: '/work' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.message).toMatch(/memory .* MB resident, limit 1 MB/);
  });

  it('is installed by the server from LOAD_SHED_RSS_MB, on its own timer', async () => {
    ({ app } = await testApp({ LOAD_SHED_RSS_MB: '1' }, echo));
    await waitFor(async () => (await app!.inject({ url: '/v1/echo' })).statusCode === 503, 5000);
    expect((await app!.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await app!.inject({ url: '/health/ready' })).statusCode).toBe(200);
  });
});

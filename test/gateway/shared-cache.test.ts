/**
 * Two Versus instances sharing the real Redis: an answer cached by one is a hit on the other.
 * Entries live 5 s (RESPONSE_CACHE_TTL_S) and every key hashes a model name unique to this run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/platform/gateway/cache.ts';
import { waitFor } from '../helpers/http.ts';
import { hasRedis, REDIS_URL, uniqueName } from '../helpers/services.ts';
import { calls, type Gateway, startGateway } from './harness.ts';

describe.skipIf(!hasRedis)('response cache across instances (Redis L2)', () => {
  let one: Gateway;
  let two: Gateway;
  beforeAll(async () => {
    // A generous L2 timeout: on a loaded test machine a 50 ms Redis call can time out, and this test
    // is about sharing, not about degradation.
    const env = { REDIS_URL: REDIS_URL!, RESPONSE_CACHE_TTL_S: '5', CACHE_L2_TIMEOUT_MS: '2000' };
    one = await startGateway(env);
    two = await startGateway(env);
    // Redis commands fail fast until the connection is up (no offline queue): an L2 write issued
    // before then is skipped by design, so the test starts once both instances are connected.
    for (const gw of [one, two]) {
      await waitFor(() => gw.app.versus.redis?.status === 'ready', 10_000);
      expect(await gw.app.versus.cache.ready(10_000)).toBe(true);
    }
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  it('serves on one instance what the other cached', async () => {
    const name = uniqueName('shared').replace(/_/g, '-');
    for (const gw of [one, two]) gw.mock.configure(name, { latencyMs: 5, jitterMs: 0 });
    const body = { model: `mock/${name}`, messages: [{ role: 'user', content: 'shared' }], temperature: 0 };
    const first = await one.post(body);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const original = (await first.json()) as { choices: { message: { content: string } }[] };
    // The L2 write completes after the reply: wait until the other instance's cache sees the entry
    // (reading it through the cache, not the route, so a miss never calls the mock).
    const key = cacheKey('anonymous', body.model, body.messages, { temperature: 0 });
    await waitFor(() => two.app.versus.cache.namespace('gateway').get(key), 10_000);
    const hit = await two.post(body);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(calls(two, `mock/${name}`)).toBe(0);
    const cached = (await hit.json()) as typeof original;
    expect(cached.choices[0]!.message.content).toBe(original.choices[0]!.message.content);
  });
});

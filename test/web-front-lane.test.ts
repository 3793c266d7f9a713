/**
 * The front lane over real sockets (app.inject() never goes through it): cache hits answered
 * ahead of Fastify give the same status, headers and body as the Fastify route, pass the same
 * checks (API keys, rate limit, shutdown), feed the same metrics and records, and every request
 * the lane cannot answer reaches the route with its body intact.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { CompletionRecord } from '../src/platform/gateway/index.ts';
import { testApp } from './helpers/app.ts';
import { waitFor } from './helpers/http.ts';
import { hasRedis, REDIS_URL, uniqueName } from './helpers/services.ts';

const KEY_A = 'lane-test-key-a-0123456789';
const KEY_B = 'lane-test-key-b-0123456789';

const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'mock/fast',
  temperature: 0,
  messages: [{ role: 'user', content }],
  ...extra,
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function listening(env: Record<string, string> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const { app } = await testApp(env);
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { app, url: `http://127.0.0.1:${address.port}` };
}

async function post(
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
  path = '/v1/chat/completions',
): Promise<Answer> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    body,
    text: body.toString('utf8'),
  };
}

/**
 * The headers that must match between the paths: everything but per-request values. A compressed
 * length is left out too: each app's answer carries its own response id, which compresses
 * differently.
 */
function comparable(headers: Record<string, string>): Record<string, string> {
  const { date, 'x-request-id': _id, 'x-gateway-overhead-ms': _ms, 'keep-alive': _ka, ...rest } = headers;
  if (rest['content-encoding'] !== undefined) delete rest['content-length'];
  return rest;
}

describe('front lane', () => {
  it('answers a repeated cacheable request ahead of Fastify, with the headers and body of the Fastify route', async () => {
    const lane = await listening();
    const routed = await listening({ FRONT_LANE: 'false' });
    expect(lane.app.versus.lane.enabled).toBe(true);
    expect(routed.app.versus.lane.enabled).toBe(false);
    // ~3 KB answers: over the compression threshold, so negotiation and Vary are compared too.
    for (const { app } of [lane, routed]) {
      app.versus.providers.mock!.configure('long', { latencyMs: 1, jitterMs: 0, answerTokens: 500 });
    }
    const cases: [unknown, Record<string, string>][] = [
      [ask('short answer'), {}],
      [ask('long answer, gzip', { model: 'mock/long' }), { 'accept-encoding': 'gzip' }],
      [ask('long answer, br', { model: 'mock/long' }), { 'accept-encoding': 'br;q=1, gzip;q=0.5' }],
      [ask('long answer, identity', { model: 'mock/long' }), {}],
    ];
    for (const [payload, headers] of cases) {
      const seen: Answer[][] = [];
      for (const { url } of [lane, routed]) {
        const first = await post(url, payload, headers);
        const hits = [await post(url, payload, headers), await post(url, payload, headers)];
        expect(first.headers['x-cache']).toBe('MISS');
        seen.push([first, ...hits]);
      }
      const [viaLane, viaRoute] = seen as [Answer[], Answer[]];
      for (let i = 1; i < 3; i++) {
        expect(viaLane[i]!.status).toBe(200);
        expect(viaLane[i]!.headers['x-cache']).toBe('HIT');
        expect(comparable(viaLane[i]!.headers)).toEqual(comparable(viaRoute[i]!.headers));
        expect(Number(viaLane[i]!.headers['x-gateway-overhead-ms'])).toBeGreaterThanOrEqual(0);
        // A hit repeats the first answer, byte for byte (fetch decoded any coding).
        expect(viaLane[i]!.text).toBe(viaLane[0]!.text);
      }
    }
    // One miss per case went to the route (read by the lane, handed over); every hit was the lane's.
    expect(lane.app.versus.lane.stats()).toMatchObject({ answered: 8, handedOver: 4 });
    expect(routed.app.versus.lane.stats()).toMatchObject({ answered: 0, handedOver: 0 });
  });

  it('serves the stored coding: a gzip hit decodes to the identity body', async () => {
    const { app, url } = await listening();
    app.versus.providers.mock!.configure('long', { latencyMs: 1, jitterMs: 0, answerTokens: 500 });
    const payload = ask('coded', { model: 'mock/long' });
    const identity = await post(url, payload);
    const res = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ request }) => {
        const req = request(
          `${url}/v1/chat/completions`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' } },
          (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () => resolve({ headers: r.headers, body: Buffer.concat(chunks) }));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(payload));
      }, reject);
    });
    expect(res.headers['x-cache']).toBe('HIT');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(zlib.gunzipSync(res.body).toString('utf8')).toBe(identity.text);
    expect(app.versus.lane.stats().answered).toBe(1);
  });

  it('reads a body that arrives in pieces, a character split between them', async () => {
    const { app, url } = await listening();
    const payload = JSON.stringify(ask('café au lait, s’il vous plaît'));
    await post(url, payload);
    const bytes = Buffer.from(payload);
    const cut = bytes.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
    const { request } = await import('node:http');
    const answer = await new Promise<{ cache: unknown; text: string }>((resolve, reject) => {
      const req = request(
        `${url}/v1/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes.length } },
        (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => {
            text += c;
          });
          r.on('end', () => resolve({ cache: r.headers['x-cache'], text }));
        },
      );
      req.on('error', reject);
      req.write(bytes.subarray(0, cut));
      setTimeout(() => req.end(bytes.subarray(cut)), 30);
    });
    expect(answer.cache).toBe('HIT');
    expect(JSON.parse(answer.text).object).toBe('chat.completion');
    expect(app.versus.lane.stats().answered).toBe(1);
  });

  it('makes its own request id and echoes a sane caller id as x-client-request-id', async () => {
    const { url } = await listening();
    await post(url, ask('ids'));
    const kept = await post(url, ask('ids'), { 'x-request-id': 'trace-42.a:b' });
    expect(kept.headers['x-cache']).toBe('HIT');
    expect(kept.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(kept.headers['x-client-request-id']).toBe('trace-42.a:b');
    const replaced = await post(url, ask('ids'), { 'x-request-id': 'bad id <script>' });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.headers['x-client-request-id']).toBeUndefined();
  });

  it('checks API keys as the auth hook does, and keeps each key its own cache', async () => {
    const { app, url } = await listening({ API_KEYS: `${KEY_A},${KEY_B}` });
    const a = { authorization: `Bearer ${KEY_A}` };
    expect((await post(url, ask('tenants'), a)).headers['x-cache']).toBe('MISS');
    expect((await post(url, ask('tenants'), a)).headers['x-cache']).toBe('HIT');
    const none = await post(url, ask('tenants'));
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).error.code).toBe('UNAUTHORIZED');
    const wrong = await post(url, ask('tenants'), { authorization: 'Bearer not-a-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('not-a-key');
    // Key B has never asked: its first request is a miss, not A's cached answer.
    expect((await post(url, ask('tenants'), { 'x-api-key': KEY_B })).headers['x-cache']).toBe('MISS');
    expect((await post(url, ask('tenants'), { 'x-api-key': KEY_B })).headers['x-cache']).toBe('HIT');
    expect(app.versus.lane.stats().answered).toBe(2);
  });

  it('counts hits against the rate limit once, with its headers, and hands the 429 to Fastify', async () => {
    const { app, url } = await listening({ API_KEYS: KEY_A, RATE_LIMIT_REQUESTS: '4' });
    const a = { authorization: `Bearer ${KEY_A}` };
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await post(url, ask('limited'), a));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
    expect(answers.map((r) => r.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT', 'HIT', undefined]);
    expect(answers.slice(0, 4).map((r) => r.headers['ratelimit-remaining'])).toEqual(['3', '2', '1', '0']);
    for (const r of answers) {
      expect(r.headers['ratelimit-limit']).toBe('4');
      expect(r.headers['ratelimit-policy']).toBe('4;w=60');
    }
    const limited = answers[4]!;
    expect(JSON.parse(limited.text).error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(app.versus.lane.stats()).toMatchObject({ answered: 3, handedOver: 2 });
  });

  it.skipIf(!hasRedis)('counts its hits in the Redis-shared limit of two instances', async () => {
    const key = `lane-shared-key-${uniqueName('k')}`;
    // The answer cached in Redis expires a minute after the test instead of the default hour.
    const env = {
      API_KEYS: key,
      RATE_LIMIT_REQUESTS: '4',
      REDIS_URL: REDIS_URL!,
      RESPONSE_CACHE_TTL_S: '60',
    };
    const one = await listening(env);
    const two = await listening(env);
    await waitFor(() => one.app.versus.redis?.status === 'ready' && two.app.versus.redis?.status === 'ready');
    const headers = { authorization: `Bearer ${key}` };
    const statuses: number[] = [];
    // A miss and a hit on one, a miss and a hit on two: four in all, so the fifth is over.
    for (const url of [one.url, one.url, two.url, two.url, one.url]) {
      statuses.push((await post(url, ask('shared limit'), headers)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect(one.app.versus.lane.stats().answered).toBe(1);
    expect(two.app.versus.lane.stats().answered).toBe(1);
    const redis = new Redis(REDIS_URL!);
    const principal = `key_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    const stored = await redis.keys(`versus:rl:{${principal}}:*`);
    if (stored.length > 0) await redis.del(...stored);
    await redis.quit();
  });

  it('sends everything to Fastify while the server is closing', async () => {
    const { app, url } = await listening();
    await post(url, ask('closing'));
    app.versus.closing = true;
    const res = await post(url, ask('closing'));
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text).error.code).toBe('SHUTTING_DOWN');
    expect(app.versus.lane.stats()).toMatchObject({ answered: 0, passed: 1 });
    app.versus.closing = false;
  });

  it('hands over with the body intact what only the route can answer', async () => {
    const { app, url } = await listening();
    await post(url, ask('handover'));
    const refresh = await post(url, ask('handover'), { 'cache-control': 'no-cache' });
    expect(refresh.headers['x-cache']).toBe('MISS');
    const bypass = await post(url, ask('handover'), { 'x-versus-cache': 'off' });
    expect(bypass.headers['x-cache']).toBe('BYPASS');
    const random = await post(url, ask('handover', { temperature: 0.7 }));
    expect(random.headers['x-cache']).toBe('BYPASS');
    const stream = await post(url, ask('handover', { stream: true }));
    expect(stream.headers['content-type']).toContain('text/event-stream');
    expect(stream.text).toContain('data: [DONE]');
    const invalid = await post(url, ask('handover', { temperature: 9 }));
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.text).error.code).toBe('INVALID_REQUEST');
    const broken = await post(url, '{"model": "mock/fast", "messages": [');
    expect(broken.status).toBe(400);
    const unknown = await post(url, ask('handover', { model: 'mock/none' }));
    expect(unknown.status).toBe(400);
    // Not JSON: Fastify answers 415 without the lane reading it.
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(415);
    await res.arrayBuffer();
    expect(app.versus.lane.stats()).toMatchObject({ answered: 0, passed: 1 });
    // And the cache still answers the plain request from the lane afterwards.
    expect((await post(url, ask('handover'))).headers['x-cache']).toBe('HIT');
    expect(app.versus.lane.stats().answered).toBe(1);
  });

  it('leaves a body over the memo limit unread and lets Fastify enforce the body limit', async () => {
    const { app, url } = await listening({ BODY_LIMIT_BYTES: '4096' });
    const big = ask('x'.repeat(5000));
    const res = await post(url, big);
    expect(res.status).toBe(413);
    const larger = ask('y'.repeat(9000));
    const res2 = await post(url, larger);
    expect(res2.status).toBe(413);
    expect(app.versus.lane.stats().answered).toBe(0);
    expect(app.versus.lane.stats().passed).toBeGreaterThanOrEqual(1);
  });

  it('asks the routing hook once per request, handing its decision to the route', async () => {
    const { app, url } = await listening();
    let calls = 0;
    app.versus.gatewayHooks.route = () => {
      calls++;
      return Promise.resolve(undefined);
    };
    await post(url, ask('routed'));
    const second = await post(url, ask('routed'));
    // An asynchronous decision is the route's to await: the hit is served there.
    expect(second.headers['x-cache']).toBe('HIT');
    expect(calls).toBe(2);
    expect(app.versus.lane.stats()).toMatchObject({ answered: 0, handedOver: 2 });
  });

  it('feeds the same metrics and records as the route', async () => {
    const { app, url } = await listening();
    const records: CompletionRecord[] = [];
    app.versus.gatewayHooks.record = (r) => records.push({ ...r });
    await post(url, ask('measured'));
    const hit = await post(url, ask('measured'), { 'x-request-id': 'measured-hit' });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(app.versus.lane.stats().answered).toBe(1);
    expect(records).toHaveLength(2);
    expect(records[1]).toMatchObject({
      requestId: hit.headers['x-request-id'],
      model: 'mock/fast',
      status: 200,
      cacheHit: true,
      stream: false,
      fallback: false,
      promptTokens: records[0]!.promptTokens,
      completionTokens: records[0]!.completionTokens,
    });
    expect(records[1]!.latencyMs).toBeGreaterThan(0);
    const text = (await app.inject({ url: '/metrics' })).body;
    const count = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? Number.NaN);
    expect(
      count(
        /http_request_duration_seconds_count\{method="POST",route="\/v1\/chat\/completions",status="200"\} (\d+)/,
      ),
    ).toBe(2);
    expect(count(/gateway_overhead_seconds_count\{served="cache"\} (\d+)/)).toBe(1);
  });
});

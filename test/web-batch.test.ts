/** Request batching: order, per-item status, partial failure, coalescing, bounded concurrency, limit. */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchTooLargeError, canonicalJson, installBatch, runBatch } from '../src/perf/web/index.ts';
import { testApp } from './helpers/app.ts';

interface Item {
  n?: number;
  delay?: number;
  fail?: boolean;
  crash?: boolean;
  stream?: boolean;
}

describe('runBatch', () => {
  it('keeps input order whatever the completion order, and bounds concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const items = [50, 10, 30, 0, 20, 5, 40];
    const { results, executed } = await runBatch(items, {
      concurrency: 3,
      async run(ms, index) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, ms));
        inFlight--;
        return `${index}:${ms}`;
      },
      onError: () => 'error',
      onSkip: () => 'skipped',
    });
    expect(results).toEqual(items.map((ms, i) => `${i}:${ms}`));
    expect(peak).toBe(3);
    expect(executed).toBe(items.length);
  });

  it('coalesces identical items and isolates failures', async () => {
    const calls: number[] = [];
    const { results, executed } = await runBatch([1, 2, 1, 3, 2, 1], {
      concurrency: 2,
      key: (n) => String(n),
      async run(n) {
        calls.push(n);
        if (n === 2) throw new Error('two fails');
        return n * 10;
      },
      onError: () => -1,
      onSkip: () => 0,
    });
    expect(results).toEqual([10, -1, 10, 30, -1, 10]);
    expect(calls.sort()).toEqual([1, 2, 3]);
    expect(executed).toBe(3);
  });

  it('stops starting items once the signal aborts', async () => {
    const controller = new AbortController();
    const { results } = await runBatch([1, 2, 3, 4], {
      concurrency: 1,
      signal: controller.signal,
      async run(n) {
        if (n === 2) controller.abort();
        return 'ran';
      },
      onError: () => 'error',
      onSkip: () => 'skipped',
    });
    expect(results).toEqual(['ran', 'ran', 'skipped', 'skipped']);
  });

  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: [1, { y: 2, x: 1 }], a: 'z' })).toBe(
      canonicalJson({ a: 'z', b: [1, { x: 1, y: 2 }] }),
    );
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });
});

describe('POST batch route', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  let calls = 0;
  let inFlight = 0;
  let peak = 0;
  const seenHeaders: Record<string, unknown>[] = [];

  async function withTarget(env: Record<string, string> = {}): Promise<FastifyInstance> {
    calls = 0;
    peak = 0;
    seenHeaders.length = 0;
    ({ app } = await testApp(env, (a) => {
      a.post('/v1/test-target', async (request, reply) => {
        const item = request.body as Item;
        calls++;
        inFlight++;
        peak = Math.max(peak, inFlight);
        seenHeaders.push({ ...request.headers });
        try {
          await new Promise((r) => setTimeout(r, item.delay ?? 1));
          if (item.crash) throw new TypeError('boom');
          if (item.fail) {
            return reply.code(502).send({ error: { code: 'PROVIDER_ERROR', message: 'upstream failed' } });
          }
          reply.header('x-cache', 'MISS');
          return { echo: item.n };
        } finally {
          inFlight--;
        }
      });
      installBatch(a, { path: '/v1/test-batch', target: '/v1/test-target', maxItems: 6, concurrency: 2 });
    }));
    return app!;
  }

  it('returns results in order with a status per item; one failure does not fail the batch', async () => {
    const a = await withTarget();
    const res = await a.inject({
      method: 'POST',
      url: '/v1/test-batch',
      headers: { 'x-experiment': 'exp-1', 'x-request-id': 'batch-1' },
      payload: {
        requests: [
          { n: 0, delay: 30 },
          { n: 1, fail: true },
          { n: 2 },
          { n: 3, crash: true },
          { n: 4, stream: true },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.object).toBe('batch');
    expect(body.data.map((d: { index: number }) => d.index)).toEqual([0, 1, 2, 3, 4]);
    expect(body.data.map((d: { status: number }) => d.status)).toEqual([200, 502, 200, 500, 400]);
    expect(body.data[0].body).toEqual({ echo: 0 });
    expect(body.data[0].cache).toBe('MISS');
    expect(body.data[1].body.error.code).toBe('PROVIDER_ERROR');
    expect(body.data[2].body).toEqual({ echo: 2 });
    expect(body.data[3].body.error.code).toBe('INTERNAL_ERROR');
    expect(body.data[4].body.error.code).toBe('INVALID_REQUEST');
    expect(body.summary).toEqual({ total: 5, succeeded: 2, failed: 3, executed: 5 });
    // Streams never reach the target; the rest ran with at most 2 in flight.
    expect(calls).toBe(4);
    expect(peak).toBeLessThanOrEqual(2);
    // Each item carries the batch's experiment header and a request id derived from the batch's.
    expect(seenHeaders.every((h) => h['x-experiment'] === 'exp-1')).toBe(true);
    const batchId = String(res.headers['x-request-id']);
    expect(seenHeaders.map((h) => h['x-request-id']).sort()).toEqual(
      [0, 1, 2, 3].map((i) => `${batchId}.${i}`),
    );
  });

  it('answers an item that is not an object with its own 400; the others still run', async () => {
    const a = await withTarget();
    const res = await a.inject({
      method: 'POST',
      url: '/v1/test-batch',
      payload: { requests: [{ n: 0 }, null, 5, 'x', [1], { n: 5 }] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.data.map((d: { status: number }) => d.status)).toEqual([200, 400, 400, 400, 400, 200]);
    expect(body.data[1].body.error).toEqual({
      code: 'INVALID_REQUEST',
      message: 'requests[1] must be a chat completion request (a JSON object), got null',
    });
    expect(body.data[2].body.error.message).toContain('got number');
    expect(body.data[4].body.error.message).toContain('got an array');
    expect(body.summary).toMatchObject({ total: 6, succeeded: 2, failed: 4 });
    expect(calls).toBe(2);
  });

  it('runs identical items once', async () => {
    const a = await withTarget();
    const res = await a.inject({
      method: 'POST',
      url: '/v1/test-batch',
      payload: { requests: [{ n: 1, delay: 5 }, { delay: 5, n: 1 }, { n: 2 }, { n: 1, delay: 5 }] },
    });
    const body = res.json();
    expect(body.data.map((d: { body: { echo: number } }) => d.body.echo)).toEqual([1, 1, 2, 1]);
    expect(calls).toBe(2);
    expect(body.summary.executed).toBe(2);
  });

  it('counts the batch and each item that runs against the rate limit; a refused item gets its 429', async () => {
    const key = 'batch-rate-limited-key';
    const a = await withTarget({ API_KEYS: key, RATE_LIMIT_REQUESTS: '4' });
    const res = await a.inject({
      method: 'POST',
      url: '/v1/test-batch',
      headers: { authorization: `Bearer ${key}` },
      // The batch is 1; the two identical items run once (2), then 3 and 4; 5 is over.
      payload: { requests: [{ n: 1 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }] },
    });
    expect(res.statusCode).toBe(200);
    const statuses = res.json().data.map((d: { status: number }) => d.status);
    expect(statuses.filter((s: number) => s === 429)).toHaveLength(1);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    const refused = res.json().data.find((d: { status: number }) => d.status === 429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
  });

  it('rejects a batch over the limit, and an empty or malformed one', async () => {
    const a = await withTarget();
    const tooMany = await a.inject({
      method: 'POST',
      url: '/v1/test-batch',
      payload: { requests: Array.from({ length: 7 }, (_, n) => ({ n })) },
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.code).toBe(BatchTooLargeError.spec.code);
    expect(tooMany.json().error.max_items).toBe(6);
    expect(calls).toBe(0);
    for (const payload of [{ requests: [] }, { requests: 'x' }, {}]) {
      const res = await a.inject({ method: 'POST', url: '/v1/test-batch', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
  });

  it('the server installs POST /v1/batch with BATCH_MAX_ITEMS', async () => {
    const a = await withTarget({ BATCH_MAX_ITEMS: '2' });
    const res = await a.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: { requests: [{ model: 'mock/fast' }, { model: 'mock/fast' }, { model: 'mock/fast' }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('at most 2');
  });
});

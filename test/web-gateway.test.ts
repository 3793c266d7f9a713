/**
 * The response optimisations on the real gateway route: cache hits served from precompressed
 * bytes (no compression work per hit), and /v1/batch over real chat completions.
 */
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from './helpers/app.ts';

const ask = (content: string, model = 'mock/long') => ({
  model,
  temperature: 0,
  messages: [{ role: 'user', content }],
});

describe('gateway cache hits, precompressed', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function withLongModel(env: Record<string, string> = {}): Promise<FastifyInstance> {
    ({ app } = await testApp(env));
    const mock = app!.versus.providers.mock;
    if (mock === undefined) throw new Error('the in-process mock provider did not start');
    // ~3 KB answers: over the compression threshold.
    mock.configure('long', { latencyMs: 1, jitterMs: 0, answerTokens: 500 });
    return app!;
  }

  it('a hit is served from stored compressed bytes: no compression work per hit', async () => {
    const a = await withLongModel();
    const payload = ask('precompressed hit');
    const miss = await a.inject({ method: 'POST', url: '/v1/chat/completions', payload });
    expect(miss.statusCode).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    const identity = miss.json();
    expect(miss.rawPayload.length).toBeGreaterThan(2048);

    const before = a.compression.compressor.calls;
    const results = [];
    for (let i = 0; i < 12; i++) {
      const encoding = ['gzip', 'br', 'zstd'][i % 3]!;
      results.push(
        await a.inject({
          method: 'POST',
          url: '/v1/chat/completions',
          payload,
          headers: { 'accept-encoding': encoding },
        }),
      );
    }
    // Three codings, each compressed once on its first hit; nine more hits did no work.
    expect(a.compression.compressor.calls - before).toBe(3);
    const decoders: Record<string, (b: Buffer) => Buffer> = {
      gzip: zlib.gunzipSync,
      br: zlib.brotliDecompressSync,
      zstd: zlib.zstdDecompressSync,
    };
    const bodies = new Set<string>();
    for (const res of results) {
      expect(res.headers['x-cache']).toBe('HIT');
      const encoding = res.headers['content-encoding'] as string;
      expect(Object.keys(decoders)).toContain(encoding);
      expect(res.headers.vary).toMatch(/accept-encoding/i);
      const body = decoders[encoding]!(res.rawPayload).toString();
      bodies.add(body);
      expect(JSON.parse(body).choices[0].message.content).toBe(identity.choices[0].message.content);
    }
    // Every hit is the same bytes: the stored answer, with the id it was first sent with.
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0]!).id).toBe(identity.id);
  });

  it('a miss is compressed per response at a fast level', async () => {
    const a = await withLongModel();
    const before = a.compression.compressor.calls;
    const res = await a.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: { ...ask('dynamic'), temperature: 0.7 },
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.headers['x-cache']).toBe('BYPASS');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(zlib.gunzipSync(res.rawPayload).toString()).object).toBe('chat.completion');
    expect(a.compression.compressor.calls - before).toBe(1);
  });

  it('ENABLE_PERFORMANCE_OPTIMIZATION=false serves neither cache hits nor compressed bodies', async () => {
    const a = await withLongModel({ ENABLE_PERFORMANCE_OPTIMIZATION: 'false' });
    const payload = ask('optimisation off');
    await a.inject({ method: 'POST', url: '/v1/chat/completions', payload });
    const again = await a.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload,
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(again.headers['x-cache']).not.toBe('HIT');
    expect(again.headers['content-encoding']).toBeUndefined();
    expect(a.compression.compressor.calls).toBe(0);
  });
});

describe('POST /v1/batch over real chat completions', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('returns each completion in order, an unknown model fails only its item, duplicates run once', async () => {
    ({ app } = await testApp());
    const stats = () => app!.versus.providers.mock!.stats().fast?.calls ?? 0;
    const before = stats();
    const res = await app!.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: {
        requests: [
          ask('batch one', 'mock/fast'),
          ask('batch two', 'mock/fast'),
          { model: 'mock/does-not-exist', messages: [{ role: 'user', content: 'x' }] },
          ask('batch one', 'mock/fast'),
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.data.map((d: { status: number }) => d.status)).toEqual([200, 200, 400, 200]);
    expect(body.data[0].body.object).toBe('chat.completion');
    expect(body.data[2].body.error.code).toBe('UNKNOWN_MODEL');
    expect(body.data[3].body).toEqual(body.data[0].body);
    expect(body.summary).toMatchObject({ total: 4, succeeded: 3, failed: 1, executed: 3 });
    expect(stats() - before).toBe(2);
  });
});

describe('GET /v1/models caching headers', () => {
  it('is cacheable for a minute and revalidates with 304', async () => {
    const { app } = await testApp();
    try {
      const first = await app.inject({ url: '/v1/models' });
      expect(first.statusCode).toBe(200);
      expect(first.headers['cache-control']).toBe('private, max-age=60');
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^W\//);
      const again = await app.inject({ url: '/v1/models', headers: { 'if-none-match': etag } });
      expect(again.statusCode).toBe(304);
      expect(again.payload).toBe('');
    } finally {
      await app.close();
    }
  });
});

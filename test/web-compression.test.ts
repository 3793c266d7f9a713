/** Negotiated compression, precompressed cached bodies, ETag/304 and Cache-Control. */
import { get } from 'node:http';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CachedBody,
  createCompressor,
  createNegotiator,
  ENCODINGS,
  type Encoding,
  isCompressible,
  precompressedBodies,
  TEXT_MAX_BYTES,
} from '../src/perf/web/index.ts';
import { testApp } from './helpers/app.ts';
import { waitFor } from './helpers/http.ts';

const endless = { errors: 0, stopped: false };

function decode(encoding: string | undefined, body: Buffer): Buffer {
  switch (encoding) {
    case 'zstd':
      return zlib.zstdDecompressSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    case 'gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case undefined:
      return body;
    default:
      throw new Error(`unexpected content-encoding ${encoding}`);
  }
}

/** A JSON document of about `n` KB, like a chat completion with a long answer. */
function document(kb: number): { id: string; choices: { index: number; text: string }[] } {
  const choices = [];
  for (let i = 0; choices.length * 60 < kb * 1024; i++) {
    choices.push({ index: i, text: `answer ${i}: the quick brown fox jumps over the lazy dog ${i * 7919}` });
  }
  return { id: 'chatcmpl-test', choices };
}

describe('Accept-Encoding negotiation', () => {
  const n = createNegotiator();
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['br', 'br'],
    ['zstd', 'zstd'],
    ['x-gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['gzip, deflate, br, zstd', 'zstd'], // equal q: server preference
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate', 'gzip'],
    ['gzip;q=0.5, br;q=0.8', 'br'],
    ['br;q=0.1, gzip;q=0.9, zstd;q=0.5', 'gzip'],
    ['gzip;q=0.5', 'gzip'], // an explicit coding with any q > 0 beats implicit identity
    ['gzip;q=0', 'identity'],
    ['*', 'zstd'],
    ['*;q=0.5, gzip', 'gzip'],
    ['br;q=0, *', 'zstd'],
    ['zstd;q=0, br;q=0, *;q=0.3', 'gzip'],
    ['*;q=0', 'identity'],
    ['identity', 'identity'],
    ['identity;q=1, gzip;q=0.5', 'identity'],
    ['identity;q=0.2, gzip;q=0.5', 'gzip'],
    ['compress, snappy', 'identity'], // none we offer
    ['gzip;q=abc', 'identity'], // malformed q: unusable, not preferred
    ['gzip;q=2', 'identity'],
    [' br ; q=0.9 ,gzip ; q=0.8 ', 'br'],
  ])('%j -> %s', (header, expected) => {
    expect(n.negotiate(header)).toBe(expected);
  });

  it('offers only the configured codings', () => {
    expect(createNegotiator(['gzip']).negotiate('zstd, br, gzip;q=0.1')).toBe('gzip');
    expect(createNegotiator(['gzip']).negotiate('zstd, br')).toBe('identity');
  });

  it('knows which media types are worth compressing', () => {
    for (const t of ['application/json; charset=utf-8', 'text/html', 'text/csv', 'application/x-ndjson'])
      expect(isCompressible(t), t).toBe(true);
    for (const t of [
      'image/png',
      'application/zip',
      'application/octet-stream',
      'text/event-stream',
      undefined,
    ])
      expect(isCompressible(t), String(t)).toBe(false);
  });
});

describe('compression plugin', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function withRoutes(env: Record<string, string> = {}): Promise<FastifyInstance> {
    ({ app } = await testApp(env, (a) => {
      a.get('/doc/:kb', async (request) => document(Number((request.params as { kb: string }).kb)));
      a.get('/png', async (_request, reply) => reply.type('image/png').send(Buffer.alloc(8192, 7)));
      // A streamed export: lines made as they are read, of a length no one knows up front.
      a.get('/lines/:n', async (request, reply) => {
        const n = Number((request.params as { n: string }).n);
        const type = (request.query as { type?: string }).type ?? 'application/x-ndjson';
        async function* lines() {
          for (let i = 0; i < n; i++) {
            if (i === 500 && (request.query as { fail?: string }).fail === '1')
              throw new Error('source broke');
            yield `{"i":${i},"text":"line ${i} of the export"}\n`;
          }
        }
        return reply.type(type).send(Readable.from(lines()));
      });
      // An endless export, for a client that leaves: counts its errors and whether it stopped.
      a.get('/endless', async (_request, reply) => {
        async function* rows() {
          try {
            for (let i = 0; ; i++) {
              yield `${'row '.repeat(50)}${i}\n`;
              if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
            }
          } finally {
            endless.stopped = true;
          }
        }
        const source = Readable.from(rows());
        source.on('error', () => endless.errors++);
        return reply.type('text/csv').send(source);
      });
    }));
    return app!;
  }

  it('every coding decodes to the same bytes as the uncompressed body', async () => {
    const a = await withRoutes();
    const plain = await a.inject({ url: '/doc/10' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.length).toBeGreaterThan(10_000);
    for (const encoding of ENCODINGS) {
      const res = await a.inject({ url: '/doc/10', headers: { 'accept-encoding': encoding } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(res.headers.vary).toMatch(/accept-encoding/i);
      expect(res.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
      expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
      expect(decode(encoding, res.rawPayload).equals(plain.rawPayload)).toBe(true);
    }
  });

  it('compresses large bodies on the thread pool and they still decode', async () => {
    const a = await withRoutes();
    const plain = await a.inject({ url: '/doc/200' });
    expect(plain.rawPayload.length).toBeGreaterThan(200_000);
    for (const encoding of ENCODINGS) {
      const res = await a.inject({ url: '/doc/200', headers: { 'accept-encoding': encoding } });
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(decode(encoding, res.rawPayload).equals(plain.rawPayload)).toBe(true);
    }
  });

  it('leaves bodies under the threshold uncompressed', async () => {
    const a = await withRoutes();
    const res = await a.inject({ url: '/doc/0.5', headers: { 'accept-encoding': 'gzip, br, zstd' } });
    expect(res.rawPayload.length).toBeLessThan(1024);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(res.payload).id).toBe('chatcmpl-test');
    const health = await a.inject({ url: '/health', headers: { 'accept-encoding': 'gzip' } });
    expect(health.headers['content-encoding']).toBeUndefined();
  });

  it('honours COMPRESSION_THRESHOLD_BYTES', async () => {
    const a = await withRoutes({ COMPRESSION_THRESHOLD_BYTES: '100000' });
    const res = await a.inject({ url: '/doc/10', headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it('leaves already-compressed media types alone', async () => {
    const a = await withRoutes();
    const res = await a.inject({ url: '/png', headers: { 'accept-encoding': 'gzip, br, zstd' } });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.rawPayload.length).toBe(8192);
  });

  it('serves identity when the client accepts no coding we offer', async () => {
    const a = await withRoutes();
    const res = await a.inject({ url: '/doc/10', headers: { 'accept-encoding': 'compress;q=1, gzip;q=0' } });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toMatch(/accept-encoding/i);
  });

  it('compresses a streamed body of a text type in every coding, and leaves other streams alone', async () => {
    const a = await withRoutes();
    const plain = await a.inject({ url: '/lines/2000' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.payload.split('\n')).toHaveLength(2001);
    for (const encoding of ENCODINGS) {
      const res = await a.inject({ url: '/lines/2000', headers: { 'accept-encoding': encoding } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(res.headers['content-length']).toBeUndefined();
      expect(res.headers.vary).toMatch(/accept-encoding/i);
      expect(res.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4);
      expect(decode(encoding, res.rawPayload).equals(plain.rawPayload)).toBe(true);
    }
    const binary = await a.inject({
      url: '/lines/100?type=application/octet-stream',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(binary.headers['content-encoding']).toBeUndefined();
    expect(binary.payload.split('\n')).toHaveLength(101);
  });

  it('stops the source quietly when a client leaves a compressed stream, as an uncompressed one', async () => {
    const a = await withRoutes();
    await a.listen({ port: 0, host: '127.0.0.1' });
    const { port } = a.server.address() as { port: number };
    for (const encoding of ['identity', 'gzip', 'br', 'zstd']) {
      endless.errors = 0;
      endless.stopped = false;
      await new Promise<void>((resolve, reject) => {
        const req = get(
          { host: '127.0.0.1', port, path: '/endless', headers: { 'accept-encoding': encoding } },
          (res) => {
            expect(res.headers['content-encoding']).toBe(encoding === 'identity' ? undefined : encoding);
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on('error', () => {});
        req.setTimeout(5000, () => reject(new Error('no data')));
      });
      await waitFor(() => endless.stopped, 2000, 5);
      expect(endless.errors, encoding).toBe(0);
    }
  });

  it('ends a compressed stream short when its source fails, never as if it were whole', async () => {
    const a = await withRoutes();
    const res = await a.inject({ url: '/lines/2000?fail=1', headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-encoding']).toBe('gzip');
    // The gzip stream has no trailer: decoding it as a whole fails.
    expect(() => zlib.gunzipSync(res.rawPayload)).toThrow();
  });

  it('is off with ENABLE_PERFORMANCE_OPTIMIZATION=false', async () => {
    const a = await withRoutes({ ENABLE_PERFORMANCE_OPTIMIZATION: 'false' });
    const res = await a.inject({ url: '/doc/10', headers: { 'accept-encoding': 'gzip, br, zstd' } });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(a.compression.enabled).toBe(false);
  });
});

describe('precompressed cached bodies', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a hit is served from stored bytes: each coding is compressed once, on first need', async () => {
    const cached = document(10); // the value a response cache would hold
    const bodies = precompressedBodies();
    ({ app } = await testApp({}, (a) => {
      a.get('/cached', (request, reply) => a.compression.send(request, reply, bodies.of(cached)));
      a.post('/cached', (request, reply) => a.compression.send(request, reply, bodies.of(cached)));
    }));
    const a = app!;
    const identity = Buffer.from(JSON.stringify(cached));
    const before = a.compression.compressor.calls;

    // First need of each coding: one compression each, concurrent first hits share it.
    for (const encoding of ENCODINGS) {
      const first = await Promise.all(
        [1, 2, 3].map(() => a.inject({ url: '/cached', headers: { 'accept-encoding': encoding } })),
      );
      for (const res of first) {
        expect(res.headers['content-encoding']).toBe(encoding);
        expect(decode(encoding, res.rawPayload).equals(identity)).toBe(true);
      }
    }
    expect(a.compression.compressor.calls - before).toBe(ENCODINGS.length);

    // Hits: no compression work at all, whatever the coding, method or mix.
    for (let i = 0; i < 20; i++) {
      const encoding = ENCODINGS[i % ENCODINGS.length] as Encoding;
      const res = await a.inject({
        method: i % 2 === 0 ? 'GET' : 'POST',
        url: '/cached',
        headers: { 'accept-encoding': `${encoding}, identity;q=0.5` },
      });
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(decode(encoding, res.rawPayload).equals(identity)).toBe(true);
    }
    const plain = await a.inject({ url: '/cached' });
    expect(plain.rawPayload.equals(identity)).toBe(true);
    expect(a.compression.compressor.calls - before).toBe(ENCODINGS.length);
    // A body this large keeps no text; the identity bytes and the four codings together stay
    // under two identity sizes.
    expect(bodies.of(cached).text).toBeUndefined();
    expect(bodies.of(cached).byteLength).toBeLessThan(identity.length * 2);
  });

  it('a small body made from a string is sent as that string, byte for byte, whatever its characters', async () => {
    const text = JSON.stringify({ content: 'héllo wörld, 你好, 🌍', n: 1 });
    const body = new CachedBody(text);
    expect(body.text).toBe(text);
    ({ app } = await testApp({}, (a) => {
      a.post('/small', (request, reply) => a.compression.send(request, reply, body));
    }));
    const res = await app!.inject({
      method: 'POST',
      url: '/small',
      headers: { 'accept-encoding': 'identity' },
    });
    expect(res.rawPayload.equals(Buffer.from(text))).toBe(true);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(text));
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('keeps no text for a body above TEXT_MAX_BYTES or one made from bytes', async () => {
    const large = JSON.stringify(document(TEXT_MAX_BYTES / 1024 + 2));
    const body = new CachedBody(large);
    expect(body.identity.length).toBeGreaterThan(TEXT_MAX_BYTES);
    expect(body.text).toBeUndefined();
    expect(new CachedBody(Buffer.from('{"ok":true}')).text).toBeUndefined();
    ({ app } = await testApp({}, (a) => {
      a.get('/large', (request, reply) => a.compression.send(request, reply, body));
    }));
    const res = await app!.inject({ url: '/large' });
    expect(res.rawPayload.equals(Buffer.from(large))).toBe(true);
  });

  it('a body below the threshold is served as is and never compressed', async () => {
    const compressor = createCompressor();
    const body = new CachedBody('{"ok":true}');
    ({ app } = await testApp({}, (a) => {
      a.get('/small', (request, reply) => a.compression.send(request, reply, body));
    }));
    const res = await app!.inject({ url: '/small', headers: { 'accept-encoding': 'gzip' } });
    expect(res.payload).toBe('{"ok":true}');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(app!.compression.compressor.calls).toBe(0);
    expect(compressor.calls).toBe(0);
  });

  it('answers If-None-Match with 304 and no body', async () => {
    const body = new CachedBody(JSON.stringify(document(4)));
    ({ app } = await testApp({}, (a) => {
      a.get('/cached', (request, reply) => a.compression.send(request, reply, body));
    }));
    const first = await app!.inject({ url: '/cached', headers: { 'accept-encoding': 'br' } });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await app!.inject({
      url: '/cached',
      headers: { 'accept-encoding': 'br', 'if-none-match': `"other", ${etag}` },
    });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
  });
});

describe('ETag / 304 and Cache-Control per route', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function withRoutes(): Promise<FastifyInstance> {
    let version = 1;
    ({ app } = await testApp({}, (a) => {
      a.get(
        '/results',
        { config: { httpCache: { cacheControl: 'private, max-age=5', etag: true } } },
        async () => ({ version, rows: document(3).choices }),
      );
      a.post('/bump', async () => ({ version: ++version }));
      a.get(
        '/broken',
        { config: { httpCache: { cacheControl: 'public, max-age=600', etag: true } } },
        async () => {
          throw new Error('broken');
        },
      );
      a.get('/plain', async () => ({ ok: true }));
    }));
    return app!;
  }

  it('returns 304 for a matching If-None-Match and 200 once the content changes', async () => {
    const a = await withRoutes();
    const first = await a.inject({ url: '/results', headers: { 'accept-encoding': 'gzip' } });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('private, max-age=5');
    expect(first.headers['content-encoding']).toBe('gzip');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"/);

    // The same ETag whatever the coding: it describes the content, not the bytes.
    const plain = await a.inject({ url: '/results' });
    expect(plain.headers.etag).toBe(etag);

    const notModified = await a.inject({
      url: '/results',
      headers: { 'accept-encoding': 'gzip', 'if-none-match': etag },
    });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.rawPayload.length).toBe(0);
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers['cache-control']).toBe('private, max-age=5');
    expect(notModified.headers.vary).toMatch(/accept-encoding/i);
    expect(notModified.headers['content-encoding']).toBeUndefined();

    // A strong form of the same tag matches too (weak comparison).
    const strong = await a.inject({ url: '/results', headers: { 'if-none-match': etag.slice(2) } });
    expect(strong.statusCode).toBe(304);

    await a.inject({ method: 'POST', url: '/bump' });
    const changed = await a.inject({ url: '/results', headers: { 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(changed.json().version).toBe(2);
  });

  it('errors are never cacheable, whatever the route declares', async () => {
    const a = await withRoutes();
    const res = await a.inject({ url: '/broken' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.etag).toBeUndefined();
  });

  it('routes without a declaration get no-store and no ETag', async () => {
    const a = await withRoutes();
    const res = await a.inject({ url: '/plain' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.etag).toBeUndefined();
    const health = await a.inject({ url: '/health' });
    expect(health.headers['cache-control']).toBe('no-store');
  });
});

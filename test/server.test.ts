import { once } from 'node:events';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp } from './helpers/app.ts';
import { DATABASE_URL, hasPostgres, hasRedis, REDIS_URL } from './helpers/services.ts';

const CLIENT_KEY = 'client-key-abcdefghijkl';
const ADMIN_KEY = 'admin-key-abcdefghijklm';
const KEYS = { API_KEYS: CLIENT_KEY, ADMIN_API_KEY: ADMIN_KEY };

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function echoRoutes(a: FastifyInstance) {
  a.post('/v1/echo', async (request) => ({ body: request.body }));
  a.get('/v1/things/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  a.get('/admin/ping', async () => ({ ok: true }));
  a.get('/v1/boom', async () => {
    throw new Error('database password is hunter2');
  });
}

/** Sends `raw` bytes to the app's socket and reads until the server closes the connection. */
async function rawExchange(a: FastifyInstance, raw: string): Promise<string> {
  const address = a.server.address();
  if (address === null || typeof address === 'string') throw new Error('the app is not listening on TCP');
  const socket = connect(address.port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {});
  socket.write(raw);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

describe('error format for what the router and the HTTP parser refuse', () => {
  it('a path that is not valid percent-encoding: 400 MALFORMED_REQUEST', async () => {
    ({ app } = await testApp({}, echoRoutes));
    const res = await app.inject({ url: '/v1/things/%FF%FE' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('MALFORMED_REQUEST');
    expect(res.json().error.message).toContain('percent-encoding');
  });

  it('a path parameter over 200 characters: 414 URI_TOO_LONG', async () => {
    ({ app } = await testApp({}, echoRoutes));
    expect((await app.inject({ url: `/v1/things/${'x'.repeat(200)}` })).statusCode).toBe(200);
    const res = await app.inject({ url: `/v1/things/${'x'.repeat(201)}` });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toEqual({
      error: { code: 'URI_TOO_LONG', message: 'a path segment is longer than 200 characters' },
    });
  });

  it('malformed HTTP and oversized headers, over a real socket: the envelope, then the connection closes', async () => {
    ({ app } = await testApp({}, echoRoutes));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const cases: [string, number, string][] = [
      ['GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'MALFORMED_REQUEST'],
      ['GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400, 'MALFORMED_REQUEST'],
      [
        'POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'MALFORMED_REQUEST',
      ],
      [
        `GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'HEADERS_TOO_LARGE',
      ],
    ];
    for (const [raw, status, code] of cases) {
      const answer = await rawExchange(app, raw);
      expect(answer.startsWith(`HTTP/1.1 ${status} `), answer.slice(0, 80)).toBe(true);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
      expect(answer).not.toContain('aaaa');
      // Like every error: not cacheable, and with a request id to report.
      expect(answer).toMatch(/\r\nCache-Control: no-store\r\n/);
      expect(answer).toMatch(/\r\nX-Request-Id: [0-9a-f-]{36}\r\n/);
    }
    // The server still answers afterwards.
    expect((await app.inject({ url: '/v1/things/1' })).statusCode).toBe(200);
  });
});

describe('error format', () => {
  it('404 for an unknown route', async () => {
    ({ app } = await testApp({}, echoRoutes));
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'no route for GET /v1/nothing-here' },
    });
  });

  it('400 INVALID_JSON for a malformed body', async () => {
    ({ app } = await testApp({}, echoRoutes));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_JSON');
    expect(res.json().error.message).toMatch(/not valid JSON/);
  });

  it('413 PAYLOAD_TOO_LARGE above the body limit (1 MiB by default)', async () => {
    ({ app } = await testApp({}, echoRoutes));
    const big = JSON.stringify({ s: 'x'.repeat(1024 * 1024) });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: big,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const ok = await app.inject({ method: 'POST', url: '/v1/echo', payload: { s: 'x'.repeat(1000) } });
    expect(ok.statusCode).toBe(200);
  });

  it('415 UNSUPPORTED_MEDIA_TYPE for a body that is not JSON, text/plain included', async () => {
    ({ app } = await testApp({}, echoRoutes));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/echo',
        headers: { 'content-type': type },
        payload: 'a=1',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toEqual({
        error: {
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'the request body must be JSON: send it with content-type: application/json',
        },
      });
    }
  });

  it('500 INTERNAL_ERROR hides the cause from the client and logs it with the request id', async () => {
    let logs: () => string;
    ({ app, logs } = await testApp({ LOG_LEVEL: 'info' }, echoRoutes));
    const res = await app.inject({
      method: 'GET',
      url: '/v1/boom',
      headers: { 'x-request-id': 'req-boom-1' },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('INTERNAL_ERROR');
    expect(res.body).not.toContain('hunter2');
    const id = String(res.headers['x-request-id']);
    expect(res.json().error.message).toContain(id);
    // The line carries Versus's id and the caller's own.
    expect(logs()).toContain(`"reqId":"${id}","clientRequestId":"req-boom-1"`);
  });
});

describe('rejection log lines', () => {
  it("carry the error's message under reason, so the line has one msg", async () => {
    let logs: () => string;
    ({ app, logs } = await testApp({ LOG_LEVEL: 'debug', FRONT_LANE: 'false' }, echoRoutes));
    await app.inject({ url: '/v1/nothing-here' });
    await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{',
    });
    const line = logs()
      .split('\n')
      .find((l) => l.includes('"request rejected"'));
    expect(line, logs()).toBeDefined();
    expect(line!.match(/"msg":/g)).toHaveLength(1);
    expect(JSON.parse(line!)).toMatchObject({ msg: 'request rejected', reason: expect.any(String) });
  });
});

describe('request ids', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('makes a new id for every request and echoes a sane caller id as x-client-request-id', async () => {
    ({ app } = await testApp({}, echoRoutes));
    const generated = await app.inject({ url: '/health' });
    expect(generated.headers['x-request-id']).toMatch(UUID);
    expect(generated.headers['x-client-request-id']).toBeUndefined();
    // A caller's id, sent twice, is echoed twice; the request ids stay unique.
    const ids = new Set<string>();
    for (const header of ['x-request-id', 'x-client-request-id', 'x-request-id']) {
      const given = await app.inject({ url: '/health', headers: { [header]: 'abc-123_x.y:z' } });
      expect(given.headers['x-client-request-id']).toBe('abc-123_x.y:z');
      expect(given.headers['x-request-id']).toMatch(UUID);
      ids.add(String(given.headers['x-request-id']));
    }
    expect(ids.size).toBe(3);
    // x-client-request-id wins over x-request-id; an unsafe value is neither echoed nor kept.
    const both = await app.inject({
      url: '/health',
      headers: { 'x-client-request-id': 'mine', 'x-request-id': 'proxy-1' },
    });
    expect(both.headers['x-client-request-id']).toBe('mine');
    // An unusable x-client-request-id does not hide a usable x-request-id.
    const fallback = await app.inject({
      url: '/health',
      headers: { 'x-client-request-id': 'bad id!', 'x-request-id': 'proxy-2' },
    });
    expect(fallback.headers['x-client-request-id']).toBe('proxy-2');
    const unsafe = await app.inject({ url: '/health', headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers['x-request-id']).toMatch(UUID);
    expect(unsafe.headers['x-client-request-id']).toBeUndefined();
  });

  it('keeps both ids on error replies', async () => {
    ({ app } = await testApp({}, echoRoutes));
    const res = await app.inject({ url: '/nope', headers: { 'x-request-id': 'err-id-7' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.headers['x-client-request-id']).toBe('err-id-7');
  });
});

describe('auth', () => {
  it('leaves every route open when no keys are configured', async () => {
    ({ app } = await testApp({}, echoRoutes));
    for (const url of ['/health', '/v1/things/1', '/admin/ping', '/metrics']) {
      expect((await app.inject({ url })).statusCode).toBe(200);
    }
  });

  it('keeps /health open when keys are configured', async () => {
    ({ app } = await testApp(KEYS, echoRoutes));
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/health/ready' })).statusCode).toBe(200);
  });

  it('needs a client or admin key on /v1/*', async () => {
    ({ app } = await testApp(KEYS, echoRoutes));
    const none = await app.inject({ url: '/v1/things/1' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('UNAUTHORIZED');
    const wrong = await app.inject({
      url: '/v1/things/1',
      headers: { authorization: 'Bearer wrong-key-abcdefghijk' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe('the API key is not valid');
    const client = await app.inject({
      url: '/v1/things/1',
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    });
    expect(client.statusCode).toBe(200);
    const admin = await app.inject({
      url: '/v1/things/1',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(admin.statusCode).toBe(200);
    const header = await app.inject({ url: '/v1/things/1', headers: { 'x-api-key': CLIENT_KEY } });
    expect(header.statusCode).toBe(200);
    // Keys already seen are remembered as presented: near misses of them are still refused.
    for (const nearMiss of [`${CLIENT_KEY}x`, CLIENT_KEY.slice(0, -1), CLIENT_KEY.toUpperCase()]) {
      const res = await app.inject({ url: '/v1/things/1', headers: { authorization: `Bearer ${nearMiss}` } });
      expect(res.statusCode).toBe(401);
    }
  });

  it('needs the admin key on /admin/* and /metrics', async () => {
    ({ app } = await testApp(KEYS, echoRoutes));
    for (const url of ['/admin/ping', '/metrics']) {
      expect((await app.inject({ url })).statusCode).toBe(401);
      const client = await app.inject({ url, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
      expect(client.statusCode).toBe(403);
      expect(client.json().error.code).toBe('FORBIDDEN');
      expect((await app.inject({ url, headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode).toBe(
        200,
      );
    }
  });

  it('judges the path the router matches: percent-encoded or with a fragment, a route keeps its key', async () => {
    ({ app } = await testApp(KEYS, echoRoutes));
    // Each of these reaches a protected route once the router has decoded it.
    for (const url of ['/%61dmin/ping', '/%6detrics', '/metrics#x', '/admin%2Fping', '/%61dmin/ping?x=1']) {
      const none = await app.inject({ url });
      expect(none.statusCode, url).toBe(401);
      const client = await app.inject({ url, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
      expect([403, 404], url).toContain(client.statusCode);
    }
    const encodedAdmin = await app.inject({
      url: '/%61dmin/ping',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(encodedAdmin.statusCode).toBe(200);
    for (const url of ['/%761/things/1', '/v1/%74hings/1', '/v%31/things/1#frag']) {
      expect((await app.inject({ url })).statusCode, url).toBe(401);
      const client = await app.inject({ url, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
      expect(client.statusCode, url).toBe(200);
    }
    // A path that does not decode is the router's to refuse.
    expect((await app.inject({ url: '/%61dmin/ping%FF' })).statusCode).toBe(400);
  });

  it('closes admin routes when only client keys are configured, and says why', async () => {
    ({ app } = await testApp({ API_KEYS: CLIENT_KEY }, echoRoutes));
    const res = await app.inject({ url: '/admin/ping', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('set ADMIN_API_KEY');
  });

  it('does not match look-alike paths', async () => {
    ({ app } = await testApp(KEYS, (a) => {
      a.get('/administrator', async () => ({ open: true }));
    }));
    expect((await app.inject({ url: '/administrator' })).statusCode).toBe(200);
  });

  it('never writes a key to the logs', async () => {
    let logs: () => string;
    ({ app, logs } = await testApp({ ...KEYS, LOG_LEVEL: 'trace' }, echoRoutes));
    await app.inject({ url: '/v1/things/1', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    await app.inject({ url: '/v1/boom', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    await app.inject({ url: '/v1/things/1', headers: { authorization: 'Bearer wrong-key-abcdefghijk' } });
    const text = logs();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(CLIENT_KEY);
    expect(text).not.toContain(ADMIN_KEY);
    expect(text).not.toContain('wrong-key-abcdefghijk');
  });
});

describe('metrics', () => {
  it('labels http_request_duration_seconds by route pattern, never by raw URL', async () => {
    ({ app } = await testApp({}, echoRoutes));
    await app.inject({ url: '/v1/things/123' });
    await app.inject({ url: '/v1/things/456' });
    await app.inject({ url: '/v1/unknown/789' });
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v1\/things\/:id",status="200"\} 2/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/,
    );
    expect(text).not.toMatch(/route="[^"]*(123|456|789)/);
    expect(text).not.toContain('/v1/unknown');
    // Default Node metrics are registered too.
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('process_resident_memory_bytes');
  });
});

describe('health', () => {
  it('GET /health answers liveness', async () => {
    ({ app } = await testApp());
    const res = await app.inject({ url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', pid: process.pid });
  });

  it('GET /health/ready answers 503 naming the dependency that failed', async () => {
    ({ app } = await testApp({ REDIS_URL: 'redis://127.0.0.1:1' }));
    const res = await app.inject({ url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(body.error.message).toMatch(/^not ready: redis: /);
    expect(body.error.failed).toEqual(['redis']);
  });

  it.runIf(hasRedis && hasPostgres)(
    'GET /health/ready is ready when Redis and PostgreSQL answer',
    async () => {
      ({ app } = await testApp({ REDIS_URL: REDIS_URL ?? '', DATABASE_URL: DATABASE_URL ?? '' }));
      // The Redis client connects in the background; readiness follows once it has.
      let res = await app.inject({ url: '/health/ready' });
      for (let i = 0; i < 40 && res.statusCode !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res = await app.inject({ url: '/health/ready' });
      }
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        status: 'ready',
        checks: { redis: { status: 'ok' }, database: { status: 'ok' } },
      });
    },
  );
});

/** Breakers, retries, timeouts, bulkhead, fallbacks and client aborts, against the mock provider over sockets. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/http.ts';
import { calls, chat, type Gateway, sseEvents, startGateway } from './harness.ts';

interface ErrorBody {
  error: { code: string; message: string };
}

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({
    PROVIDER_MAX_RETRIES: '2',
    PROVIDER_TIMEOUT_MS: '400',
    PROVIDER_MAX_CONCURRENCY: '2',
    PROVIDER_QUEUE_SIZE: '1',
    BREAKER_MIN_REQUESTS: '4',
    LOG_LEVEL: 'info',
    BREAKER_FAILURE_THRESHOLD: '0.5',
    BREAKER_OPEN_MS: '300',
    BREAKER_MAX_OPEN_MS: '5000',
    MODEL_FALLBACKS: 'mock/primary=mock/fast;mock/tripped=mock/fast',
  });
});
afterAll(() => gw.close());

describe('resilience over real sockets', () => {
  it('opens the breaker on provider 500s, then answers 503 at once with Retry-After and a stable code', async () => {
    const model = gw.model('down', { errorRate: 1, errorStatuses: [500] });
    const first = await gw.post(chat(model));
    expect(first.status).toBe(502);
    expect(((await first.json()) as ErrorBody).error.code).toBe('UPSTREAM_FAILED');
    expect(calls(gw, model)).toBe(3); // one attempt and two retries
    // The second request's first attempt is the 4th failure: the breaker opens, its retry is refused.
    const second = await gw.post(chat(model));
    expect(second.status).toBe(503);
    expect(((await second.json()) as ErrorBody).error.code).toBe('CIRCUIT_OPEN');
    const upstreamCalls = calls(gw, model);
    expect(upstreamCalls).toBe(4);
    const res = await gw.post(chat(model));
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as ErrorBody).error.code).toBe('CIRCUIT_OPEN');
    expect(calls(gw, model)).toBe(upstreamCalls);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain(`circuit_breaker_state{service="${model}"} 2`);
    expect(metrics).toMatch(/upstream_errors_total\{upstream="mock",kind="http_500"\} [1-9]/);
  });

  it('goes half-open after the open interval and closes once the provider has recovered', async () => {
    const model = gw.model('recovers', { errorRate: 1 });
    for (let i = 0; i < 2; i++) await gw.post(chat(model));
    expect((await gw.post(chat(model))).status).toBe(503);
    gw.mock.configure(model.slice(5), { errorRate: 0 });
    await new Promise((r) => setTimeout(r, 350));
    const res = await gw.post(chat(model));
    expect(res.status).toBe(200);
    const status = (await (await fetch(`${gw.url}/admin/breakers`)).json()) as {
      services: { service: string; state: string }[];
    };
    expect(status.services.find((s) => s.service === model)?.state).toBe('closed');
    expect(gw.logs()).toContain(`circuit breaker for ${model}: half-open -> closed`);
  });

  it('retries a 429 after the Retry-After the provider asked for', async () => {
    const model = gw.model('limited', { failNext: 1, errorStatuses: [429], retryAfterS: 1 });
    const started = performance.now();
    const res = await gw.post(chat(model));
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(calls(gw, model)).toBe(2);
  });

  it('never retries a 4xx', async () => {
    const model = gw.model('rejects', { failNext: 1, errorStatuses: [400] });
    const res = await gw.post(chat(model));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.code).toBe('UPSTREAM_REJECTED');
    expect(calls(gw, model)).toBe(1);
  });

  it('times out an attempt that does not answer, cancels it upstream, and retries', async () => {
    const model = gw.model('hangs', { timeoutRate: 1 });
    const started = performance.now();
    const res = await gw.post(chat(model));
    expect(res.status).toBe(504);
    expect(((await res.json()) as ErrorBody).error.code).toBe('UPSTREAM_TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 390);
    const id = model.slice(5);
    await waitFor(() => gw.mock.stats()[id]?.aborted === 3);
    expect(gw.mock.stats()[id]).toMatchObject({ calls: 3, hung: 3, aborted: 3 });
  });

  it('rejects with BULKHEAD_FULL beyond max concurrency plus queue', async () => {
    const model = gw.model('busy', { latencyMs: 100 });
    const results = await Promise.all([1, 2, 3, 4].map((i) => gw.post(chat(model, `q${i}`))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 503]);
    const rejected = results.find((r) => r.status === 503)!;
    expect(((await rejected.json()) as ErrorBody).error.code).toBe('BULKHEAD_FULL');
    expect(calls(gw, model)).toBe(3);
  });

  it('serves from the fallback model when retries are exhausted, and says so', async () => {
    gw.mock.configure('primary', { latencyMs: 5, jitterMs: 0, errorRate: 1 });
    const res = await gw.post(chat('mock/primary', 'fall back'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fallback-from')).toBe('mock/primary');
    expect(((await res.json()) as { model: string }).model).toBe('mock/fast');
    const record = gw.records.find((r) => r.requestId === res.headers.get('x-request-id'));
    expect(record).toMatchObject({
      model: 'mock/primary',
      fallback: true,
      fallbackModel: 'mock/fast',
      status: 200,
    });
  });

  it('skips a model whose breaker is open straight to its fallback', async () => {
    gw.mock.configure('tripped', { latencyMs: 5, jitterMs: 0, errorRate: 1 });
    for (let i = 0; i < 3; i++) await gw.post(chat('mock/tripped'));
    const before = gw.mock.stats().tripped!.calls;
    const res = await gw.post(chat('mock/tripped', 'now'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fallback-from')).toBe('mock/tripped');
    expect(gw.mock.stats().tripped!.calls).toBe(before);
  });

  it('cancels the upstream call when the client goes away mid-stream', async () => {
    const model = gw.model('long', { ttftMs: 10, tokensPerSecond: 20 });
    const controller = new AbortController();
    const res = await gw.post(chat(model, 'long story', { stream: true }), {}, controller.signal);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    const id = model.slice(5);
    await waitFor(() => gw.mock.stats()[id]?.aborted === 1, 3000);
    expect(gw.mock.stats()[id]).toMatchObject({ calls: 1, completed: 0, aborted: 1 });
    const record = (await waitFor(() => gw.records.find((r) => r.model === model)))!;
    expect(record).toMatchObject({ status: 499, errorCode: 'CLIENT_CLOSED', stream: true });
  });

  it('streams: failures before the first byte are retried, like JSON calls', async () => {
    const model = gw.model('stream-retry', { failNext: 1, errorStatuses: [503] });
    const res = await gw.post(chat(model, 'x', { stream: true }));
    expect(res.status).toBe(200);
    const { data } = await sseEvents(res);
    expect(data.at(-1)).toBe('[DONE]');
    expect(calls(gw, model)).toBe(2);
  });

  it('groups models failing together into one incident', async () => {
    const a = gw.model('net-a', { errorRate: 1 });
    const b = gw.model('net-b', { errorRate: 1 });
    await Promise.all([gw.post(chat(a)), gw.post(chat(b)), gw.post(chat(a, 'y')), gw.post(chat(b, 'y'))]);
    const status = (await (await fetch(`${gw.url}/admin/breakers`)).json()) as {
      incidents: { services: string[]; scope: string }[];
    };
    const incident = status.incidents.find((i) => i.services.includes(a));
    expect(incident?.services).toEqual(expect.arrayContaining([a, b]));
    expect(incident?.scope).toBe('shared');
  });

  it('resets breakers through the admin route', async () => {
    const model = gw.model('reset-me', { errorRate: 1 });
    for (let i = 0; i < 2; i++) await gw.post(chat(model));
    expect((await gw.post(chat(model))).status).toBe(503);
    const res = await fetch(`${gw.url}/admin/breakers/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: model }),
    });
    expect(await res.json()).toEqual({ reset: [model] });
    gw.mock.configure(model.slice(5), { errorRate: 0 });
    expect((await gw.post(chat(model))).status).toBe(200);
  });

  it('refuses a reset body it cannot read instead of resetting every breaker', async () => {
    const model = gw.model('keep-open', { errorRate: 1 });
    for (let i = 0; i < 2; i++) await gw.post(chat(model));
    expect((await gw.post(chat(model))).status).toBe(503);
    for (const [body, expected] of [
      [{ service: 5 }, 'body.service must be a service name'],
      [[], 'body must be a JSON object'],
      ['mock/fast', 'body must be a JSON object'],
      [{ servce: model }, 'body.servce is not a known field'],
    ] as const) {
      const res = await fetch(`${gw.url}/admin/breakers/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).toContain(expected);
    }
    // A service with no breaker is named as such, not answered with an empty reset.
    const unknown = await fetch(`${gw.url}/admin/breakers/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'mock/never-called' }),
    });
    expect(unknown.status).toBe(404);
    const error = ((await unknown.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('BREAKER_NOT_FOUND');
    expect(error.message).toContain(model);
    // Still open: none of them reset it.
    expect((await gw.post(chat(model))).status).toBe(503);
  });
});

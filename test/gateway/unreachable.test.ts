/** A provider nobody listens for: connect errors are retried, then reported as UPSTREAM_UNREACHABLE. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../helpers/http.ts';
import { chat, type Gateway, startGateway } from './harness.ts';

let gw: Gateway;
beforeAll(async () => {
  const port = await freePort();
  gw = await startGateway({
    OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
    OPENAI_MODELS: 'local-model,no-fallback',
    PROVIDER_MAX_RETRIES: '1',
    BREAKER_MIN_REQUESTS: '4',
    MODEL_FALLBACKS: 'openai/local-model=mock/fast',
  });
});
afterAll(() => gw.close());

it('retries connect errors, reports UPSTREAM_UNREACHABLE, and falls back', async () => {
  const models = (await (await fetch(`${gw.url}/v1/models`)).json()) as {
    data: { id: string; fallbacks?: string[] }[];
  };
  expect(models.data.find((m) => m.id === 'openai/local-model')?.fallbacks).toEqual(['mock/fast']);
  const res = await gw.post(chat('openai/local-model', 'anyone there?'));
  expect(res.status).toBe(200);
  expect(res.headers.get('x-fallback-from')).toBe('openai/local-model');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  // Two attempts (one retry), both refused.
  expect(metrics).toMatch(/upstream_errors_total\{upstream="openai",kind="connect"\} 2/);
});

it('counts connect errors towards the breaker, which opens', async () => {
  await gw.post(chat('openai/local-model', 'x'));
  const status = (await (await fetch(`${gw.url}/admin/breakers`)).json()) as {
    services: { service: string; state: string; window: { failures: number } }[];
  };
  const local = status.services.find((s) => s.service === 'openai/local-model');
  expect(local?.window.failures).toBeGreaterThanOrEqual(4);
  expect(local?.state).toBe('open');
});

it('without a fallback the client gets 502 UPSTREAM_UNREACHABLE', async () => {
  const res = await gw.post(chat('openai/no-fallback', 'x'));
  expect(res.status).toBe(502);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('UPSTREAM_UNREACHABLE');
  expect(body.error.message).toContain('ECONNREFUSED');
});

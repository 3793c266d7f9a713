/** The mock provider over HTTP: its defaults, determinism, admin route and fault injection. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockProvider, startMockProvider } from '../../src/platform/providers/index.ts';

let mock: MockProvider;
beforeAll(async () => {
  mock = await startMockProvider();
});
afterAll(() => mock.close());

const complete = (model: string, content: string, extra: object = {}) =>
  fetch(`${mock.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
  });

const admin = (path: string, init?: RequestInit) => fetch(`${mock.origin}/admin${path}`, init);

describe('mock provider', () => {
  it('lists fast, slow and flaky in OpenAI format', async () => {
    const body = (await (await fetch(`${mock.url}/models`)).json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id)).toEqual(expect.arrayContaining(['fast', 'slow', 'flaky']));
  });

  it('answers deterministically per model and prompt', async () => {
    const text = async (model: string, prompt: string) =>
      ((await (await complete(model, prompt)).json()) as { choices: { message: { content: string } }[] })
        .choices[0]!.message.content;
    expect(await text('fast', 'one')).toBe(await text('fast', 'one'));
    expect(await text('fast', 'one')).not.toBe(await text('fast', 'two'));
    expect(await text('fast', 'one')).not.toBe(await text('slow', 'one'));
  });

  it('never fails mock/fast and fails about 20% of mock/flaky with 5xx', async () => {
    const fast = await Promise.all(Array.from({ length: 100 }, (_, i) => complete('fast', `f${i}`)));
    expect(fast.every((r) => r.status === 200)).toBe(true);
    const flaky = await Promise.all(Array.from({ length: 400 }, (_, i) => complete('flaky', `k${i}`)));
    const failed = flaky.filter((r) => r.status >= 500);
    expect(failed.every((r) => [500, 502, 503].includes(r.status))).toBe(true);
    // Binomial(400, 0.2): mean 80, sd 8; these bounds are almost 4 sd out.
    expect(failed.length).toBeGreaterThan(50);
    expect(failed.length).toBeLessThan(110);
  });

  it('changes a model at run time through the admin route, and rejects bad settings', async () => {
    const put = await admin('/models/tuned', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 1, jitterMs: 0, failNext: 2, errorStatuses: [429], retryAfterS: 3 }),
    });
    expect(put.status).toBe(200);
    const first = await complete('tuned', 'x');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect((await complete('tuned', 'x')).status).toBe(429);
    expect((await complete('tuned', 'x')).status).toBe(200);
    const models = (await (await admin('/models')).json()) as Record<string, { failNext: number }>;
    expect(models.tuned?.failNext).toBe(0);
    const stats = (await (await admin('/stats')).json()) as Record<string, { calls: number; failed: number }>;
    expect(stats.tuned).toMatchObject({ calls: 3, failed: 2 });

    const bad = await admin('/models/tuned', { method: 'PUT', body: JSON.stringify({ errorRate: 2 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('errorRate');
    const unknown = await admin('/models/tuned', { method: 'PUT', body: JSON.stringify({ speed: 1 }) });
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain(
      'speed is not a known setting',
    );

    expect((await admin('/reset', { method: 'POST' })).status).toBe(200);
    expect(((await (await admin('/models')).json()) as Record<string, unknown>).tuned).toBeUndefined();
  });

  it('streams at the configured pace and honours max_tokens', async () => {
    mock.configure('paced', { latencyMs: 1, jitterMs: 0, ttftMs: 50, tokensPerSecond: 100 });
    const started = performance.now();
    const res = await complete('paced', 'pace', {
      stream: true,
      max_tokens: 6,
      stream_options: { include_usage: true },
    });
    const text = await res.text();
    const elapsed = performance.now() - started;
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const usage = JSON.parse(events.at(-2)!.slice(6)).usage;
    expect(usage.completion_tokens).toBe(6);
    // 50 ms to the first token, then 5 more at 10 ms each.
    expect(elapsed).toBeGreaterThanOrEqual(95);
    const finish = JSON.parse(events.at(-3)!.slice(6)).choices[0].finish_reason;
    expect(finish).toBe('length');
  });

  it('answers unknown models with 404 in OpenAI error format', async () => {
    const res = await complete('nope', 'x');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('nope');
  });
});

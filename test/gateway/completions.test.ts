/** The chat completions route over real sockets: JSON, streaming, validation, models, hooks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/perf/errors.ts';
import { waitFor } from '../helpers/http.ts';
import { calls, chat, type Gateway, sseEvents, startGateway, streamedText } from './harness.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway(
    {},
    {
      route({ headers }) {
        const experiment = headers['x-experiment'];
        if (experiment === undefined) return undefined;
        if (experiment === 'missing') throw new NotFoundError('no experiment named missing');
        return {
          model: 'mock/fast',
          systemPrompt: 'Answer briefly.',
          params: { max_tokens: 5 },
          experimentId: 'exp-1',
          variant: 'treatment',
          unit: 'user-7',
        };
      },
    },
  );
});
afterAll(() => gw.close());

describe('POST /v1/chat/completions', () => {
  it('answers in OpenAI format with request id, cache and overhead headers', async () => {
    const model = gw.model('ok');
    const res = await gw.post(chat(model, 'what is versus?'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[\w-]+$/);
    expect(res.headers.get('x-cache')).toBe('BYPASS');
    const overhead = Number(res.headers.get('x-gateway-overhead-ms'));
    expect(overhead).toBeGreaterThanOrEqual(0);
    const body = (await res.json()) as {
      id: string;
      object: string;
      model: string;
      choices: { message: { role: string; content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    expect(body.object).toBe('chat.completion');
    expect(body.id).toBe(`chatcmpl-${res.headers.get('x-request-id')}`);
    expect(body.model).toBe(model);
    expect(body.choices[0]!.message.role).toBe('assistant');
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(10);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    // Deterministic per prompt: the same question gets the same answer.
    const again = (await (await gw.post(chat(model, 'what is versus?'))).json()) as typeof body;
    expect(again.choices[0]!.message.content).toBe(body.choices[0]!.message.content);
  });

  it('streams chunks incrementally in OpenAI chunk format and measures TTFT', async () => {
    const model = gw.model('stream', { ttftMs: 80, tokensPerSecond: 100 });
    const started = performance.now();
    const res = await gw.post(
      chat(model, 'stream please', { stream: true, stream_options: { include_usage: true } }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const { data, arrivals } = await sseEvents(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks[0].object).toBe('chat.completion.chunk');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const usage = chunks.at(-1).usage;
    expect(usage.completion_tokens).toBeGreaterThan(5);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    // At 100 tokens/s the tokens arrive ~10 ms apart, not in one burst at the end.
    const spread = arrivals.at(-1)! - arrivals[1]!;
    expect(spread).toBeGreaterThan((usage.completion_tokens - 1) * 5);
    const record = (await waitFor(() => gw.records.find((r) => r.model === model)))!;
    expect(record.stream).toBe(true);
    expect(record.ttftMs).toBeGreaterThanOrEqual(70);
    expect(record.ttftMs!).toBeLessThan(record.latencyMs);
    expect(record.latencyMs).toBeLessThanOrEqual(performance.now() - started + 5);
    expect(record.completionTokens).toBe(usage.completion_tokens);
    expect(streamedText(data).length).toBeGreaterThan(10);
  });

  it('lists every routable model in OpenAI list format', async () => {
    const added = gw.model('listed');
    const res = await fetch(`${gw.url}/v1/models`);
    const body = (await res.json()) as {
      object: string;
      data: { id: string; object: string; owned_by: string }[];
    };
    expect(body.object).toBe('list');
    const ids = body.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['mock/fast', 'mock/slow', 'mock/flaky', added]));
    expect(body.data.every((m) => m.object === 'model')).toBe(true);
  });

  it.each([
    [{ messages: [{ role: 'user', content: 'x' }] }, 'INVALID_REQUEST', 'body.model is required'],
    [{ model: 'mock/fast', messages: [] }, 'INVALID_REQUEST', 'body.messages'],
    [
      { model: 'mock/fast', messages: [{ role: 'robot', content: 'x' }] },
      'INVALID_REQUEST',
      'body.messages[0].role must be one of',
    ],
    [
      { model: 'mock/fast', messages: [{ role: 'user', content: 42 }] },
      'INVALID_REQUEST',
      'body.messages[0].content must be',
    ],
    [
      { model: 'mock/fast', messages: [{ role: 'user', content: 'x' }], temperature: 2.5 },
      'INVALID_REQUEST',
      'body.temperature',
    ],
    [
      { model: 'mock/fast', messages: [{ role: 'user', content: 'x' }], max_tokens: 0 },
      'INVALID_REQUEST',
      'body.max_tokens',
    ],
    [
      { model: 'mock/fast', messages: [{ role: 'user', content: 'x' }], tools: [] },
      'INVALID_REQUEST',
      'body.tools is not a supported field',
    ],
    [{ model: 'nope/model', messages: [{ role: 'user', content: 'x' }] }, 'UNKNOWN_MODEL', 'body.model'],
  ])('rejects %j with 400 %s naming the field', async (body, code, message) => {
    const res = await gw.post(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message).toContain(message);
  });

  it('applies the route hook: model, system prompt, params, x-variant, and records the request', async () => {
    const before = calls(gw, 'mock/fast');
    const res = await gw.post(chat('mock/slow', 'hooked'), { 'x-experiment': 'exp-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-variant')).toBe('treatment');
    const body = (await res.json()) as { model: string; usage: { completion_tokens: number } };
    expect(body.model).toBe('mock/fast');
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(5); // max_tokens from the decision
    expect(calls(gw, 'mock/fast')).toBe(before + 1);
    const record = gw.records.find((r) => r.requestId === res.headers.get('x-request-id'));
    expect(record).toMatchObject({
      experimentId: 'exp-1',
      variant: 'treatment',
      unit: 'user-7',
      model: 'mock/fast',
      status: 200,
      cacheHit: false,
      fallback: false,
      stream: false,
    });
    expect(record!.promptTokens).toBeGreaterThan(0);
  });

  it('exports per-upstream metrics and counts streamed requests in the route histogram', async () => {
    const model = gw.model('metered');
    await (await gw.post(chat(model, 'metered'))).arrayBuffer();
    await sseEvents(await gw.post(chat(model, 'metered', { stream: true })));
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/upstream_request_duration_seconds_count\{upstream="mock",status="200"\} [1-9]/);
    expect(text).toMatch(/upstream_connections_open\{upstream="mock"\} [1-9]/);
    expect(text).toContain('upstream_requests_in_flight{upstream="mock"} 0');
    expect(text).toMatch(/upstream_requests_queued\{upstream="mock"\} 0/);
    expect(text).toMatch(/gateway_overhead_seconds_count\{served="upstream"\} [1-9]/);
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/v1\/chat\/completions",status="200"\} [1-9]/,
    );
  });

  it('passes an AppError thrown by the route hook to the client and records it', async () => {
    const res = await gw.post(chat('mock/fast'), { 'x-experiment': 'missing' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    const record = gw.records.find((r) => r.requestId === res.headers.get('x-request-id'));
    expect(record).toMatchObject({ status: 404, errorCode: 'NOT_FOUND' });
  });
});

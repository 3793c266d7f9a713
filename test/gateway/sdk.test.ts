/** End to end with the official `openai` SDK pointed at Versus, and the Anthropic translation over a socket. */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockProvider, startMockProvider } from '../../src/platform/providers/index.ts';
import { type Gateway, startGateway } from './harness.ts';

const KEY = 'sdk-client-key-0123456789';
let anthropicMock: MockProvider;
let gw: Gateway;
let client: OpenAI;

beforeAll(async () => {
  anthropicMock = await startMockProvider();
  gw = await startGateway({
    API_KEYS: KEY,
    ANTHROPIC_BASE_URL: anthropicMock.origin,
    ANTHROPIC_API_KEY: 'test-anthropic-key',
    ANTHROPIC_MODELS: 'fast',
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await anthropicMock.close();
});

describe('the openai SDK against Versus', () => {
  it('gets a completion', async () => {
    const completion = await client.chat.completions.create({
      model: 'mock/fast',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say something.' },
      ],
      temperature: 0,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('mock/fast');
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(10);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('streams a completion', async () => {
    const stream = await client.chat.completions.create({
      model: 'mock/fast',
      messages: [{ role: 'user', content: 'Stream something.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(text.length).toBeGreaterThan(10);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('surfaces Versus errors as SDK errors with status and code', async () => {
    const err = await client.chat.completions
      .create({ model: 'mock/nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
  });

  it('lists the models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['mock/fast', 'anthropic/fast']));
  });
});

describe('Anthropic Messages translation (mock speaking the Anthropic protocol)', () => {
  const messages = [{ role: 'user' as const, content: 'Translate me.' }];

  it('translates a completion both ways', async () => {
    const viaAnthropic = await client.chat.completions.create({
      model: 'anthropic/fast',
      messages,
      max_tokens: 8,
    });
    const viaOpenAi = await client.chat.completions.create({ model: 'mock/fast', messages, max_tokens: 8 });
    // The mock answers by prompt, so the same prompt through either protocol gives the same text.
    expect(viaAnthropic.choices[0]!.message.content).toBe(viaOpenAi.choices[0]!.message.content);
    expect(viaAnthropic.choices[0]!.finish_reason).toBe('length'); // max_tokens -> length
    expect(viaAnthropic.usage).toEqual(viaOpenAi.usage);
    expect(anthropicMock.stats().fast?.calls).toBeGreaterThanOrEqual(1);
  });

  it('translates a stream', async () => {
    const stream = await client.chat.completions.create({
      model: 'anthropic/fast',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    const reference = await client.chat.completions.create({ model: 'mock/fast', messages });
    expect(text).toBe(reference.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(reference.usage?.completion_tokens);
    expect(usage?.prompt_tokens).toBe(reference.usage?.prompt_tokens);
  });
});

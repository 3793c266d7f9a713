import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/perf/errors.ts';
import { validateChatRequest } from '../../src/platform/gateway/schema.ts';

const user = { role: 'user', content: 'hi' };
const ok = { model: 'mock/fast', messages: [user] };

function problem(body: unknown): string {
  try {
    validateChatRequest(body);
  } catch (err) {
    expect(isAppError(err) && err.code).toBe('INVALID_REQUEST');
    return (err as Error).message;
  }
  throw new Error('expected the body to be rejected');
}

describe('chat completion request validation', () => {
  it('accepts every supported field and returns the body itself', () => {
    const body = {
      model: 'mock/fast',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'developer', content: [{ type: 'text', text: 'a' }], name: 'dev' },
        user,
        { role: 'assistant', content: 'hello' },
      ],
      temperature: 0,
      top_p: 1,
      max_tokens: 1,
      max_completion_tokens: 1_000_000,
      stop: ['a', 'b', 'c', 'd'],
      presence_penalty: -2,
      frequency_penalty: 2,
      seed: -7,
      n: 1,
      stream: true,
      stream_options: { include_usage: true },
      user: 'u-1',
      metadata: { any: ['thing'] },
    };
    expect(validateChatRequest(body)).toBe(body);
    expect(validateChatRequest({ ...ok, stop: 'END' })).toBeDefined();
    expect(validateChatRequest({ ...ok, stream: true, stream_options: {} })).toBeDefined();
  });

  it.each([
    [null, 'the body must be a JSON object with model and messages'],
    [[ok], 'the body must be a JSON object with model and messages'],
    [{ messages: [user] }, 'body.model is required'],
    [{ model: 'mock/fast' }, 'body.messages is required'],
    [{ ...ok, tools: [] }, 'body.tools is not a supported field'],
    [{ ...ok, model: '' }, 'body.model must be a string of 1 to 200 characters'],
    [{ ...ok, model: 'x'.repeat(201) }, 'body.model must be a string of 1 to 200 characters'],
    [{ ...ok, model: 7 }, 'body.model must be a string of 1 to 200 characters'],
    [{ ...ok, messages: [] }, 'body.messages must be an array of 1 to 1000 messages'],
    [{ ...ok, messages: Array(1001).fill(user) }, 'body.messages must be an array of 1 to 1000 messages'],
    [{ ...ok, messages: [user, 'hi'] }, 'body.messages[1] must be an object'],
    [
      { ...ok, messages: [{ role: 'robot', content: 'x' }] },
      'body.messages[0].role must be one of "system", "developer", "user", "assistant"',
    ],
    [{ ...ok, messages: [{ role: 'user' }] }, 'body.messages[0].content is required'],
    [
      { ...ok, messages: [{ role: 'user', content: 42 }] },
      'body.messages[0].content must be a string or an array of text parts',
    ],
    [
      { ...ok, messages: [{ role: 'user', content: [] }] },
      'body.messages[0].content must be a string or an array of text parts',
    ],
    [
      { ...ok, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
      'body.messages[0].content[0].image_url is not a supported field',
    ],
    [
      { ...ok, messages: [{ role: 'user', content: [{ type: 'image', text: 'x' }] }] },
      'body.messages[0].content[0].type must be "text"',
    ],
    [
      { ...ok, messages: [user, { role: 'user', content: 'x', tool_calls: [] }] },
      'body.messages[1].tool_calls is not a supported field',
    ],
    [
      { ...ok, messages: [{ role: 'user', content: 'x', name: 'n'.repeat(65) }] },
      'body.messages[0].name must be a string of at most 64 characters',
    ],
    [{ ...ok, temperature: 2.5 }, 'body.temperature must be a number from 0 to 2'],
    [{ ...ok, temperature: '1' }, 'body.temperature must be a number from 0 to 2'],
    [{ ...ok, temperature: null }, 'body.temperature must be a number from 0 to 2'],
    [{ ...ok, top_p: -0.1 }, 'body.top_p must be a number from 0 to 1'],
    [{ ...ok, max_tokens: 0 }, 'body.max_tokens must be an integer from 1 to 1000000'],
    [{ ...ok, max_tokens: 1.5 }, 'body.max_tokens must be an integer from 1 to 1000000'],
    [{ ...ok, max_completion_tokens: 1_000_001 }, 'body.max_completion_tokens must be an integer from 1'],
    [
      { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] },
      'body.stop must be a string or an array of at most 4 strings',
    ],
    [{ ...ok, stop: ['a', 3] }, 'body.stop[1] must be a string of at most 200 characters'],
    [{ ...ok, stop: 'x'.repeat(201) }, 'body.stop must be a string of at most 200 characters'],
    [{ ...ok, presence_penalty: 3 }, 'body.presence_penalty must be a number from -2 to 2'],
    [{ ...ok, seed: 0.5 }, 'body.seed must be an integer'],
    [{ ...ok, n: 2 }, 'body.n must be 1 (one choice per request)'],
    [{ ...ok, stream: 'yes' }, 'body.stream must be a boolean'],
    [{ ...ok, stream_options: { include_usage: 1 } }, 'body.stream_options.include_usage must be a boolean'],
    [{ ...ok, stream_options: { extra: true } }, 'body.stream_options.extra is not a supported field'],
    [
      { ...ok, stream_options: { include_usage: true } },
      'body.stream_options is only allowed when body.stream is true',
    ],
    [
      { ...ok, stream: false, stream_options: { include_usage: true } },
      'body.stream_options is only allowed when body.stream is true',
    ],
    [{ ...ok, user: 'u'.repeat(257) }, 'body.user must be a string of at most 256 characters'],
    [{ ...ok, metadata: [] }, 'body.metadata must be an object'],
  ])('rejects %j: %s', (body, message) => {
    expect(problem(body)).toContain(message);
  });
});

/** The mock provider's answers on the wire: OpenAI and Anthropic, JSON and SSE. */
import type { MockAnswer } from './content.ts';

export interface WireEvent {
  text: string;
  /** True for events that carry a token (these are paced). */
  token: boolean;
}

export function openaiCompletion(model: string, a: MockAnswer) {
  const content = a.tokens.join('');
  const completion = a.tokens.length;
  return {
    id: `chatcmpl-mock-${Date.now().toString(36)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: a.finishReason }],
    usage: {
      prompt_tokens: a.promptTokens,
      completion_tokens: completion,
      total_tokens: a.promptTokens + completion,
    },
  };
}

export function* openaiEvents(model: string, a: MockAnswer, includeUsage: boolean): Generator<WireEvent> {
  const base = {
    id: `chatcmpl-mock-${Date.now().toString(36)}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
  };
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  yield { text: chunk({ role: 'assistant', content: '' }, null), token: false };
  for (const token of a.tokens) yield { text: chunk({ content: token }, null), token: true };
  yield { text: chunk({}, a.finishReason), token: false };
  if (includeUsage) {
    const usage = {
      prompt_tokens: a.promptTokens,
      completion_tokens: a.tokens.length,
      total_tokens: a.promptTokens + a.tokens.length,
    };
    yield { text: `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`, token: false };
  }
  yield { text: 'data: [DONE]\n\n', token: false };
}

export function anthropicMessage(model: string, a: MockAnswer) {
  return {
    id: `msg_mock_${Date.now().toString(36)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: a.tokens.join('') }],
    stop_reason: a.finishReason === 'length' ? 'max_tokens' : 'end_turn',
    usage: { input_tokens: a.promptTokens, output_tokens: a.tokens.length },
  };
}

export function* anthropicEvents(model: string, a: MockAnswer): Generator<WireEvent> {
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  yield {
    text: ev('message_start', {
      message: {
        id: `msg_mock_${Date.now().toString(36)}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        usage: { input_tokens: a.promptTokens, output_tokens: 0 },
      },
    }),
    token: false,
  };
  yield {
    text: ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    token: false,
  };
  for (const token of a.tokens) {
    yield {
      text: ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: token } }),
      token: true,
    };
  }
  yield { text: ev('content_block_stop', { index: 0 }), token: false };
  yield {
    text: ev('message_delta', {
      delta: { stop_reason: a.finishReason === 'length' ? 'max_tokens' : 'end_turn' },
      usage: { output_tokens: a.tokens.length },
    }),
    token: false,
  };
  yield { text: ev('message_stop', {}), token: false };
}

/** Pure translation pieces: OpenAI -> Anthropic requests, stop reasons, and the SSE reader. */
import { describe, expect, it } from 'vitest';
import { fromStopReason } from '../../src/platform/providers/anthropic.ts';
import { toAnthropic } from '../../src/platform/providers/index.ts';
import { readSse } from '../../src/platform/providers/sse.ts';

describe('toAnthropic', () => {
  it('moves system and developer messages to `system` and merges same-role turns', () => {
    const body = toAnthropic(
      'claude-x',
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'Use English.' },
        { role: 'user', content: 'Hi' },
        { role: 'user', content: [{ type: 'text', text: 'there' }] },
        { role: 'assistant', content: 'Hello' },
      ],
      { temperature: 1.7, top_p: 0.9, stop: 'END' },
      true,
    );
    expect(body).toEqual({
      model: 'claude-x',
      system: 'Be brief.\n\nUse English.',
      messages: [
        { role: 'user', content: 'Hi\n\nthere' },
        { role: 'assistant', content: 'Hello' },
      ],
      max_tokens: 4096,
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ['END'],
      stream: true,
    });
  });

  it('passes max_tokens and omits what was not given', () => {
    const body = toAnthropic('m', [{ role: 'user', content: 'x' }], { max_tokens: 12 }, false);
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 12 });
  });

  it('maps stop reasons to OpenAI finish reasons', () => {
    expect(
      ['end_turn', 'stop_sequence', 'max_tokens', 'tool_use', 'refusal', null].map(fromStopReason),
    ).toEqual(['stop', 'stop', 'length', 'tool_calls', 'content_filter', 'stop']);
  });
});

describe('readSse', () => {
  async function* chunks(parts: string[]) {
    for (const p of parts) yield Buffer.from(p);
  }

  it('reassembles events split across chunks, with names, comments and CRLF', async () => {
    const events = [];
    for await (const e of readSse(
      chunks([
        'event: ping\r\ndata: {"a"',
        ':1}\r\n\r\n: comment\n\nda',
        'ta: line1\ndata: line2\n\ndata: [DONE]',
      ]),
    )) {
      events.push(e);
    }
    expect(events).toEqual([
      { event: 'ping', data: '{"a":1}' },
      { event: undefined, data: 'line1\nline2' },
      { event: undefined, data: '[DONE]' },
    ]);
  });
});

/**
 * Anthropic Messages API, translated to and from the OpenAI shape.
 *
 * Request: system and developer messages become the top-level `system`; `max_tokens` is required
 * upstream (default 4096); temperature is capped at 1 (Anthropic's range); `stop` becomes
 * `stop_sequences`. Answer: text blocks are joined; `stop_reason` maps to OpenAI's finish reasons;
 * streamed `content_block_delta` text becomes deltas, `message_delta` the finish reason and usage.
 */
import { type HttpClients, statusError, UpstreamFailedError } from '../../perf/http/index.ts';
import { readSse } from './sse.ts';
import {
  type ChatMessage,
  type Completion,
  type Delta,
  type FinishReason,
  type Provider,
  textOf,
} from './types.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
const DEFAULT_MAX_TOKENS = 4096;

export interface AnthropicOptions {
  name?: string;
  /** e.g. `https://api.anthropic.com` (the adapter adds `/v1/messages`). */
  baseUrl: string;
  apiKey?: string | undefined;
  models: readonly string[];
  http: HttpClients;
}

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** OpenAI request -> Anthropic Messages request body. */
export function toAnthropic(
  model: string,
  messages: ChatMessage[],
  params: { temperature?: number; top_p?: number; max_tokens?: number; stop?: string | string[] },
  stream: boolean,
): Record<string, unknown> {
  const system: string[] = [];
  const out: AnthropicMessage[] = [];
  for (const m of messages) {
    const text = textOf(m.content);
    if (m.role === 'system' || m.role === 'developer') {
      system.push(text);
      continue;
    }
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const prev = out.at(-1);
    // Anthropic wants alternating turns: consecutive same-role messages are merged.
    if (prev !== undefined && prev.role === role) prev.content += `\n\n${text}`;
    else out.push({ role, content: text });
  }
  const body: Record<string, unknown> = {
    model,
    messages: out,
    max_tokens: params.max_tokens ?? DEFAULT_MAX_TOKENS,
  };
  if (system.length > 0) body.system = system.join('\n\n');
  if (params.temperature !== undefined) body.temperature = Math.min(1, params.temperature);
  if (params.top_p !== undefined) body.top_p = params.top_p;
  if (params.stop !== undefined)
    body.stop_sequences = Array.isArray(params.stop) ? params.stop : [params.stop];
  if (stream) body.stream = true;
  return body;
}

export function fromStopReason(reason: unknown): FinishReason {
  if (reason === 'max_tokens') return 'length';
  if (reason === 'tool_use') return 'tool_calls';
  if (reason === 'refusal') return 'content_filter';
  return 'stop';
}

interface MessageResponse {
  content?: { type: string; text?: string }[];
  stop_reason?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number };
}

interface StreamEvent {
  type?: string;
  message?: { usage?: { input_tokens?: number; output_tokens?: number } };
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: { input_tokens?: number; output_tokens?: number };
  error?: { type?: string; message?: string };
}

async function errorDetail(body: { text(): Promise<string> }): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await body.text()) as { error?: { message?: string } };
    return parsed.error?.message;
  } catch {
    return undefined;
  }
}

export function createAnthropic(options: AnthropicOptions): Provider {
  const name = options.name ?? 'anthropic';
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const upstream = options.http.upstream(name, base.origin);
  const path = `${base.pathname}v1/messages`;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
  };
  if (options.apiKey) headers['x-api-key'] = options.apiKey;

  async function send(
    model: string,
    messages: ChatMessage[],
    params: object,
    signal: AbortSignal,
    stream: boolean,
  ) {
    const res = await upstream.request({
      method: 'POST',
      path,
      headers,
      body: JSON.stringify(toAnthropic(model, messages, params, stream)),
      signal,
    });
    if (res.statusCode !== 200)
      throw statusError(name, res.statusCode, res.headers, await errorDetail(res.body));
    return res;
  }

  return {
    name,
    models: options.models,
    async complete(request): Promise<Completion> {
      const res = await send(request.model, request.messages, request.params, request.signal, false);
      const json = (await res.body.json().catch((err: unknown) => {
        throw Object.assign(
          new UpstreamFailedError(`${name} sent an answer that is not JSON`, { cause: err }),
          {
            failureKind: 'server',
          },
        );
      })) as MessageResponse;
      const content = (json.content ?? [])
        .filter((b) => b.type === 'text')
        .map((b) => b.text ?? '')
        .join('');
      const prompt = json.usage?.input_tokens ?? 0;
      const completion = json.usage?.output_tokens ?? 0;
      return {
        content,
        finishReason: fromStopReason(json.stop_reason),
        usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      };
    },
    async stream(request) {
      const res = await send(request.model, request.messages, request.params, request.signal, true);
      return (async function* (): AsyncGenerator<Delta> {
        let prompt = 0;
        for await (const sse of readSse(res.body)) {
          let event: StreamEvent;
          try {
            event = JSON.parse(sse.data) as StreamEvent;
          } catch {
            throw new UpstreamFailedError(`${name} sent a stream event that is not JSON`);
          }
          switch (event.type ?? sse.event) {
            case 'message_start':
              prompt = event.message?.usage?.input_tokens ?? 0;
              break;
            case 'content_block_delta':
              if (event.delta?.type === 'text_delta' && event.delta.text) yield { content: event.delta.text };
              break;
            case 'message_delta': {
              const completion = event.usage?.output_tokens ?? 0;
              yield {
                finishReason: fromStopReason(event.delta?.stop_reason),
                usage: {
                  prompt_tokens: prompt,
                  completion_tokens: completion,
                  total_tokens: prompt + completion,
                },
              };
              break;
            }
            case 'message_stop':
              return;
            case 'error':
              throw new UpstreamFailedError(
                `${name} failed mid-stream: ${event.error?.message ?? 'unknown error'}`,
              );
          }
        }
      })();
    },
  };
}

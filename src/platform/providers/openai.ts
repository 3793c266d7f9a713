/**
 * OpenAI-compatible upstream (OpenAI, vLLM, Ollama, LM Studio, the mock provider): the request is
 * already in its format, so the adapter only swaps the model id and reads the answer.
 */
import { type HttpClients, statusError, UpstreamFailedError } from '../../perf/http/index.ts';
import { readSse } from './sse.ts';
import {
  type Completion,
  type Delta,
  finishReason,
  type Provider,
  type ProviderRequest,
  type Usage,
} from './types.ts';

export interface OpenAiCompatibleOptions {
  name: string;
  /** Base URL including the version path, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  apiKey?: string | undefined;
  models: readonly string[];
  http: HttpClients;
}

interface ChoiceMessage {
  choices?: {
    message?: { content?: string | null };
    delta?: { content?: string | null };
    finish_reason?: string | null;
  }[];
  usage?: Partial<Usage> | null;
  error?: { message?: string };
}

function usageOf(raw: Partial<Usage> | null | undefined): Usage | undefined {
  if (raw == null) return undefined;
  const prompt = raw.prompt_tokens ?? 0;
  const completion = raw.completion_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: raw.total_tokens ?? prompt + completion,
  };
}

async function errorDetail(body: { text(): Promise<string> }): Promise<string | undefined> {
  try {
    const text = await body.text();
    const parsed = JSON.parse(text) as { error?: { message?: string } | string };
    if (typeof parsed.error === 'string') return parsed.error;
    return parsed.error?.message ?? text.slice(0, 300);
  } catch {
    return undefined;
  }
}

export function createOpenAiCompatible(options: OpenAiCompatibleOptions): Provider {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const upstream = options.http.upstream(options.name, base.origin);
  const path = `${base.pathname}chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  async function send(request: ProviderRequest, stream: boolean) {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: request.messages,
      ...request.params,
    };
    if (stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    const res = await upstream.request({
      method: 'POST',
      path,
      headers: stream ? { ...headers, accept: 'text/event-stream' } : headers,
      body: JSON.stringify(body),
      signal: request.signal,
    });
    if (res.statusCode !== 200) {
      throw statusError(options.name, res.statusCode, res.headers, await errorDetail(res.body));
    }
    return res;
  }

  return {
    name: options.name,
    models: options.models,
    async complete(request) {
      const res = await send(request, false);
      let json: ChoiceMessage;
      try {
        json = (await res.body.json()) as ChoiceMessage;
      } catch (err) {
        throw Object.assign(
          new UpstreamFailedError(`${options.name} sent an answer that is not JSON`, { cause: err }),
          {
            failureKind: 'server',
          },
        );
      }
      const choice = json.choices?.[0];
      const completion: Completion = {
        content: choice?.message?.content ?? '',
        finishReason: finishReason(choice?.finish_reason),
        usage: usageOf(json.usage) ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      };
      return completion;
    },
    async stream(request) {
      const res = await send(request, true);
      const name = options.name;
      return (async function* (): AsyncGenerator<Delta> {
        for await (const event of readSse(res.body)) {
          if (event.data === '[DONE]') return;
          let json: ChoiceMessage;
          try {
            json = JSON.parse(event.data) as ChoiceMessage;
          } catch {
            throw new UpstreamFailedError(`${name} sent a stream event that is not JSON`);
          }
          if (json.error !== undefined) {
            throw new UpstreamFailedError(
              `${name} failed mid-stream: ${json.error.message ?? 'unknown error'}`,
            );
          }
          const choice = json.choices?.[0];
          const delta: Delta = {};
          const content = choice?.delta?.content;
          if (typeof content === 'string' && content !== '') delta.content = content;
          if (choice?.finish_reason) delta.finishReason = finishReason(choice.finish_reason);
          const usage = usageOf(json.usage);
          if (usage !== undefined) delta.usage = usage;
          if (delta.content !== undefined || delta.finishReason !== undefined || delta.usage !== undefined)
            yield delta;
        }
      })();
    },
  };
}

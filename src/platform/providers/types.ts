/** The provider contract: an OpenAI-shaped request in, a completion or a stream of deltas out. */

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: Role;
  content: string | TextPart[] | null;
  name?: string;
}

/** Sampling parameters forwarded upstream (OpenAI names). */
export interface CompletionParams {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  stop?: string | string[];
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
}

export interface ProviderRequest {
  /** The model id at the provider (`gpt-4o-mini`, `fast`), without the `provider/` prefix. */
  model: string;
  messages: ChatMessage[];
  params: CompletionParams;
  /** Aborts the upstream call (client gone, per-attempt timeout). */
  signal: AbortSignal;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls';

export interface Completion {
  content: string;
  finishReason: FinishReason;
  usage: Usage;
}

/** One piece of a streamed answer; the last piece carries `finishReason`, usage may come with it or after. */
export interface Delta {
  content?: string;
  finishReason?: FinishReason;
  usage?: Usage;
}

export interface Provider {
  /** `mock`, `openai`, `anthropic`: the prefix of its model names. */
  readonly name: string;
  /** Model ids at the provider that Versus routes to. */
  readonly models: readonly string[];
  complete(request: ProviderRequest): Promise<Completion>;
  /**
   * Resolves once the upstream has accepted the call (status 200, headers in): failures before that
   * point reject here, so they can be retried; the iterable then yields the deltas.
   */
  stream(request: ProviderRequest): Promise<AsyncIterable<Delta>>;
}

/** Text of a message's content, parts joined. */
export function textOf(content: ChatMessage['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of content) out += part.text;
  return out;
}

export function finishReason(raw: unknown): FinishReason {
  return raw === 'length' || raw === 'content_filter' || raw === 'tool_calls' ? raw : 'stop';
}

/** OpenAI's chat.completion.chunk stream, written straight to the socket. */
import type { ServerResponse } from 'node:http';
import type { Usage } from '../providers/index.ts';
import type { CachedCompletion } from './cache.ts';

export class ChunkWriter {
  readonly #res: ServerResponse;
  readonly #prefix: string;
  readonly #head: string;

  constructor(res: ServerResponse, id: string, model: string, created: number) {
    this.#res = res;
    this.#head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)}`;
    this.#prefix = `data: ${this.#head},"choices":[{"index":0,"delta":`;
  }

  get closed(): boolean {
    return this.#res.destroyed || this.#res.writableEnded;
  }

  role(): void {
    this.#res.write(`${this.#prefix}{"role":"assistant","content":""},"finish_reason":null}]}\n\n`);
  }

  content(text: string): void {
    this.#res.write(`${this.#prefix}{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`);
  }

  finish(reason: string): void {
    this.#res.write(`${this.#prefix}{},"finish_reason":${JSON.stringify(reason)}}]}\n\n`);
  }

  usage(usage: Usage): void {
    this.#res.write(`data: ${this.#head},"choices":[],"usage":${JSON.stringify(usage)}}\n\n`);
  }

  /** An error after the stream started: OpenAI clients read `error` from a data event. */
  error(code: string, message: string): void {
    this.#res.write(`data: ${JSON.stringify({ error: { code, message } })}\n\n`);
  }

  done(): void {
    this.#res.end('data: [DONE]\n\n');
  }

  /** Replays a cached answer as a stream. */
  replay(cached: CachedCompletion, includeUsage: boolean): void {
    this.role();
    const pieces = cached.deltas ?? (cached.content === '' ? [] : [cached.content]);
    for (const piece of pieces) this.content(piece);
    this.finish(cached.finishReason);
    if (includeUsage) this.usage(cached.usage);
    this.done();
  }
}

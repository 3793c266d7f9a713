/**
 * A Versus server on a real socket with its in-process mock provider, for gateway tests. Each test
 * configures its own mock model (and so its own breaker), so tests never share state.
 */
import type { FastifyInstance } from 'fastify';
import type { CompletionRecord, GatewayHooks } from '../../src/platform/gateway/index.ts';
import type { MockModelConfig, MockProvider } from '../../src/platform/providers/index.ts';
import { testApp } from '../helpers/app.ts';

export interface Gateway {
  app: FastifyInstance;
  url: string;
  mock: MockProvider;
  records: CompletionRecord[];
  logs: () => string;
  /** A fresh mock model named `name-<n>` with the given settings; returns its `mock/...` id. */
  model(name: string, config?: Partial<MockModelConfig>): string;
  post(body: object, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
  close(): Promise<void>;
}

let counter = 0;

export async function startGateway(
  env: Record<string, string> = {},
  hooks: GatewayHooks = {},
): Promise<Gateway> {
  const records: CompletionRecord[] = [];
  const { app, logs } = await testApp(env, (a) => {
    if (hooks.route !== undefined) a.versus.gatewayHooks.route = hooks.route;
    a.versus.gatewayHooks.record = (r) => {
      records.push(r);
      hooks.record?.(r);
    };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const mock = app.versus.providers.mock;
  if (mock === undefined) throw new Error('the in-process mock provider did not start');
  return {
    app,
    url: address,
    mock,
    records,
    logs,
    model(name, config = {}) {
      const id = `${name}-${++counter}`;
      mock.configure(id, { latencyMs: 5, jitterMs: 0, ttftMs: 5, tokensPerSecond: 0, ...config });
      return `mock/${id}`;
    },
    post(body, headers = {}, signal) {
      return fetch(`${address}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    },
    close: () => app.close(),
  };
}

export function chat(model: string, content = 'hello', extra: object = {}): object {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

/** Calls made to a mock model (by its `mock/...` id). */
export function calls(gw: Gateway, model: string): number {
  return gw.mock.stats()[model.slice('mock/'.length)]?.calls ?? 0;
}

export async function sseEvents(res: Response): Promise<{ data: string[]; arrivals: number[] }> {
  const data: string[] = [];
  const arrivals: number[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const now = performance.now();
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line.startsWith('data: ')) {
        data.push(line.slice(6));
        arrivals.push(now);
      }
      end = buffer.indexOf('\n\n');
    }
  }
  return { data, arrivals };
}

/** Content of a streamed answer, from its data events. */
export function streamedText(data: string[]): string {
  return data
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as { choices: { delta?: { content?: string } }[] })
    .map((c) => c.choices[0]?.delta?.content ?? '')
    .join('');
}

/**
 * The mock provider: a real HTTP server speaking the OpenAI Chat Completions protocol (and the
 * Anthropic Messages protocol, so that adapter is tested over a socket too), with deterministic
 * answers and per-model latency, TTFT, pace, errors and hangs that tests and load runs change at
 * run time:
 *
 *   GET  /v1/models                  the models
 *   POST /v1/chat/completions        OpenAI format, `stream: true` for SSE
 *   POST /v1/messages                Anthropic format, `stream: true` for SSE
 *   GET  /admin/models               every model's settings
 *   PUT  /admin/models/:model        change settings (a partial object; creates the model if new)
 *   GET  /admin/stats                calls, aborted calls and injected failures per model
 *   POST /admin/reset                default models and zeroed stats
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answer } from './content.ts';
import { DEFAULT_MODELS, type MockModelConfig, patchConfig } from './models.ts';
import { anthropicEvents, anthropicMessage, openaiCompletion, openaiEvents } from './wire.ts';

export interface MockStats {
  calls: number;
  streams: number;
  aborted: number;
  failed: number;
  hung: number;
  completed: number;
}

export interface MockProvider {
  /** Base URL of the OpenAI-compatible API, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  /** Origin, e.g. `http://127.0.0.1:41234` (the Anthropic API lives under `/v1/messages`). */
  readonly origin: string;
  readonly port: number;
  models(): Record<string, MockModelConfig>;
  configure(model: string, patch: Partial<MockModelConfig>): MockModelConfig;
  stats(): Record<string, MockStats>;
  reset(): void;
  close(): Promise<void>;
}

export interface MockProviderOptions {
  /** @default 0 (an ephemeral port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Replaces the default models. */
  models?: Record<string, MockModelConfig>;
}

type Protocol = 'openai' | 'anthropic';

interface ParsedCall {
  model: string;
  prompt: string;
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
}

function copyModels(models: Record<string, MockModelConfig>): Map<string, MockModelConfig> {
  return new Map(Object.entries(models).map(([k, v]) => [k, { ...v, errorStatuses: [...v.errorStatuses] }]));
}

function jittered(mean: number, jitter: number): number {
  return Math.max(0, mean + (Math.random() * 2 - 1) * jitter);
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function errorBody(protocol: Protocol, status: number, message: string) {
  return protocol === 'anthropic'
    ? { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message } }
    : { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code: status } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseCall(protocol: Protocol, body: Record<string, unknown>): ParsedCall | string {
  if (typeof body.model !== 'string') return 'model is required';
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return 'messages must be a non-empty array';
  const parts: string[] = [];
  if (protocol === 'anthropic' && typeof body.system === 'string') parts.push(`system: ${body.system}`);
  for (const m of body.messages as { role?: string; content?: unknown }[]) {
    const content =
      typeof m.content === 'string'
        ? m.content
        : Array.isArray(m.content)
          ? (m.content as { text?: string }[]).map((p) => p.text ?? '').join('')
          : '';
    parts.push(`${m.role}: ${content}`);
  }
  const max = protocol === 'anthropic' ? body.max_tokens : (body.max_completion_tokens ?? body.max_tokens);
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  return {
    model: body.model,
    prompt: parts.join('\n'),
    maxTokens: typeof max === 'number' ? max : undefined,
    stream: body.stream === true,
    includeUsage: options?.include_usage === true,
  };
}

export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const initial = options.models ?? DEFAULT_MODELS;
  let models = copyModels(initial);
  let stats = new Map<string, MockStats>();
  const timers = new Set<NodeJS.Timeout>();

  function statsOf(model: string): MockStats {
    let s = stats.get(model);
    if (s === undefined) {
      s = { calls: 0, streams: 0, aborted: 0, failed: 0, hung: 0, completed: 0 };
      stats.set(model, s);
    }
    return s;
  }

  function later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  }

  function cancel(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    timers.delete(timer);
  }

  async function completion(protocol: Protocol, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch {
      return json(res, 400, errorBody(protocol, 400, 'the body is not valid JSON'));
    }
    if (protocol === 'anthropic' && req.headers['anthropic-version'] === undefined) {
      return json(res, 400, errorBody(protocol, 400, 'the anthropic-version header is required'));
    }
    const call = parseCall(protocol, body);
    if (typeof call === 'string') return json(res, 400, errorBody(protocol, 400, call));
    const config = models.get(call.model);
    if (config === undefined) {
      return json(res, 404, errorBody(protocol, 404, `the model ${call.model} does not exist`));
    }
    const s = statsOf(call.model);
    s.calls++;
    if (call.stream) s.streams++;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    res.on('close', () => {
      cancel(timer);
      if (!done) s.aborted++;
    });
    const finish = () => {
      done = true;
      s.completed++;
    };

    const forced = config.failNext > 0;
    if (forced || Math.random() < config.errorRate) {
      if (forced) config.failNext--;
      const statuses = config.errorStatuses;
      const status = forced ? statuses[0]! : statuses[Math.floor(Math.random() * statuses.length)]!;
      timer = later(jittered(config.latencyMs, config.jitterMs) / 4, () => {
        done = true;
        s.failed++;
        const headers: Record<string, string> =
          config.retryAfterS === undefined ? {} : { 'retry-after': String(config.retryAfterS) };
        json(res, status, errorBody(protocol, status, `injected failure (${status})`), headers);
      });
      return;
    }
    if (Math.random() < config.timeoutRate) {
      s.hung++;
      return; // never answers; the close handler counts the caller giving up
    }

    const result = answer(call.model, call.prompt, call.maxTokens, config.answerTokens);
    if (!call.stream) {
      timer = later(jittered(config.latencyMs, config.jitterMs), () => {
        finish();
        json(
          res,
          200,
          protocol === 'anthropic'
            ? anthropicMessage(call.model, result)
            : openaiCompletion(call.model, result),
        );
      });
      return;
    }
    timer = later(jittered(config.ttftMs, config.jitterMs), () => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const events =
        protocol === 'anthropic'
          ? anthropicEvents(call.model, result)
          : openaiEvents(call.model, result, call.includeUsage);
      // Pace: one token per 1000/tps ms; below 2 ms per token, several tokens share one tick.
      const perToken = config.tokensPerSecond > 0 ? 1000 / config.tokensPerSecond : 0;
      const batch = perToken === 0 ? Number.POSITIVE_INFINITY : Math.max(1, Math.ceil(2 / perToken));
      const step = () => {
        let n = 0;
        for (;;) {
          const next = events.next();
          if (next.done) {
            finish();
            res.end();
            return;
          }
          res.write(next.value.text);
          if (next.value.token && ++n >= batch) break;
        }
        timer = later(perToken * batch, step);
      };
      step();
    });
  }

  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const route = `${req.method} ${url}`;
    if (route === 'POST /v1/chat/completions') return void completion('openai', req, res);
    if (route === 'POST /v1/messages') return void completion('anthropic', req, res);
    if (route === 'GET /v1/models') {
      return json(res, 200, {
        object: 'list',
        data: [...models.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: 'mock' })),
      });
    }
    if (route === 'GET /health') return json(res, 200, { status: 'ok' });
    if (route === 'GET /admin/models') return json(res, 200, Object.fromEntries(models));
    if (route === 'GET /admin/stats') return json(res, 200, Object.fromEntries(stats));
    if (route === 'POST /admin/reset') {
      provider.reset();
      return json(res, 200, { reset: true });
    }
    if (req.method === 'PUT' && url.startsWith('/admin/models/')) {
      const model = decodeURIComponent(url.slice('/admin/models/'.length));
      void readBody(req).then((text) => {
        let patch: unknown;
        try {
          patch = JSON.parse(text);
        } catch {
          return json(res, 400, { error: { message: 'the body is not valid JSON' } });
        }
        const next = patchConfig(models.get(model) ?? DEFAULT_MODELS.fast!, patch);
        if (typeof next === 'string') return json(res, 400, { error: { message: next } });
        models.set(model, next);
        return json(res, 200, next);
      });
      return;
    }
    json(res, 404, { error: { message: `no route for ${route}` } });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const origin = `http://${options.host ?? '127.0.0.1'}:${port}`;

  const provider: MockProvider = {
    url: `${origin}/v1`,
    origin,
    port,
    models: () => Object.fromEntries(models),
    configure(model, patch) {
      const next = patchConfig(models.get(model) ?? DEFAULT_MODELS.fast!, patch);
      if (typeof next === 'string') throw new Error(`mock provider: ${next}`);
      models.set(model, next);
      return next;
    },
    stats: () => Object.fromEntries([...stats].map(([k, v]) => [k, { ...v }])),
    reset() {
      models = copyModels(initial);
      stats = new Map();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return provider;
}

/**
 * POST /v1/chat/completions: validate, route (experiment hook), answer from the cache, follow an
 * identical call in flight, or call the model chain; reply as JSON or as an SSE stream; record.
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { AppError } from '../../perf/errors.ts';
import { histogramObserver, type MetricsRegistry } from '../../perf/metrics/index.ts';
import type { Resilience, ServiceOptions } from '../../perf/resilience/index.ts';
import {
  type Compression,
  type JsonBodyMemo,
  type LaneAnswer,
  type LaneContext,
  type PrecompressedBodies,
  precompressedBodies,
  sendError,
  toAppError,
} from '../../perf/web/index.ts';
import type { Catalogue, ChatMessage, CompletionParams, Usage } from '../providers/index.ts';
import {
  type CachedCompletion,
  type CacheMode,
  Coalescer,
  cacheKey,
  cacheModeOf,
  isCachedCompletion,
  LeaderGone,
  type ResponseStore,
} from './cache.ts';
import { ClientGone, ClientWatch } from './client-watch.ts';
import { UnknownModelError } from './errors.ts';
import type { CompletionRecord, GatewayHooks, RouteDecision } from './hooks.ts';
import { type ChatCompletionRequest, validateChatRequest } from './schema.ts';
import { ChunkWriter } from './sse.ts';
import { type CallInput, UpstreamCaller } from './upstream.ts';

export interface ChatHandlerOptions {
  catalogue: Catalogue;
  resilience: Resilience;
  hooks?: GatewayHooks | undefined;
  cache?: ResponseStore | undefined;
  cacheTtlMs: number;
  cacheEnabled: boolean;
  fallbacks: Readonly<Record<string, readonly string[]>>;
  serviceOptions?: ((model: string) => ServiceOptions | undefined) | undefined;
  metrics?: MetricsRegistry | undefined;
  /** Serialised and compressed cache hits, per cached value. @default a private store */
  bodies?: PrecompressedBodies | undefined;
  /** The route's memo of parsed bodies: the front lane finds repeated bodies in it. */
  memo?: JsonBodyMemo | undefined;
  /** Where the front lane's answers report a failing record hook. */
  log?: FastifyBaseLogger | undefined;
}

export interface ChatHandler {
  /** The Fastify route handler. */
  handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined;
  /** The front lane's answer for a body: a fresh cache hit in memory, or undefined (the route takes it). */
  lookup(text: string, context: LaneContext): LaneAnswer | undefined;
}

const PARAM_KEYS = [
  'temperature',
  'top_p',
  'max_tokens',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
] as const;

interface Call {
  request: FastifyRequest;
  reply: FastifyReply;
  body: ChatCompletionRequest;
  record: CompletionRecord;
  /** The model asked for (or routed to); the provider call tries it, then `fallbacks` in order. */
  model: string;
  fallbacks: readonly string[];
  messages: ChatMessage[];
  params: CompletionParams;
  key: string | undefined;
  mode: CacheMode;
  ttlMs: number;
  watch: ClientWatch;
  timing: { upstreamMs: number };
}

function upstreamInput(call: Call): CallInput {
  return {
    chain: [call.model, ...call.fallbacks],
    messages: call.messages,
    params: call.params,
    signal: call.watch.signal,
    timing: call.timing,
  };
}

function paramsOf(body: ChatCompletionRequest, extra: Record<string, unknown> | undefined): CompletionParams {
  const params: Record<string, unknown> = {};
  for (const k of PARAM_KEYS) {
    const v = extra?.[k] ?? body[k];
    if (v !== undefined) params[k] = v;
  }
  if (params.max_tokens === undefined && body.max_completion_tokens !== undefined) {
    params.max_tokens = body.max_completion_tokens;
  }
  return params as CompletionParams;
}

type Served = 'cache' | 'upstream' | 'error';

/** The timing of a request that failed before it had a call: nothing was spent upstream. */
const NO_UPSTREAM = Object.freeze({ upstreamMs: 0 });

const NO_FALLBACKS: readonly string[] = Object.freeze([]);

function completionJson(id: string, c: CachedCompletion): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created: c.created,
    model: c.model,
    choices: [
      { index: 0, message: { role: 'assistant', content: c.content }, finish_reason: c.finishReason },
    ],
    usage: c.usage,
  });
}

/** Marks `record` as served by `model`, a fallback for the model asked for, when it was one. */
/** A request's record before anything is known of its answer (a 200 until told otherwise). */
function newRecord(requestId: string, model: string, stream: boolean): CompletionRecord {
  return {
    requestId,
    model,
    status: 200,
    latencyMs: 0,
    promptTokens: 0,
    completionTokens: 0,
    cacheHit: false,
    fallback: false,
    stream,
  };
}

function markFallback(record: CompletionRecord, model: string, fallbackFrom: string | undefined): void {
  if (fallbackFrom === undefined) return;
  record.fallback = true;
  record.fallbackModel = model;
}

/** Fills `record` for an answer from the cache; returns the model it fell back from, if any. */
function recordHit(record: CompletionRecord, value: CachedCompletion): string | undefined {
  record.cacheHit = true;
  record.promptTokens = value.usage.prompt_tokens;
  record.completionTokens = value.usage.completion_tokens;
  const fallbackFrom = (value as { fallbackFrom?: string }).fallbackFrom;
  markFallback(record, value.model, fallbackFrom);
  return fallbackFrom;
}

/**
 * A validated request body and what is derived from it: its parameters and the last cache key
 * made of it. A memoised body (the JSON body memo hands out the same frozen object for the same
 * text) keeps its record, so a repeated body is neither validated nor derived again; it cannot
 * have changed since.
 */
interface Known {
  body: ChatCompletionRequest;
  params: CompletionParams;
  tenant: string | undefined;
  model: string | undefined;
  key: string | undefined;
}

const known = new WeakMap<object, Known>();

/** A routing decision the front lane asked for, handed to the route so the hook runs once. */
const kRouted = Symbol('versus.routed');
type LaneRaw = IncomingMessage & { [kRouted]?: unknown };

/** The record of a body seen before, else the body validated (throws INVALID_REQUEST) and recorded. */
function knownBody(raw: unknown): Known {
  if (typeof raw === 'object' && raw !== null) {
    const found = known.get(raw);
    if (found !== undefined) return found;
  }
  const body = validateChatRequest(raw);
  const facts: Known = {
    body,
    params: Object.freeze(paramsOf(body, undefined)),
    tenant: undefined,
    model: undefined,
    key: undefined,
  };
  // Only a frozen body is kept: nothing can change it under its record.
  if (Object.isFrozen(body)) known.set(body, facts);
  return facts;
}

/**
 * The response cache key. When routing changed nothing the key depends on the body, tenant and
 * model only, so a body known before reuses its key instead of serialising and hashing again.
 */
function keyOf(
  tenant: string,
  model: string,
  facts: Known,
  decision: RouteDecision | undefined,
  messages: ChatMessage[],
  params: CompletionParams,
): string {
  if (decision?.systemPrompt !== undefined || decision?.params !== undefined) {
    return cacheKey(tenant, model, messages, params);
  }
  if (facts.key !== undefined && facts.tenant === tenant && facts.model === model) return facts.key;
  const key = cacheKey(tenant, model, messages, params);
  facts.tenant = tenant;
  facts.model = model;
  facts.key = key;
  return key;
}

export function createChatHandler(options: ChatHandlerOptions): ChatHandler {
  const caller = new UpstreamCaller(
    options.catalogue,
    options.resilience,
    options.serviceOptions ?? (() => undefined),
  );
  const coalescer = new Coalescer();
  const store = options.cacheEnabled ? options.cache : undefined;
  const hooks = options.hooks;
  const overheadSeconds = options.metrics?.histogram({
    name: 'gateway_overhead_seconds',
    help: 'Time a chat completion spent in Versus, provider time excluded (the x-gateway-overhead-ms header).',
    labelNames: ['served'] as const,
  });
  // One bound observer per label value: observe() with a label object hashes it on every call.
  const observeOverhead: Record<Served, ((seconds: number) => void) | undefined> = {
    cache: overheadSeconds && histogramObserver(overheadSeconds, { served: 'cache' }),
    upstream: overheadSeconds && histogramObserver(overheadSeconds, { served: 'upstream' }),
    error: overheadSeconds && histogramObserver(overheadSeconds, { served: 'error' }),
  };

  /** The overhead header value; also observed in gateway_overhead_seconds. */
  function overhead(reply: FastifyReply, timing: { upstreamMs: number }, served: Served): string {
    const ms = Math.max(0, reply.elapsedTime - timing.upstreamMs);
    observeOverhead[served]?.(ms / 1000);
    return ms.toFixed(3);
  }
  const bodies = options.bodies ?? precompressedBodies();

  async function cached(call: Call): Promise<CachedCompletion | undefined> {
    if (store === undefined || call.key === undefined || call.mode !== 'use') return undefined;
    try {
      const value = await store.get(call.key);
      return isCachedCompletion(value) ? value : undefined;
    } catch (err) {
      call.request.log.warn(
        { err: { message: (err as Error).message } },
        'response cache read failed; calling the provider',
      );
      return undefined;
    }
  }

  function remember(call: Call, value: CachedCompletion): void {
    if (store === undefined || call.key === undefined) return;
    // No tags: tagged entries leave the tiered cache's inline L1 hit path, and a hit is the hot path.
    store.set(call.key, value, { ttl: call.ttlMs }).catch((err: unknown) => {
      call.request.log.warn({ err: { message: (err as Error).message } }, 'response cache write failed');
    });
  }

  /** A fresh cached answer in memory, without a promise: the hot path of a cache hit. */
  function peeked(call: Call): CachedCompletion | undefined {
    if (store?.peek === undefined || call.key === undefined || call.mode !== 'use') return undefined;
    const value = store.peek(call.key);
    return isCachedCompletion(value) ? value : undefined;
  }

  /** A cached answer, a coalesced one, or undefined when this call must go upstream. */
  async function shared(call: Call): Promise<{ value: CachedCompletion; hit: boolean } | undefined> {
    const hit = await cached(call);
    if (hit !== undefined) return { value: hit, hit: true };
    if (call.key === undefined) return undefined;
    const pending = coalescer.follow(call.key);
    if (pending === undefined) return undefined;
    try {
      return { value: await pending, hit: false };
    } catch (err) {
      if (err instanceof LeaderGone) return undefined;
      throw err;
    }
  }

  function noteServed(call: Call, model: string, fallbackFrom: string | undefined): void {
    if (fallbackFrom === undefined) return;
    markFallback(call.record, model, fallbackFrom);
    call.reply.header('x-fallback-from', fallbackFrom);
  }

  /** Answers with a body made for this request, under its own completion id. */
  function replyOwnBody(call: Call, value: CachedCompletion): FastifyReply {
    return call.reply
      .type('application/json; charset=utf-8')
      .send(completionJson(`chatcmpl-${call.request.id}`, value));
  }

  /** The serialised body of a cached answer, made once per cached object. */
  function hitBody(value: CachedCompletion, requestId: string) {
    return bodies.of(value, () => completionJson(value.id ?? `chatcmpl-${requestId}`, value));
  }

  /**
   * Answers with a cached completion: the body serialised once per cached object and compressed
   * once per coding (outside experiments). A promise only when a coding must be made for the
   * first time.
   */
  function replyHit(call: Call, value: CachedCompletion): FastifyReply | Promise<FastifyReply> {
    const { reply, record } = call;
    const fallbackFrom = recordHit(record, value);
    if (fallbackFrom !== undefined) reply.header('x-fallback-from', fallbackFrom);
    reply.header('x-cache', 'HIT').header('x-gateway-overhead-ms', overhead(reply, call.timing, 'cache'));
    if (record.experimentId !== undefined) {
      // In an experiment each answer is an event that feedback names by the body's id: a hit
      // carries its own, not the id of the request that filled the cache (whose event feedback
      // would land on), so its body is made for it (and compressed, if at all, as a dynamic one).
      return replyOwnBody(call, value);
    }
    const body = hitBody(value, call.request.id);
    // Apps built without the compression plugin (some tests) send the body uncompressed.
    const compression = call.request.server.compression as Compression | undefined;
    if (compression === undefined) return reply.type(body.contentType).send(body.plain);
    return compression.send(call.request, reply, body);
  }

  async function replyJson(call: Call): Promise<void> {
    const { reply, record } = call;
    let served = await shared(call);
    if (served?.hit === true) {
      await replyHit(call, served.value);
      return;
    }
    const xcache: 'MISS' | 'BYPASS' = call.key === undefined ? 'BYPASS' : 'MISS';
    if (served !== undefined) {
      reply.header('x-coalesced', 'true');
      noteServed(call, served.value.model, (served.value as { fallbackFrom?: string }).fallbackFrom);
    } else {
      const lead = call.key === undefined ? undefined : coalescer.lead(call.key);
      try {
        const r = await caller.complete(upstreamInput(call));
        const value: CachedCompletion = {
          id: `chatcmpl-${call.request.id}`,
          model: r.model,
          content: r.value.content,
          finishReason: r.value.finishReason,
          usage: r.value.usage,
          created: Math.floor(Date.now() / 1000),
        };
        noteServed(call, r.model, r.fallbackFrom);
        lead?.resolve(
          r.fallbackFrom === undefined
            ? value
            : ({ ...value, fallbackFrom: r.fallbackFrom } as CachedCompletion),
        );
        // A fallback's answer is not cached under the asked-for model: it would outlive the outage.
        if (r.fallbackFrom === undefined) remember(call, value);
        served = { value, hit: false };
      } catch (err) {
        lead?.reject(call.watch.aborted ? new LeaderGone() : err);
        throw err;
      }
    }
    record.promptTokens = served.value.usage.prompt_tokens;
    record.completionTokens = served.value.usage.completion_tokens;
    reply.header('x-cache', xcache).header('x-gateway-overhead-ms', overhead(reply, call.timing, 'upstream'));
    replyOwnBody(call, served.value);
  }

  function openStream(call: Call, xcache: string, model: string): ChunkWriter {
    const { reply } = call;
    reply
      .header('x-cache', xcache)
      .header('x-gateway-overhead-ms', overhead(reply, call.timing, xcache === 'HIT' ? 'cache' : 'upstream'));
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    return new ChunkWriter(reply.raw, `chatcmpl-${call.request.id}`, model, Math.floor(Date.now() / 1000));
  }

  async function replyStream(call: Call): Promise<void> {
    const { record, body } = call;
    const includeUsage = body.stream_options?.include_usage === true;
    const served = await shared(call);
    if (served !== undefined) {
      record.cacheHit = served.hit;
      if (!served.hit) call.reply.header('x-coalesced', 'true');
      noteServed(call, served.value.model, (served.value as { fallbackFrom?: string }).fallbackFrom);
      const writer = openStream(call, served.hit ? 'HIT' : 'MISS', served.value.model);
      record.ttftMs = call.reply.elapsedTime;
      record.promptTokens = served.value.usage.prompt_tokens;
      record.completionTokens = served.value.usage.completion_tokens;
      writer.replay(served.value, includeUsage);
      return;
    }
    const lead = call.key === undefined ? undefined : coalescer.lead(call.key);
    let writer: ChunkWriter | undefined;
    try {
      const r = await caller.stream(upstreamInput(call));
      noteServed(call, r.model, r.fallbackFrom);
      writer = openStream(call, call.key === undefined ? 'BYPASS' : 'MISS', r.model);
      writer.role();
      const deltas: string[] = [];
      let finish: CachedCompletion['finishReason'] | undefined;
      let usage: Usage | undefined;
      for await (const delta of r.value) {
        if (delta.content !== undefined) {
          if (deltas.length === 0) record.ttftMs = call.reply.elapsedTime;
          deltas.push(delta.content);
          writer.content(delta.content);
        }
        if (delta.finishReason !== undefined) finish = delta.finishReason;
        if (delta.usage !== undefined) usage = delta.usage;
      }
      if (call.watch.aborted) throw call.watch.signal.reason;
      usage ??= { prompt_tokens: 0, completion_tokens: deltas.length, total_tokens: deltas.length };
      writer.finish(finish ?? 'stop');
      if (includeUsage) writer.usage(usage);
      writer.done();
      record.promptTokens = usage.prompt_tokens;
      record.completionTokens = usage.completion_tokens;
      const value: CachedCompletion = {
        id: `chatcmpl-${call.request.id}`,
        model: r.model,
        content: deltas.join(''),
        finishReason: finish ?? 'stop',
        usage,
        deltas,
        created: Math.floor(Date.now() / 1000),
      };
      lead?.resolve(
        r.fallbackFrom === undefined
          ? value
          : ({ ...value, fallbackFrom: r.fallbackFrom } as CachedCompletion),
      );
      if (r.fallbackFrom === undefined) remember(call, value);
    } catch (err) {
      lead?.reject(call.watch.aborted ? new LeaderGone() : err);
      if (writer === undefined || call.watch.aborted) throw call.watch.aborted ? new ClientGone() : err;
      // The stream already started: the error goes into it, then the stream ends.
      const appError = toAppError(err, call.request.id);
      call.request.log.warn(
        { err: { message: appError.message }, code: appError.code },
        'stream failed mid-way',
      );
      record.status = appError.status;
      record.errorCode = appError.code;
      if (!writer.closed) {
        writer.error(appError.code, appError.message);
        writer.done();
      }
    }
  }

  function recordSafely(log: FastifyBaseLogger | undefined, record: CompletionRecord): void {
    if (hooks?.record === undefined) return;
    try {
      hooks.record(record);
    } catch (err) {
      log?.error({ err }, 'gateway record hook threw; the record is lost');
    }
  }

  /** The call a routing decision makes of the request; throws UnknownModelError. */
  function callOf(
    request: FastifyRequest,
    reply: FastifyReply,
    facts: Known,
    record: CompletionRecord,
    decision: RouteDecision | undefined,
  ): Call {
    const body = facts.body;
    if (decision !== undefined) {
      if (decision.experimentId !== undefined) record.experimentId = decision.experimentId;
      if (decision.variant !== undefined) {
        record.variant = decision.variant;
        reply.header('x-variant', decision.variant);
      }
      if (decision.unit !== undefined) record.unit = decision.unit;
    }
    const model = decision?.model ?? body.model;
    record.model = model;
    if (options.catalogue.resolve(model) === undefined) {
      throw new UnknownModelError(
        decision?.model === undefined
          ? `body.model: ${JSON.stringify(model)} is not a model Versus can route to; GET /v1/models lists them`
          : `the experiment routes to ${JSON.stringify(model)}, which is not a model Versus can route to here`,
      );
    }
    const messages: ChatMessage[] =
      decision?.systemPrompt === undefined
        ? body.messages
        : [{ role: 'system', content: decision.systemPrompt }, ...body.messages];
    const params = decision?.params === undefined ? facts.params : paramsOf(body, decision.params);
    const mode: CacheMode = store === undefined ? 'bypass' : cacheModeOf(request.headers, params, decision);
    return {
      request,
      reply,
      body,
      record,
      model,
      fallbacks: decision?.fallbacks ?? options.fallbacks[model] ?? NO_FALLBACKS,
      messages,
      params,
      key:
        mode === 'bypass' ? undefined : keyOf(request.principal.id, model, facts, decision, messages, params),
      mode,
      ttlMs: decision?.cacheTtlMs ?? options.cacheTtlMs,
      watch: new ClientWatch(reply),
      timing: { upstreamMs: 0 },
    };
  }

  /** Records a failed request and answers it with its error, unless the client is gone or it was answered. */
  function fail(
    request: FastifyRequest,
    reply: FastifyReply,
    call: Call | undefined,
    record: CompletionRecord,
    err: unknown,
  ): void {
    if (err instanceof ClientGone || call?.watch.aborted === true) {
      record.status = 499;
      record.errorCode = 'CLIENT_CLOSED';
      return;
    }
    const appError: AppError = toAppError(err, request.id);
    record.status = appError.status;
    record.errorCode = appError.code;
    if (appError.status >= 500) {
      request.log.warn({ code: appError.code, err: { message: appError.message } }, 'completion failed');
    }
    if (!reply.sent) {
      reply.header('x-gateway-overhead-ms', overhead(reply, call?.timing ?? NO_UPSTREAM, 'error'));
      sendError(reply, appError);
    }
  }

  /** The end of every request: the client watch let go, the record completed and handed on. */
  function done(
    request: FastifyRequest,
    reply: FastifyReply,
    call: Call | undefined,
    record: CompletionRecord,
  ): void {
    call?.watch.dispose();
    record.latencyMs = reply.elapsedTime;
    recordSafely(request.log, record);
  }

  /**
   * The rest of a request that must wait: for an asynchronous routing decision (`routed`), for a
   * first compression of a cached answer (`sending`), or for the cache, a call in flight or the
   * provider.
   */
  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    facts: Known,
    record: CompletionRecord,
    routed: PromiseLike<RouteDecision | undefined> | undefined,
    ready: Call | undefined,
    sending?: Promise<unknown>,
  ): Promise<FastifyReply> {
    let call = ready;
    try {
      if (sending !== undefined) await sending;
      else {
        call ??= callOf(request, reply, facts, record, await routed);
        if (record.stream) await replyStream(call);
        else {
          // A call handed over ready has been looked up in memory already, and missed.
          const hit = ready === undefined ? peeked(call) : undefined;
          if (hit === undefined) await replyJson(call);
          else await replyHit(call, hit);
        }
      }
    } catch (err) {
      fail(request, reply, call, record, err);
    } finally {
      done(request, reply, call, record);
    }
    return reply;
  }

  /**
   * A cache hit in memory is answered synchronously, without an async function's promise or
   * Fastify's handling of one: the handler returns undefined after the reply is sent. Every other
   * request continues in `finish`.
   */
  function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined {
    const facts = knownBody(request.body);
    const body = facts.body;
    const record = newRecord(request.id, body.model, body.stream === true);
    let call: Call | undefined;
    try {
      // The front lane may have asked the hook already; it is not asked twice.
      const raw = request.raw as LaneRaw;
      let routed: unknown;
      if (raw[kRouted] !== undefined) {
        routed = raw[kRouted];
        raw[kRouted] = undefined;
      } else {
        // A hook that decides synchronously (no experiment named) costs no await.
        routed = hooks?.route?.({
          body,
          headers: request.headers,
          principalId: request.principal.id,
          requestId: request.id,
        });
      }
      if (typeof (routed as PromiseLike<unknown> | undefined)?.then === 'function') {
        return finish(
          request,
          reply,
          facts,
          record,
          routed as PromiseLike<RouteDecision | undefined>,
          undefined,
        );
      }
      call = callOf(request, reply, facts, record, routed as RouteDecision | undefined);
      const hit = record.stream ? undefined : peeked(call);
      if (hit === undefined) return finish(request, reply, facts, record, undefined, call);
      const sent = replyHit(call, hit);
      if (sent instanceof Promise) return finish(request, reply, facts, record, undefined, call, sent);
    } catch (err) {
      fail(request, reply, call, record, err);
    }
    done(request, reply, call, record);
    return undefined;
  }

  /**
   * The front lane's cache hit: what `handle` does for a request with a known body, no routing
   * decision and a fresh answer in memory, without Fastify's request and reply. Anything else (a
   * body not seen or not valid, a stream, an experiment, a cache miss) is left to the route, with
   * the routing decision if the hook made one.
   */
  function lookup(text: string, context: LaneContext): LaneAnswer | undefined {
    const memo = options.memo;
    if (memo === undefined || store?.peek === undefined) return undefined;
    const parsed = memo.get(text);
    const facts = typeof parsed === 'object' && parsed !== null ? known.get(parsed) : undefined;
    if (facts === undefined) return undefined;
    const body = facts.body;
    if (body.stream === true) return undefined;
    const routed = hooks?.route?.({
      body,
      headers: context.headers,
      principalId: context.principal.id,
      requestId: context.id,
    });
    if (routed !== undefined) {
      // The route awaits this decision, unless something answers before it does (the instance
      // starts shedding between the lane and Fastify's hooks, the client leaves): a rejection (an
      // unknown experiment) must not go unhandled then, which would end the process. (The rate
      // limit is decided before the lane routes, so a 429 never leaves a decision behind.)
      const pending = routed as Partial<PromiseLike<unknown>>;
      if (typeof pending.then === 'function') pending.then(undefined, ignore);
      (context.raw as LaneRaw)[kRouted] = routed;
      return undefined;
    }
    const model = body.model;
    if (options.catalogue.resolve(model) === undefined) return undefined;
    if (cacheModeOf(context.headers, facts.params, undefined) !== 'use') return undefined;
    const value = store.peek(
      keyOf(context.principal.id, model, facts, undefined, body.messages, facts.params),
    );
    if (!isCachedCompletion(value)) return undefined;
    const record = newRecord(context.id, model, false);
    const fallbackFrom = recordHit(record, value);
    const ms = performance.now() - context.startedAt;
    observeOverhead.cache?.(ms / 1000);
    const headers: Record<string, string> = { 'x-cache': 'HIT', 'x-gateway-overhead-ms': ms.toFixed(3) };
    if (fallbackFrom !== undefined) headers['x-fallback-from'] = fallbackFrom;
    return {
      body: hitBody(value, context.id),
      headers,
      sent(total) {
        record.latencyMs = total;
        recordSafely(options.log, record);
      },
    };
  }

  return { handle, lookup };
}

/** A rejection the route sees and answers when it awaits the same promise. */
function ignore(): void {}

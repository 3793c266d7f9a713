/** Registers the gateway's routes: chat completions, the model list, and breaker admin. */
import type { FastifyInstance } from 'fastify';
import { defineError, InvalidRequestError } from '../../perf/errors.ts';
import type { MetricsRegistry } from '../../perf/metrics/index.ts';
import type { Resilience, ServiceOptions } from '../../perf/resilience/index.ts';
import {
  type FrontLane,
  installJsonBodyMemo,
  JsonBodyMemo,
  type JsonBodyMemoOptions,
} from '../../perf/web/index.ts';
import type { Catalogue } from '../providers/index.ts';
import type { ResponseStore } from './cache.ts';
import { createChatHandler } from './chat.ts';
import type { GatewayHooks } from './hooks.ts';

export const BreakerNotFoundError = defineError(
  'BREAKER_NOT_FOUND',
  404,
  "POST /admin/breakers/reset named a service that has no circuit breaker (breakers are made on a service's first call).",
  'Name a service from GET /admin/breakers, or send {} to reset every breaker.',
);

export interface GatewayOptions {
  catalogue: Catalogue;
  resilience: Resilience;
  hooks?: GatewayHooks;
  /** The response cache (the tiered cache, or anything with get/set); none: every request BYPASS. */
  cache?: ResponseStore | undefined;
  /** TTL of cached responses. @default 3600000 */
  cacheTtlMs?: number;
  /** False turns the response cache off (ENABLE_PERFORMANCE_OPTIMIZATION=false). @default true */
  cacheEnabled?: boolean;
  /** Per model, the models tried in order when it is unavailable. */
  fallbacks?: Readonly<Record<string, readonly string[]>>;
  /** Registry for gateway_overhead_seconds. @default none */
  metrics?: MetricsRegistry;
  /** Resilience settings per model, over the defaults. */
  serviceOptions?: (model: string) => ServiceOptions | undefined;
  /** The chat route's memo of recent request bodies. @default 1000 bodies of up to 8 KiB */
  bodyMemo?: JsonBodyMemoOptions;
  /** The server's front lane: cache hits of the chat route are answered there. @default none */
  lane?: FrontLane | undefined;
}

export function registerGatewayRoutes(app: FastifyInstance, options: GatewayOptions): void {
  const memo = new JsonBodyMemo(options.bodyMemo);
  const chat = createChatHandler({
    catalogue: options.catalogue,
    resilience: options.resilience,
    hooks: options.hooks,
    cache: options.cache,
    cacheTtlMs: options.cacheTtlMs ?? 3_600_000,
    cacheEnabled: options.cacheEnabled ?? true,
    fallbacks: options.fallbacks ?? {},
    serviceOptions: options.serviceOptions,
    metrics: options.metrics,
    memo,
    log: app.log,
  });
  const lane = options.lane?.enabled === true ? options.lane : undefined;
  // Its own scope, so only this route gets the memoising JSON parser: repeated bodies (the cache
  // hits) skip parsing and reuse what was derived from them. The handler never writes to the body.
  app.register(async (scope) => {
    installJsonBodyMemo(scope, memo);
    // A body the front lane read and handed over is replayed to the parser from memory.
    scope.post(
      '/v1/chat/completions',
      lane === undefined ? {} : { preParsing: lane.replayBody },
      chat.handle,
    );
  });
  lane?.post('/v1/chat/completions', chat.lookup);

  for (const [model, chain] of Object.entries(options.fallbacks ?? {})) {
    const missing = [model, ...chain].filter((m) => options.catalogue.resolve(m) === undefined);
    if (missing.length > 0) {
      app.log.warn(
        { model, missing },
        `fallback chain of ${model} names models that are not routable (${missing.join(', ')}); they are skipped`,
      );
    }
  }

  // The list changes only when providers or mock models change: clients may reuse it for a minute
  // and revalidate cheaply (304) after that.
  const modelsCache = { httpCache: { cacheControl: 'private, max-age=60', etag: true } };
  app.get('/v1/models', { config: modelsCache }, async () => ({
    object: 'list',
    data: options.catalogue.list().map((route) => ({
      id: route.id,
      object: 'model',
      created: 0,
      owned_by: route.provider.name,
      ...(options.fallbacks?.[route.id] ? { fallbacks: options.fallbacks[route.id] } : {}),
    })),
  }));

  app.get('/admin/breakers', async () => ({
    services: options.resilience.status(),
    incidents: options.resilience.incidents(),
  }));

  // No body or {} resets every breaker, {"service": name} one; anything else is refused, so a
  // mistyped request never resets more than it names.
  app.post('/admin/breakers/reset', async (request) => {
    const body = request.body as unknown;
    if (body === undefined) return { reset: options.resilience.reset() };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidRequestError(
        'body must be a JSON object: {"service": "<name>"}, or {} for every breaker',
      );
    }
    const { service, ...rest } = body as { service?: unknown };
    const unknown = Object.keys(rest);
    if (unknown.length > 0)
      throw new InvalidRequestError(`body.${unknown[0]} is not a known field (allowed: service)`);
    if (service !== undefined && (typeof service !== 'string' || service === '')) {
      throw new InvalidRequestError(
        'body.service must be a service name such as "mock/fast" (GET /admin/breakers lists them)',
      );
    }
    const known = service === undefined ? [] : options.resilience.status().map((s) => s.service);
    if (service !== undefined && !known.includes(service)) {
      throw new BreakerNotFoundError(
        `no circuit breaker for ${JSON.stringify(service)}; breakers exist for the services called so far${known.length > 0 ? ` (${known.join(', ')})` : ' (none yet)'}`,
      );
    }
    return { reset: options.resilience.reset(service) };
  });
}

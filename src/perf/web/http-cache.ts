/**
 * HTTP caching headers, declared per route:
 *
 *   app.get('/v1/experiments/:id', { config: { httpCache: { cacheControl: 'private, max-age=5', etag: true } } }, h)
 *
 * Every reply gets a deliberate Cache-Control: the route's, or `no-store` for routes that say
 * nothing (API replies carry per-key data that shared caches must not keep) and for every error. Routes with
 * `etag: true` get a weak ETag over the identity body on 200 GET/HEAD replies and answer a
 * matching If-None-Match with 304 and no body, which saves the transfer (and the compression)
 * for clients that poll.
 *
 * Install before compression: hooks run in registration order, and the ETag must be computed on
 * the identity bytes.
 */
import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches } from './compression.ts';
import { varyWithAcceptEncoding } from './encoding.ts';

export interface HttpCacheRouteConfig {
  /** Cache-Control for this route's replies. @default the plugin's defaultCacheControl */
  cacheControl?: string;
  /** Add a weak ETag to 200 GET/HEAD replies and answer If-None-Match with 304. @default false */
  etag?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    httpCache?: HttpCacheRouteConfig;
  }
}

export interface HttpCacheOptions {
  /** Cache-Control for routes that declare none. @default 'no-store' */
  defaultCacheControl?: string;
}

export function weakEtag(payload: string | Buffer): string {
  return `W/"${hash('sha1', payload, 'base64url')}"`;
}

const kEtag = Symbol('etag');

export function installHttpCache(app: FastifyInstance, options: HttpCacheOptions = {}): void {
  const fallback = options.defaultCacheControl ?? 'no-store';
  // Resolved once per route: the routes that declare caching get a route-level hook that sets
  // their header and flags the request, so the shared onSend hook never reads route options
  // (`request.routeOptions` builds a new object on every access).
  app.addHook('onRoute', (route) => {
    const config = (route.config as { httpCache?: HttpCacheRouteConfig } | undefined)?.httpCache;
    if (config === undefined) return;
    const cacheControl = config.cacheControl ?? fallback;
    const etag = config.etag === true;
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      reply.header('cache-control', cacheControl);
      if (etag) (request as FastifyRequest & { [kEtag]?: boolean })[kEtag] = true;
      done();
    };
    const existing = route.onRequest;
    route.onRequest =
      existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook];
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    // Errors are never stored: a cached 500 or 429 would outlive its cause.
    if (reply.statusCode >= 400 || !reply.hasHeader('cache-control')) reply.header('cache-control', fallback);
    if (
      (request as FastifyRequest & { [kEtag]?: boolean })[kEtag] !== true ||
      reply.statusCode !== 200 ||
      (request.method !== 'GET' && request.method !== 'HEAD') ||
      (typeof payload !== 'string' && !Buffer.isBuffer(payload))
    ) {
      return done(null, payload);
    }
    let etag = reply.getHeader('etag') as string | undefined;
    if (etag === undefined) {
      etag = weakEtag(payload);
      reply.header('etag', etag);
    }
    if (!etagMatches(request.headers['if-none-match'], etag)) return done(null, payload);
    // A 304 carries the headers the 200 would have had that describe the representation.
    reply.header('vary', varyWithAcceptEncoding(reply.getHeader('vary')));
    reply.removeHeader('content-length');
    reply.code(304);
    done(null, '');
  });
}

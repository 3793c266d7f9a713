/**
 * HTTP caching headers, declared per route:
 *
 *   app.get('/v1/experiments/:id', { config: { httpCache: { cacheControl: 'private, max-age=5', etag: true } } }, h)
 *
 * Every reply gets a deliberate Cache-Control: the route's, or `no-store` for routes that say
 * nothing (API replies carry per-key data that shared caches must not keep). Routes with
 * `etag: true` get a weak ETag over the identity body on 200 GET/HEAD replies and answer a
 * matching If-None-Match with 304 and no body, which saves the transfer (and the compression)
 * for clients that poll.
 *
 * Install before compression: hooks run in registration order, and the ETag must be computed on
 * the identity bytes.
 */
import { hash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
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

export function installHttpCache(app: FastifyInstance, options: HttpCacheOptions = {}): void {
  const fallback = options.defaultCacheControl ?? 'no-store';
  app.addHook('onSend', (request, reply, payload, done) => {
    const config = request.routeOptions.config?.httpCache;
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', config?.cacheControl ?? fallback);
    if (
      config?.etag !== true ||
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

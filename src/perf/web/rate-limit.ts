/**
 * Per-API-key rate limits: `limit` requests per sliding window per principal, answered past the
 * limit with 429 RATE_LIMITED. Every limited reply carries the IETF RateLimit header fields
 * (draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit, -Remaining, -Reset, -Policy) and a 429
 * also carries Retry-After.
 *
 * With Redis the counters are shared, so N instances enforce one limit, not N. When Redis fails,
 * each instance falls back to its own counters (logged): the limit loosens to per-instance for
 * the duration, requests keep flowing.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { defineError } from '../errors.ts';
import type { MetricsRegistry } from '../metrics/index.ts';
import type { Redis } from '../redis/index.ts';
import type { Principal } from './auth.ts';
import { sendError } from './errors.ts';
import { routedPath } from './path.ts';
import {
  admits,
  memoryStore,
  type RateLimitStore,
  redisStore,
  type WindowCounts,
} from './rate-limit-store.ts';

export const RateLimitedError = defineError(
  'RATE_LIMITED',
  429,
  'The API key sent more requests than its limit allows in the current window.',
  'Wait the Retry-After seconds; the RateLimit-* headers show the limit and what remains. Operators raise RATE_LIMIT_REQUESTS or RATE_LIMIT_WINDOW_S.',
);

export interface RateLimitOptions {
  /** Requests per window per key; 0 disables the limiter. */
  limit: number;
  /** Window length. @default 60000 */
  windowMs?: number;
  /** Shared counters across instances. @default process-local counters */
  redis?: Redis | undefined;
  /** Redis key prefix. @default 'versus:rl:' */
  prefix?: string;
  /**
   * The key a request is limited under, or undefined for requests that are not limited.
   * @default the principal id of client keys on /v1/* (admin and anonymous requests are not limited)
   */
  keyOf?: (principal: Principal, url: string) => string | undefined;
  metrics?: MetricsRegistry;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetS: number;
  /** Seconds until a request would be allowed again (0 when allowed). */
  retryAfterS: number;
}

const kDecided = Symbol('versus.rateLimitDecided');

/**
 * Hands a decision already made for `raw` (by the front lane, which counted the request) to the
 * hook, which applies it instead of counting the request again: the 429 of a denied one, the
 * headers of an allowed one, which then goes on to its route.
 */
export function handOverDecision(raw: IncomingMessage, decision: RateLimitDecision): void {
  (raw as IncomingMessage & { [kDecided]?: RateLimitDecision })[kDecided] = decision;
}

/** The limiter as the front lane uses it: the same counters and headers as the hook's. */
export interface RateLimiter {
  keyOf(principal: Principal, url: string): string | undefined;
  /** Counts one request under `key` and decides it; a promise when the counters are in Redis. */
  hit(key: string): RateLimitDecision | Promise<RateLimitDecision>;
  /** Writes the RateLimit-* headers of decision `d` into `headers`. */
  headers(headers: Record<string, string>, d: RateLimitDecision): void;
}

/** Sets one response header on a target: a Fastify reply or a plain headers object. */
type PutHeader<T> = (target: T, name: string, value: string) => void;
const onReply: PutHeader<FastifyReply> = (reply, name, value) => {
  reply.header(name, value);
};
const onObject: PutHeader<Record<string, string>> = (headers, name, value) => {
  headers[name] = value;
};

function defaultKey(principal: Principal, url: string): string | undefined {
  if (principal.kind !== 'client') return undefined;
  return routedPath(url).startsWith('/v1/') ? principal.id : undefined;
}

/** The decision for one hit, from the two windows' counts. Pure: the tests drive it directly. */
export function decide(
  counts: WindowCounts,
  limit: number,
  windowMs: number,
  now: number,
): RateLimitDecision {
  const elapsed = now % windowMs;
  const weight = 1 - elapsed / windowMs;
  const { current, previous } = counts;
  const used = previous * weight + current;
  const resetS = Math.max(1, Math.ceil((windowMs - elapsed) / 1000));
  if (counts.admitted ?? admits(previous, weight, current, limit)) {
    return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - used)), resetS, retryAfterS: 0 };
  }
  // The refused hit was not counted; the same request is admitted once the estimate has room for
  // it, with no other traffic in between. The previous window decays linearly over this one...
  let waitMs: number;
  if (current <= limit) {
    // previous * (1 - t / windowMs) + current <= limit, at t = fraction * windowMs.
    const fraction = 1 - (limit - current) / previous;
    waitMs = Math.max(0, fraction * windowMs - elapsed);
  } else {
    // ... but when this window alone is full, the wait runs into the next one, where this
    // window's count is the previous one and still weighs in: (current - 1) * (1 - t / windowMs)
    // + 1 <= limit.
    const full = current - 1; // >= limit >= 1
    const fraction = Math.max(0, 1 - (limit - 1) / full);
    waitMs = windowMs - elapsed + fraction * windowMs;
  }
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  // A client pacing itself by RateLimit-Reset must not come back before Retry-After: when the
  // wait runs into the next window, the reset is that far too.
  return { allowed: false, limit, remaining: 0, resetS: Math.max(resetS, retryAfterS), retryAfterS };
}

export function installRateLimit(app: FastifyInstance, options: RateLimitOptions): RateLimiter | undefined {
  const limit = options.limit;
  const windowMs = options.windowMs ?? 60_000;
  if (!Number.isInteger(limit) || limit < 0)
    throw new TypeError(`rate limit must be an integer >= 0, got ${limit}`);
  if (!(windowMs >= 1000)) throw new TypeError(`rate limit window must be at least 1000 ms, got ${windowMs}`);
  if (limit === 0) return undefined;

  const keyOf = options.keyOf ?? defaultKey;
  const local = memoryStore(windowMs);
  const shared: RateLimitStore | undefined =
    options.redis === undefined ? undefined : redisStore(options.redis, options.prefix ?? 'versus:rl:');
  const policy = `${limit};w=${Math.round(windowMs / 1000)}`;
  const limitHeader = String(limit);
  const limited = options.metrics?.counter({
    name: 'http_requests_rate_limited_total',
    help: 'Requests answered 429 RATE_LIMITED.',
  });
  let lastWarning = 0;

  app.addHook('onClose', async () => {
    local.close();
    shared?.close();
  });

  /** The RateLimit-* headers of one decision, on the hook's reply and on the front lane's answer. */
  const putHeaders = <T>(target: T, put: PutHeader<T>, d: RateLimitDecision): void => {
    put(target, 'ratelimit-limit', limitHeader);
    put(target, 'ratelimit-remaining', String(d.remaining));
    put(target, 'ratelimit-reset', String(d.resetS));
    put(target, 'ratelimit-policy', policy);
  };

  const apply = (reply: FastifyReply, d: RateLimitDecision): boolean => {
    putHeaders(reply, onReply, d);
    if (d.allowed) return true;
    limited?.inc();
    sendError(
      reply,
      new RateLimitedError(
        `rate limit of ${d.limit} requests per ${Math.round(windowMs / 1000)} s exceeded; retry in ${d.retryAfterS} s`,
        { headers: { 'retry-after': String(d.retryAfterS) }, details: { retry_after_s: d.retryAfterS } },
      ),
    );
    return false;
  };

  /** One hit counted and decided by this process's own counters. */
  const locally = (key: string, window: number, weight: number, now: number): RateLimitDecision =>
    decide(local.hit(key, window, windowMs, limit, weight) as WindowCounts, limit, windowMs, now);

  const hit = (key: string): RateLimitDecision | Promise<RateLimitDecision> => {
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const weight = 1 - (now % windowMs) / windowMs;
    if (shared === undefined) return locally(key, window, weight, now);
    return (shared.hit(key, window, windowMs, limit, weight) as Promise<WindowCounts>).then(
      (counts) => decide(counts, limit, windowMs, now),
      (err: unknown) => {
        if (now - lastWarning > 30_000) {
          lastWarning = now;
          app.log.warn(
            { err: { message: (err as Error)?.message } },
            'rate limit store (redis) failed; limiting per instance until it is back',
          );
        }
        return locally(key, window, weight, now);
      },
    );
  };

  app.addHook('onRequest', (request: FastifyRequest, reply, done) => {
    // The front lane counted this request already and handed over its decision.
    const decided = (request.raw as IncomingMessage & { [kDecided]?: RateLimitDecision })[kDecided];
    if (decided !== undefined) {
      if (apply(reply, decided)) done();
      return;
    }
    const key = keyOf(request.principal, request.url);
    if (key === undefined) return done();
    const d = hit(key);
    if (!(d instanceof Promise)) {
      if (apply(reply, d)) done();
      return;
    }
    d.then((decision) => {
      if (apply(reply, decision)) done();
    });
  });
  return { keyOf, hit, headers: (headers, d) => putHeaders(headers, onObject, d) };
}

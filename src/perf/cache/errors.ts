/** The cache's error codes (documented in docs/errors.md). */
import { defineError } from '../errors.ts';

export const CacheInvalidOptionError = defineError(
  'CACHE_INVALID_OPTION',
  500,
  'A cache option or argument has a wrong type or is out of range (a negative ttl, an unparseable duration, an empty key); the message names it.',
  'Correct the named option or argument where the cache is created or called.',
);

export const CacheFactoryTimeoutError = defineError(
  'CACHE_FACTORY_TIMEOUT',
  504,
  "A getOrSet factory did not finish within the call's hard timeout and no stale value could be served; the factory was aborted, unless the call had joined a factory another call started, which runs on.",
  'Make the source faster, raise hardTimeout, or enable grace so a stale value is served meanwhile.',
);

export const CacheClosedError = defineError(
  'CACHE_CLOSED',
  503,
  'The cache was used after close() (usually during shutdown).',
  'Retry on another instance; in code, do not call the cache after closing it.',
);

export const CacheL2UnavailableError = defineError(
  'CACHE_L2_UNAVAILABLE',
  503,
  'The Redis tier of the cache failed, timed out or is paused by its breaker; reads and writes were served from memory and the source instead. Reported in logs and `error` events, never thrown to callers.',
  'Check Redis (REDIS_URL, network, latency); the cache probes it again by itself once the breaker pause ends.',
);

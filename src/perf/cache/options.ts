/**
 * Public options (every field optional, defaults documented) resolved once into the internal
 * shape: durations parsed, defaults filled, bad values rejected with CACHE_INVALID_OPTION.
 */
import type { Cluster, Redis } from 'ioredis';
import type { MetricsRegistry } from '../metrics/index.ts';
import { type Duration, MAX_TIMER_MS, toMs } from './duration.ts';
import { CacheInvalidOptionError } from './errors.ts';
import type { Warmer } from './types.ts';

/** The logging surface the cache needs; pino and Fastify's logger fit. */
export interface CacheLogger {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface CacheOptions {
  /** Prefix of every Redis key and of the bus channel; instances sharing it share entries. @default 'versus' */
  name?: string;
  /** How long values stay fresh. @default '5m' */
  ttl?: Duration;
  /** How long past ttl a value is kept to be served stale by getOrSet. @default 0 (off) */
  grace?: Duration;
  /** After a refresh fails behind a stale value, serve that value as fresh for this long. @default '5s' */
  graceBackoff?: Duration;
  /** See GetOrSetOptions.softTimeout. @default 0 */
  softTimeout?: Duration;
  /** See GetOrSetOptions.hardTimeout. @default none */
  hardTimeout?: Duration;
  l1?: {
    /** Most entries kept in memory (CACHE_MEMORY_MAX_SIZE). @default 10000 */
    maxEntries?: number;
    /** Also bound memory by the values' estimated size in bytes. @default none */
    maxBytes?: number;
    /** Size of a value in bytes for maxBytes. @default an estimate from its JSON length */
    sizeOf?: (value: unknown) => number;
  };
  /**
   * An ioredis client, standalone or Cluster: adds the L2 tier, the bus and locks. The cache
   * duplicates it for the subscriber.
   */
  redis?: Redis | Cluster | undefined;
  l2?: {
    /** Longest wait for one Redis call before it counts as failed. @default 50 */
    timeout?: Duration;
    /** Consecutive failures that open the breaker. @default 5 */
    breakerThreshold?: number;
    /** How long the open breaker keeps Redis out of the path before one probe. @default '5s' */
    breakerPause?: Duration;
    /**
     * Largest encoded (compressed) value written to Redis; larger ones are kept in L1 only, and
     * the key's older L2 value is deleted. @default 4 MiB
     */
    maxValueBytes?: number;
  };
  /** Cross-instance stampede lock around factories (needs redis). @default off */
  lock?: {
    enabled?: boolean;
    /** Lock lifetime; also the longest another instance waits for it. @default '5s' */
    ttl?: Duration;
  };
  /** Invalidation bus over Redis pub/sub (needs redis). @default true when redis is given */
  bus?: boolean;
  tags?: {
    /**
     * How long Redis keeps a tag's invalidation records after its last deleteByTag/expireByTag.
     * A tagged entry may then live (ttl + grace) no longer than this, so no entry outlives the
     * record that invalidates it. @default none (kept until the namespace is cleared)
     */
    recordTtl?: Duration;
  };
  compression?: {
    /** CACHE_COMPRESSION_ENABLED. @default true */
    enabled?: boolean;
    /** Encoded size in bytes above which L2 values are compressed. @default 1024 */
    threshold?: number;
  };
  metrics?: MetricsRegistry | undefined;
  logger?: CacheLogger | undefined;
  warmers?: readonly Warmer[];
}

export interface Resolved {
  name: string;
  ttl: number;
  grace: number;
  graceBackoff: number;
  softTimeout: number;
  hardTimeout: number;
  maxEntries: number;
  maxBytes: number | undefined;
  sizeOf: ((value: unknown) => number) | undefined;
  redis: Redis | undefined;
  l2Timeout: number;
  l2MaxValueBytes: number;
  breakerThreshold: number;
  breakerPause: number;
  lock: { enabled: boolean; ttl: number };
  bus: boolean;
  /** Lifetime of tag records in Redis in ms; 0: no expiry. */
  tagRecordTtl: number;
  compression: { enabled: boolean; threshold: number };
  metrics: MetricsRegistry | undefined;
  logger: CacheLogger | undefined;
  warmers: readonly Warmer[];
}

const NAME = /^[A-Za-z0-9_.-]+$/;

export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new CacheInvalidOptionError(
      `${what} is ${JSON.stringify(name)}: expected letters, digits, '_', '.' or '-' (at least one)`,
    );
  }
  return name;
}

function positiveInt(value: unknown, what: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new CacheInvalidOptionError(`${what} is ${String(value)}: expected an integer of 1 or more`);
  }
  return value;
}

/** The client as given, once it is known to be one the cache can use (a Cluster is used as a Redis). */
function checkRedis(redis: unknown): Redis | undefined {
  if (redis === undefined) return undefined;
  const r = redis as { sendCommand?: unknown; duplicate?: unknown } | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    typeof r.sendCommand !== 'function' ||
    typeof r.duplicate !== 'function'
  ) {
    throw new CacheInvalidOptionError(
      `redis is ${r === null ? 'null' : typeof r}: expected an ioredis client (new Redis(url) or new Cluster(nodes)), or leave it out for a memory-only cache`,
    );
  }
  return redis as Redis;
}

export function resolveOptions(o: CacheOptions = {}): Resolved {
  const ttl = toMs(o.ttl ?? 300_000, 'ttl');
  if (ttl === 0) throw new CacheInvalidOptionError('ttl is 0: expected a positive duration');
  const tagRecordTtl = o.tags?.recordTtl === undefined ? 0 : toMs(o.tags.recordTtl, 'tags.recordTtl');
  if (o.tags?.recordTtl !== undefined && tagRecordTtl === 0) {
    throw new CacheInvalidOptionError('tags.recordTtl is 0: expected a positive duration, or leave it out');
  }
  const grace = toMs(o.grace ?? 0, 'grace');
  checkTaggedLifetime(ttl, grace, tagRecordTtl, 'the default ttl + grace');
  const threshold = o.compression?.threshold ?? 1024;
  if (!Number.isInteger(threshold) || threshold < 0) {
    throw new CacheInvalidOptionError(`compression.threshold is ${threshold}: expected bytes, 0 or more`);
  }
  return {
    name: checkName(o.name ?? 'versus', 'name'),
    ttl,
    grace,
    graceBackoff: toMs(o.graceBackoff ?? 5000, 'graceBackoff', MAX_TIMER_MS),
    softTimeout: toMs(o.softTimeout ?? 0, 'softTimeout', MAX_TIMER_MS),
    hardTimeout: o.hardTimeout === undefined ? 0 : toMs(o.hardTimeout, 'hardTimeout', MAX_TIMER_MS),
    maxEntries: positiveInt(o.l1?.maxEntries, 'l1.maxEntries', 10_000)!,
    maxBytes: positiveInt(o.l1?.maxBytes, 'l1.maxBytes', undefined),
    sizeOf: o.l1?.sizeOf,
    redis: checkRedis(o.redis),
    l2Timeout: toMs(o.l2?.timeout ?? 50, 'l2.timeout', MAX_TIMER_MS),
    breakerThreshold: positiveInt(o.l2?.breakerThreshold, 'l2.breakerThreshold', 5)!,
    breakerPause: toMs(o.l2?.breakerPause ?? 5000, 'l2.breakerPause', MAX_TIMER_MS),
    l2MaxValueBytes: positiveInt(o.l2?.maxValueBytes, 'l2.maxValueBytes', 4 * 1024 * 1024)!,
    lock: { enabled: o.lock?.enabled === true, ttl: toMs(o.lock?.ttl ?? 5000, 'lock.ttl', MAX_TIMER_MS) },
    bus: o.bus ?? true,
    tagRecordTtl,
    compression: { enabled: o.compression?.enabled ?? true, threshold },
    metrics: o.metrics,
    logger: o.logger,
    warmers: o.warmers ?? [],
  };
}

/** Per-call write options resolved against the cache's defaults. */
export interface CallOptions {
  ttl: number;
  grace: number;
  softTimeout: number;
  hardTimeout: number;
  tags: readonly string[] | undefined;
}

export function resolveCall(
  base: Resolved,
  o:
    | {
        ttl?: Duration;
        grace?: Duration;
        softTimeout?: Duration;
        hardTimeout?: Duration;
        tags?: readonly string[];
      }
    | undefined,
): CallOptions {
  if (o === undefined) {
    return {
      ttl: base.ttl,
      grace: base.grace,
      softTimeout: base.softTimeout,
      hardTimeout: base.hardTimeout,
      tags: undefined,
    };
  }
  const ttl = o.ttl === undefined ? base.ttl : toMs(o.ttl, 'ttl');
  if (ttl === 0) throw new CacheInvalidOptionError('ttl is 0: expected a positive duration');
  const grace = o.grace === undefined ? base.grace : toMs(o.grace, 'grace');
  const tags = checkTags(o.tags);
  if (tags !== undefined) {
    checkTaggedLifetime(ttl, grace, base.tagRecordTtl, "this tagged entry's ttl + grace");
  }
  return {
    ttl,
    grace,
    softTimeout:
      o.softTimeout === undefined ? base.softTimeout : toMs(o.softTimeout, 'softTimeout', MAX_TIMER_MS),
    hardTimeout:
      o.hardTimeout === undefined ? base.hardTimeout : toMs(o.hardTimeout, 'hardTimeout', MAX_TIMER_MS),
    tags,
  };
}

/**
 * A tagged entry must not outlive its tags' invalidation records in Redis (tags.recordTtl;
 * 0: records do not expire, any lifetime is fine).
 */
export function checkTaggedLifetime(ttl: number, grace: number, recordTtl: number, what: string): void {
  if (recordTtl > 0 && ttl + grace > recordTtl) {
    throw new CacheInvalidOptionError(
      `${what} is ${ttl + grace} ms, longer than tags.recordTtl (${recordTtl} ms): a tagged entry must not outlive the records that invalidate it; shorten ttl or grace, or raise tags.recordTtl`,
    );
  }
}

export function checkTags(tags: unknown): readonly string[] | undefined {
  if (tags === undefined) return undefined;
  const list = typeof tags === 'string' ? [tags] : tags;
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string' || t === '')) {
    throw new CacheInvalidOptionError('tags must be a non-empty string or an array of non-empty strings');
  }
  return list.length === 0 ? undefined : (list as string[]);
}

export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || key.charCodeAt(0) === 0) {
    throw new CacheInvalidOptionError(
      `cache key is ${typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : typeof key}: expected a non-empty string not starting with NUL`,
    );
  }
  // A lone surrogate becomes U+FFFD in Redis, so '\uD800' and '\uFFFD' would share one entry.
  if (!key.isWellFormed()) {
    throw new CacheInvalidOptionError(
      `cache key ${JSON.stringify(key.slice(0, 40))} has an unpaired surrogate: keys must be well-formed Unicode`,
    );
  }
  return key;
}

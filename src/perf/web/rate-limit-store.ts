/**
 * Sliding-window counters for rate limits, in memory or in Redis.
 *
 * Each key counts hits per fixed window; the estimate for "the last window" weighs the previous
 * window's count by how much of it still overlaps: `previous * (1 - elapsed/window) + current`.
 * Two counters per key, O(1) work per hit, and none of a fixed window's double burst at the
 * window boundary.
 *
 * Only admitted hits are counted: a refused request takes nothing from the window, so a client
 * that keeps retrying while refused is admitted at the time its Retry-After named, not pushed
 * further back by its own refusals.
 *
 * The Redis store runs one Lua script per hit (GET of both windows, then INCR and PEXPIRE on the
 * first hit when admitted), so instances sharing a Redis share the limit and the admission test
 * and the count are one atomic step. Both keys carry the same hash tag, so the script also runs
 * on Redis Cluster.
 */
import type { Redis } from '../redis/index.ts';

export interface WindowCounts {
  /** Hits in the current window, this one included (it is counted only when admitted). */
  current: number;
  /** Hits in the previous window. */
  previous: number;
  /** Whether the store admitted and counted this hit; absent, the decision computes it. */
  admitted?: boolean;
}

/** Admission: the weighted estimate with this hit included stays within the limit. */
export const admits = (previous: number, weight: number, current: number, limit: number): boolean =>
  previous * weight + current <= limit;

export interface RateLimitStore {
  /**
   * Counts one hit for `key` in window number `window` if `previous * weight + current + 1` stays
   * within `limit`, and returns both windows' counts with the hit included either way.
   */
  hit(
    key: string,
    window: number,
    windowMs: number,
    limit: number,
    weight: number,
  ): Promise<WindowCounts> | WindowCounts;
  close(): void;
}

interface MemoryEntry {
  window: number;
  current: number;
  previous: number;
}

/** Process-local counters; a sweep drops keys idle for two windows so memory stays bounded. */
export function memoryStore(windowMs: number): RateLimitStore {
  const entries = new Map<string, MemoryEntry>();
  const sweep = setInterval(
    () => {
      const now = Math.floor(Date.now() / windowMs);
      for (const [key, e] of entries) if (e.window < now - 1) entries.delete(key);
    },
    Math.max(windowMs, 1000),
  );
  sweep.unref();
  return {
    hit(key, window, _windowMs, limit, weight) {
      let e = entries.get(key);
      if (e === undefined) {
        e = { window, current: 0, previous: 0 };
        entries.set(key, e);
      } else if (e.window !== window) {
        e.previous = e.window === window - 1 ? e.current : 0;
        e.current = 0;
        e.window = window;
      }
      const current = e.current + 1;
      const admitted = admits(e.previous, weight, current, limit);
      if (admitted) e.current = current;
      return { current, previous: e.previous, admitted };
    },
    close() {
      clearInterval(sweep);
      entries.clear();
    },
  };
}

// The weight travels as the shortest decimal string that reads back as the same double, so the
// script's test is the one admits() makes in JavaScript.
const SCRIPT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
if p * tonumber(ARGV[3]) + n > tonumber(ARGV[2]) then return {n, p, 0} end
redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, p, 1}
`;

type WithScript = Redis & {
  versusRateLimitHit(
    current: string,
    previous: string,
    ttlMs: number,
    limit: number,
    weight: string,
  ): Promise<[number, number, number]>;
};

/** Counters in Redis under `prefix`, shared by every instance that uses the same prefix. */
export function redisStore(redis: Redis, prefix: string): RateLimitStore {
  const client = redis as WithScript;
  if (typeof client.versusRateLimitHit !== 'function') {
    // defineCommand sends EVALSHA and falls back to EVAL once, so the script body crosses the
    // wire only on the first call per connection.
    redis.defineCommand('versusRateLimitHit', { numberOfKeys: 2, lua: SCRIPT });
  }
  return {
    async hit(key, window, windowMs, limit, weight) {
      const tag = `${prefix}{${key}}:`;
      // Two windows of life: the previous window's count is read during the whole next one.
      const [current, previous, admitted] = await client.versusRateLimitHit(
        `${tag}${window}`,
        `${tag}${window - 1}`,
        windowMs * 2,
        limit,
        String(weight),
      );
      return { current, previous, admitted: admitted === 1 };
    },
    close() {
      // The Redis connection belongs to the app, which closes it.
    },
  };
}

/**
 * Sliding-window counters for rate limits, in memory or in Redis.
 *
 * Each key counts hits per fixed window; the estimate for "the last window" weighs the previous
 * window's count by how much of it still overlaps: `previous * (1 - elapsed/window) + current`.
 * Two counters per key, O(1) work per hit, and none of a fixed window's double burst at the
 * window boundary.
 *
 * The Redis store runs one Lua script per hit (INCR, PEXPIRE on first hit, GET of the previous
 * window), so instances sharing a Redis share the limit. Both keys carry the same hash tag, so the
 * script also runs on Redis Cluster.
 */
import type { Redis } from '../redis/index.ts';

export interface WindowCounts {
  /** Hits in the current window, this one included. */
  current: number;
  /** Hits in the previous window. */
  previous: number;
}

export interface RateLimitStore {
  /** Counts one hit for `key` in window number `window` and returns both windows' counts. */
  hit(key: string, window: number, windowMs: number): Promise<WindowCounts> | WindowCounts;
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
    hit(key, window) {
      let e = entries.get(key);
      if (e === undefined) {
        e = { window, current: 0, previous: 0 };
        entries.set(key, e);
      } else if (e.window !== window) {
        e.previous = e.window === window - 1 ? e.current : 0;
        e.current = 0;
        e.window = window;
      }
      e.current++;
      return { current: e.current, previous: e.previous };
    },
    close() {
      clearInterval(sweep);
      entries.clear();
    },
  };
}

const SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local p = redis.call('GET', KEYS[2])
return {n, tonumber(p or '0')}
`;

type WithScript = Redis & {
  versusRateLimitHit(current: string, previous: string, ttlMs: number): Promise<[number, number]>;
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
    async hit(key, window, windowMs) {
      const tag = `${prefix}{${key}}:`;
      // Two windows of life: the previous window's count is read during the whole next one.
      const [current, previous] = await client.versusRateLimitHit(
        `${tag}${window}`,
        `${tag}${window - 1}`,
        windowMs * 2,
      );
      return { current, previous };
    },
    close() {
      // The Redis connection belongs to the app, which closes it.
    },
  };
}

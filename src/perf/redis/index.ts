/**
 * Redis connections shared by the cache tier, the invalidation bus, locks and rate limits.
 *
 * One command connection per process (auto-pipelined: commands issued in the same tick leave in
 * one write) plus, for the bus, a subscriber connection. Commands fail fast while disconnected
 * (no offline queue): callers degrade to memory or the source rather than pile up behind a dead
 * socket. Reconnects back off exponentially up to 2 s, for ever.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

export interface RedisClientOptions {
  /** Connection name shown by `CLIENT LIST`. @default 'versus' */
  name?: string;
  /** Called on connection errors, at most once per state change. */
  onError?: (err: Error) => void;
  /** Extra ioredis options. */
  overrides?: RedisOptions;
}

export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const client = new Redis(url, {
    connectionName: options.name ?? 'versus',
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    lazyConnect: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    ...options.overrides,
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis emits the same error on every reconnect attempt; report each distinct one once.
    if (err.message === lastError) return;
    lastError = err.message;
    options.onError?.(err);
  });
  client.on('ready', () => {
    lastError = '';
  });
  return client;
}

/** Readiness check: PING must answer. */
export async function pingRedis(client: Redis): Promise<void> {
  if (client.status !== 'ready') throw new Error(`redis is ${client.status}`);
  const answer = await client.ping();
  if (answer !== 'PONG') throw new Error(`redis answered ${answer} to PING`);
}

/** Closes a client: QUIT when connected, disconnect otherwise. Never throws. */
export async function closeRedis(client: Redis): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

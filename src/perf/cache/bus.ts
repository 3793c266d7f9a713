/**
 * The invalidation bus: Redis pub/sub on one channel per cache name. Messages name what changed
 * (full keys, a namespace path, tag ids with their invalidation time), never values: a receiver
 * drops its L1 copy and reads Redis again when it next needs the key.
 *
 * While the subscription is down, invalidations are missed; so each time it is (re)established
 * the owner drops its whole L1 rather than serve what may have changed meanwhile.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { CacheLogger } from './options.ts';

export type BusMessage =
  /** Keys written or deleted. */
  | { k: string[] }
  /** A namespace cleared (its path). */
  | { c: string }
  /** Tags invalidated at `a` (kind d: delete, e: expire). */
  | { t: string[]; d: 0 | 1; a: number };

export interface BusHandlers {
  onMessage(message: BusMessage): void;
  /** The subscription is (again) in place. */
  onSubscribed(): void;
  onError(error: Error): void;
}

export class Bus {
  readonly channel: string;
  readonly id = randomUUID();
  readonly #subscriber: Redis;
  readonly #handlers: BusHandlers;
  readonly #logger: CacheLogger | undefined;
  #subscribed = false;
  #closed = false;
  #lastError = '';
  #firstSubscription: () => void = () => {};
  /** Resolves when the subscription is first in place. */
  readonly subscribedOnce = new Promise<void>((resolve) => {
    this.#firstSubscription = resolve;
  });

  constructor(redis: Redis, name: string, handlers: BusHandlers, logger: CacheLogger | undefined) {
    this.channel = `${name}!bus`;
    this.#handlers = handlers;
    this.#logger = logger;
    // Resubscription is ours, not ioredis's: we must know when it happens to drop L1.
    const own = { connectionName: `${name}-bus`, autoResubscribe: false };
    const queueing = { enableOfflineQueue: true, enableAutoPipelining: false };
    if ((redis as { isCluster?: boolean }).isCluster === true) {
      const cluster = redis as unknown as Cluster;
      this.#subscriber = cluster.duplicate([], {
        ...queueing,
        redisOptions: { ...cluster.options.redisOptions, ...own },
      }) as unknown as Redis;
      // The cluster subscribes through one node and moves to another when that node leaves,
      // subscribing again by itself: messages may have been missed meanwhile.
      this.#subscriber.on('-node', () => {
        if (this.#subscribed) {
          logger?.warn({ channel: this.channel }, 'cache bus: a cluster node left; subscribing again');
          this.#subscribed = false;
          this.#subscribe();
        }
      });
    } else {
      this.#subscriber = redis.duplicate({ ...own, ...queueing });
    }
    this.#subscriber.on('error', (err: Error) => {
      if (err.message === this.#lastError) return;
      this.#lastError = err.message;
      logger?.warn({ err: { message: err.message } }, 'cache bus subscriber connection problem');
    });
    this.#subscriber.on('close', () => {
      if (this.#subscribed) logger?.warn({ channel: this.channel }, 'cache bus subscription lost');
      this.#subscribed = false;
    });
    this.#subscriber.on('ready', () => this.#subscribe());
    this.#subscriber.on('messageBuffer', (_channel: Buffer, payload: Buffer) => this.#receive(payload));
  }

  get subscribed(): boolean {
    return this.#subscribed;
  }

  #subscribe(): void {
    if (this.#closed) return;
    this.#subscriber.subscribe(this.channel).then(
      () => {
        if (this.#closed) return;
        this.#subscribed = true;
        this.#lastError = '';
        this.#handlers.onSubscribed();
        this.#firstSubscription();
      },
      (err: Error) => {
        this.#logger?.warn(
          { err: { message: err.message } },
          'cache bus could not subscribe; retrying on reconnect',
        );
        this.#handlers.onError(err);
      },
    );
  }

  #receive(payload: Buffer): void {
    let parsed: ({ i?: unknown } & Partial<Record<'k' | 'c' | 't' | 'd' | 'a', unknown>>) | null;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return; // not ours: another program published on the channel
    }
    // Valid JSON that is not one of our messages (`null`, `5`, `"x"`) is not ours either: reading a
    // field of `null` here would throw in the subscriber's event handler and end the process.
    if (typeof parsed !== 'object' || parsed === null || parsed.i === this.id) return;
    try {
      this.#dispatch(parsed);
    } catch (err) {
      // The subscriber's event handler must not throw: counted and logged, the process goes on.
      this.#handlers.onError(err as Error);
    }
  }

  #dispatch(parsed: Partial<Record<'k' | 'c' | 't' | 'd' | 'a', unknown>>): void {
    if (Array.isArray(parsed.k))
      this.#handlers.onMessage({ k: parsed.k.filter((k) => typeof k === 'string') });
    else if (typeof parsed.c === 'string') this.#handlers.onMessage({ c: parsed.c });
    else if (Array.isArray(parsed.t) && typeof parsed.a === 'number') {
      this.#handlers.onMessage({
        t: parsed.t.filter((t) => typeof t === 'string'),
        d: parsed.d === 1 ? 1 : 0,
        a: parsed.a,
      });
    }
  }

  /** Encodes a message for `publish` on the command connection (the caller guards it). */
  encode(message: BusMessage): string {
    return JSON.stringify({ i: this.id, ...message });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#firstSubscription();
    this.#subscribed = false;
    try {
      if (this.#subscriber.status === 'ready') await this.#subscriber.quit();
      else this.#subscriber.disconnect();
    } catch {
      this.#subscriber.disconnect();
    }
  }
}

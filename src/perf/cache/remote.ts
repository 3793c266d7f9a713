/**
 * Everything the cache does with Redis, on top of the raw tier: reads that load unknown tag
 * records and promote into L1, writes and deletes announced on the bus, namespace clears, tag
 * records, and the cross-instance factory lock.
 *
 * A read that was on the wire while this process changed or was told about a key must not put
 * its (older) answer into L1: writes and invalidations bump an epoch that reads compare against.
 */
import { randomUUID } from 'node:crypto';
import { Bus, type BusMessage } from './bus.ts';
import {
  BUS_RECEIVE,
  type Counts,
  L1_CLEAR,
  L2_HIT,
  L2_MISS,
  LOCK_ACQUIRED,
  LOCK_WAITED,
} from './counters.ts';
import type { Entry } from './entry.ts';
import type { Keys } from './keys.ts';
import { deletePrefixed, type L1 } from './l1.ts';
import { type L2Read, RedisTier } from './l2.ts';
import type { CacheMetrics } from './metrics.ts';
import type { Resolved } from './options.ts';
import type { TagState } from './tags.ts';

export interface RemoteDeps {
  o: Resolved;
  keys: Keys;
  l1: L1;
  tags: TagState;
  counts: Counts;
  metrics: CacheMetrics;
  /** True when an entry may be served or kept (fresh or stale, not gone). */
  alive(entry: Entry): boolean;
  fresh(entry: Entry): boolean;
  onError(source: 'l2' | 'bus', error: Error): void;
  /** Tag records were added (from Redis or the bus). */
  onTags(): void;
  /** The bus (re)subscribed: invalidations may have been missed. */
  onResubscribed(): void;
}

/** Compare-and-delete: release the lock only if we still hold it. */
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** Glob-escapes a literal for SCAN MATCH. */
const glob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

export type LockResult = { found: Entry } | { release(): void } | undefined;

export class Remote {
  readonly l2: RedisTier;
  readonly bus: Bus | undefined;
  readonly #d: RemoteDeps;
  #lookups = 0;
  #epoch = 0;
  #clearEpoch = 0;
  #recent = new Map<string, number>();
  #pendingKeys: string[] | undefined;

  constructor(d: RemoteDeps) {
    const redis = d.o.redis!;
    this.#d = d;
    this.l2 = new RedisTier(
      redis,
      {
        timeout: d.o.l2Timeout,
        breakerThreshold: d.o.breakerThreshold,
        breakerPause: d.o.breakerPause,
        codec: d.o.compression,
        logger: d.o.logger,
        onError: (err) => d.onError('l2', err),
      },
      d.counts,
      d.metrics,
    );
    if (d.o.bus) {
      this.bus = new Bus(
        redis,
        d.o.name,
        {
          onMessage: (m) => this.#receive(m),
          onSubscribed: () => {
            this.#clearEpoch = ++this.#epoch;
            d.onResubscribed();
          },
          onError: (err) => d.onError('bus', err),
        },
        d.o.logger,
      );
    }
  }

  /** Reads a key from Redis; a live answer goes into L1 unless the key changed meanwhile. */
  async read(full: string): Promise<L2Read> {
    const epoch = this.#epoch;
    this.#lookups++;
    try {
      const e = await this.l2.get(this.#d.keys.redis(full));
      if (e === null) return null;
      if (e === undefined) {
        this.#d.counts[L2_MISS]!++;
        return undefined;
      }
      if (e.tags !== undefined) {
        const unknown = this.#d.tags.unknown(e);
        // Without the tag records the entry cannot be judged: a miss, never a possibly deleted value.
        if (unknown.length > 0 && !(await this.#loadTags(unknown))) return null;
      }
      if (!this.#d.alive(e)) {
        this.#d.counts[L2_MISS]!++;
        return undefined;
      }
      if (this.#d.fresh(e)) this.#d.counts[L2_HIT]!++;
      else this.#d.counts[L2_MISS]!++;
      const changed = this.#clearEpoch > epoch || (this.#recent.get(full) ?? 0) > epoch;
      // Tag knowledge can have been reset meanwhile (bus loss, overflow): then it is not trusted in L1.
      const judged = e.tags === undefined || this.#d.tags.unknown(e).length === 0;
      if (!changed && judged) this.#d.l1.set(full, e);
      return e;
    } finally {
      this.#lookups--;
    }
  }

  /** Records a local change to `full` for reads in flight. */
  touch(full: string): void {
    if (this.#lookups > 0) this.#recent.set(full, ++this.#epoch);
    else if (this.#recent.size > 0) this.#recent.clear();
  }

  /** Writes to Redis, then tells other instances (same connection: Redis applies them in order). */
  write(full: string, entry: Entry): Promise<boolean> {
    const key = this.#d.keys.redis(full);
    const p = this.l2.set(key, entry);
    this.#announce(key);
    return p;
  }

  async delete(fulls: string[]): Promise<void> {
    const keys = fulls.map((f) => this.#d.keys.redis(f));
    const p = this.l2.delete(keys);
    for (const key of keys) this.#announce(key);
    await p;
  }

  async clear(nsPath: string): Promise<void> {
    this.#clearEpoch = ++this.#epoch;
    const p = glob(nsPath);
    // Entries, sub-namespaces and tag records of this namespace; never another namespace.
    await this.l2.clear([`${p}::*`, `${p}/*`, `${p}#*`]);
    await this.#publish({ c: nsPath });
  }

  async invalidateTags(tagIds: string[], kind: 'delete' | 'expire', at: number): Promise<void> {
    const suffix = kind === 'delete' ? '!d' : '!e';
    const pairs = tagIds.flatMap((t) => [t + suffix, String(at)]);
    await this.l2.run('tags', () => this.l2.redis.mset(pairs));
    await this.#publish({ t: tagIds, d: kind === 'delete' ? 1 : 0, a: at });
  }

  async #loadTags(tagIds: string[]): Promise<boolean> {
    const values = await this.l2.mget(tagIds.flatMap((t) => [`${t}!d`, `${t}!e`]));
    if (values === undefined) return false;
    tagIds.forEach((tag, i) => {
      this.#d.tags.load(tag, Number(values[2 * i] ?? 0) || 0, Number(values[2 * i + 1] ?? 0) || 0);
    });
    this.#d.onTags();
    return true;
  }

  /** Redis keys written in one tick leave in one bus message. */
  #announce(key: string): void {
    if (this.bus === undefined) return;
    if (this.#pendingKeys === undefined) {
      this.#pendingKeys = [];
      process.nextTick(() => {
        const k = this.#pendingKeys!;
        this.#pendingKeys = undefined;
        void this.#publish({ k });
      });
    }
    this.#pendingKeys.push(key);
  }

  #publish(message: BusMessage): Promise<boolean> {
    if (this.bus === undefined) return Promise.resolve(true);
    return this.l2.publish(this.bus.channel, this.bus.encode(message));
  }

  #receive(m: BusMessage): void {
    const d = this.#d;
    d.counts[BUS_RECEIVE]!++;
    if ('k' in m) {
      for (const key of m.k) {
        const full = d.keys.l1(key);
        if (full === undefined) continue;
        d.l1.delete(full);
        this.touch(full);
      }
    } else if ('c' in m) {
      this.#clearEpoch = ++this.#epoch;
      const prefixes = d.keys.l1Prefixes(m.c);
      if (prefixes === undefined) d.l1.clear();
      else deletePrefixed(d.l1, prefixes);
      d.counts[L1_CLEAR]!++;
    } else {
      for (const tag of m.t) d.tags.apply(tag, m.d === 1 ? 'delete' : 'expire', m.a);
      d.onTags();
    }
  }

  /**
   * Takes the cross-instance lock for a key's factory. While another instance holds it, polls
   * L1 and L2 for the value it will write; gives up waiting after the lock's ttl (the holder may
   * have died) and runs the factory unlocked. Redis failing: runs unlocked at once.
   */
  async lock(full: string, signal: AbortSignal): Promise<LockResult> {
    const { o, l1 } = this.#d;
    const key = `${o.name}!lock:${this.#d.keys.redis(full)}`;
    const token = randomUUID();
    const deadline = Date.now() + o.lock.ttl;
    let waited = false;
    for (;;) {
      const got = await this.l2.call('lock', () => this.l2.redis.set(key, token, 'PX', o.lock.ttl, 'NX'));
      if (got === 'OK') {
        this.#d.counts[LOCK_ACQUIRED]!++;
        const release = () => void this.l2.run('lock', () => this.l2.redis.eval(RELEASE, 1, key, token));
        // Look again: the previous holder may have written the value just before releasing.
        const e = await this.read(full);
        if (e && this.#d.fresh(e)) {
          release();
          return { found: e };
        }
        return { release };
      }
      if (got === undefined || Date.now() >= deadline || signal.aborted) return undefined;
      if (!waited) this.#d.counts[LOCK_WAITED]!++;
      waited = true;
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - Date.now()))));
      const local = l1.get(full);
      if (local !== undefined && this.#d.fresh(local)) return { found: local };
      const e = await this.read(full);
      if (e && this.#d.fresh(e)) return { found: e };
    }
  }

  async close(): Promise<void> {
    await this.bus?.close();
  }
}

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
import type { CallOptions, Resolved } from './options.ts';
import { MAX_BATCH, type Miss, ReadBatch, WANT_ENTRY, WANT_FRESH, WANT_VALUE } from './reads.ts';
import { INVALIDATE_SCRIPT, RECORD_FLOOR_MS, RELEASE_SCRIPT, runScript } from './scripts.ts';
import type { TagState } from './tags.ts';
import type { Factory } from './types.ts';

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
  /** get() is answered with a fresh value from Redis. */
  l2Hit(full: string): void;
  /** getOrSet() found no fresh value in Redis: runs or joins the factory (`answer` may be stale). */
  missed(full: string, miss: Miss, answer: L2Read): Promise<unknown>;
  onError(source: 'l2' | 'bus', error: Error): void;
  /** Tag records were added (from Redis or the bus). */
  onTags(): void;
  /** Another instance wrote or deleted `full` (a bus message). */
  changed(full: string): void;
  /** Another instance cleared the keys under `prefixes` (all when undefined). */
  cleared(prefixes: readonly string[] | undefined): void;
  /** The bus (re)subscribed: invalidations may have been missed. */
  onResubscribed(): void;
}

/** Tags per invalidation script call. */
const INVALIDATE_CHUNK = 1000;

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
  #reads: ReadBatch | undefined;

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
        maxValueBytes: d.o.l2MaxValueBytes,
        tagLives: d.o.tagRecordTtl === 0,
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
            this.l2.forgetLives();
            d.onResubscribed();
          },
          onError: (err) => d.onError('bus', err),
        },
        d.o.logger,
      );
    }
  }

  /** Reads a key's entry from Redis; a live answer goes into L1 unless the key changed meanwhile. */
  read(full: string): Promise<L2Read> {
    return this.#batch().add(full, WANT_ENTRY) as Promise<L2Read>;
  }

  /** Like read, for get(): settles with the value if the entry is fresh, undefined otherwise. */
  readValue(full: string): Promise<unknown> {
    return this.#batch().add(full, WANT_VALUE);
  }

  /** Like readValue, for getOrSet(): without a fresh value, settles with what `missed` answers. */
  readFresh(full: string, key: string, tagScope: string, factory: Factory<unknown>, o: CallOptions) {
    return this.#batch().addFresh(full, key, tagScope, factory, o);
  }

  #batch(): ReadBatch {
    let b = this.#reads;
    if (b === undefined) {
      b = new ReadBatch(this.#epoch);
      this.#reads = b;
      this.#lookups++;
      process.nextTick(this.#flush);
    }
    return b;
  }

  #flush = (): void => {
    const b = this.#reads!;
    this.#reads = undefined;
    const { fulls } = b;
    const keys = this.#d.keys;
    const redisKeys = new Array<string>(fulls.length);
    for (let i = 0; i < fulls.length; i++) redisKeys[i] = keys.redis(fulls[i]!);
    if (fulls.length <= MAX_BATCH) {
      b.pending = 1;
      void this.l2.getMany(redisKeys).then((entries) => this.#settle(b, 0, entries));
      return;
    }
    b.pending = Math.ceil(fulls.length / MAX_BATCH);
    for (let i = 0; i < fulls.length; i += MAX_BATCH) {
      void this.l2.getMany(redisKeys.slice(i, i + MAX_BATCH)).then((entries) => this.#settle(b, i, entries));
    }
  };

  /** Answers the callers of slots [start, start + MGET size): `entries` null when Redis was not asked. */
  #settle(b: ReadBatch, start: number, entries: (Entry | undefined)[] | null): void {
    const end = start + Math.min(MAX_BATCH, b.fulls.length - start);
    const whole = start === 0 && end === b.fulls.length;
    // Judged and put into L1 once per key, whatever the number of its callers.
    const answers = new Array<L2Read | Promise<L2Read>>(end - start);
    for (let i = start; i < end; i++) {
      try {
        answers[i - start] = entries === null ? null : this.#accept(b.fulls[i]!, entries[i - start], b.epoch);
      } catch (err) {
        // A throwing sizeOf, say: that key's callers reject; the others in the batch are still answered.
        answers[i - start] = Promise.reject(err);
      }
    }
    const { rows, resolves } = b;
    // Where the next WANT_FRESH caller's cells start in b.misses.
    let miss = 0;
    for (let r = 0; r < rows.length; r++) {
      const slot = rows[r]! >> 2;
      const want = rows[r]! & 3;
      const at = miss;
      if (want === WANT_FRESH) miss += 4;
      if (!whole && (slot < start || slot >= end)) continue;
      const answer = answers[slot - start];
      if (answer instanceof Promise) {
        resolves[r]!(answer.then((e) => this.#reply(b, slot, want, at, e)));
      } else resolves[r]!(this.#reply(b, slot, want, at, answer));
    }
    if (--b.pending === 0) this.#lookups--;
  }

  /**
   * One caller's answer, counted per caller: the entry (WANT_ENTRY), else the value if fresh,
   * else undefined (WANT_VALUE) or what the factory answers (WANT_FRESH, its cells at `at`).
   */
  #reply(b: ReadBatch, slot: number, want: number, at: number, e: L2Read): unknown {
    const fresh = e != null && this.#d.fresh(e);
    if (e !== null) this.#d.counts[fresh ? L2_HIT : L2_MISS]!++;
    if (want === WANT_ENTRY) return e;
    if (fresh) {
      this.#d.l2Hit(b.fulls[slot]!);
      return e.value;
    }
    return want === WANT_FRESH ? this.#d.missed(b.fulls[slot]!, b.miss(at), e) : undefined;
  }

  /** Fills L1 with a live answer; a promise when the entry's tag records must be read first. */
  #accept(full: string, e: Entry | undefined, epoch: number): L2Read | Promise<L2Read> {
    if (e === undefined) return undefined;
    if (e.tags !== undefined) {
      const unknown = this.#d.tags.unknown(e);
      if (unknown.length > 0) return this.#acceptTagged(full, e, epoch, unknown);
    }
    return this.#judge(full, e, epoch);
  }

  async #acceptTagged(full: string, e: Entry, epoch: number, unknown: string[]): Promise<L2Read> {
    this.#lookups++;
    try {
      // Without the tag records the entry cannot be judged: a miss, never a possibly deleted value.
      if (!(await this.#loadTags(unknown))) return null;
      return this.#judge(full, e, epoch);
    } finally {
      this.#lookups--;
    }
  }

  #judge(full: string, e: Entry, epoch: number): L2Read {
    if (!this.#d.alive(e)) return undefined;
    const changed = this.#clearEpoch > epoch || (this.#recent.get(full) ?? 0) > epoch;
    // Tag knowledge can have been reset meanwhile (bus loss, overflow): then it is not trusted in L1.
    const judged = e.tags === undefined || this.#d.tags.unknown(e).length === 0;
    if (!changed && judged) this.#d.l1.set(full, e);
    return e;
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
    this.l2.forgetLives();
    const p = glob(nsPath);
    // Entries, sub-namespaces and tag records of this namespace; never another namespace.
    await this.l2.clear(
      this.l2.cluster
        ? // Tag keys start with `{`, their hash tag (RedisTier.tagKey).
          [`${p}::*`, `${p}/*`, `{${p}#*`, `{${p}/*`]
        : [`${p}::*`, `${p}/*`, `${p}#*`],
    );
    // Again: a tagged write during the SCAN may have made a life key the SCAN then deleted.
    this.l2.forgetLives();
    await this.#publish({ c: nsPath });
  }

  async invalidateTags(tagIds: string[], kind: 'delete' | 'expire', at: number): Promise<void> {
    // No tags: nothing to record, and no round trip.
    if (tagIds.length === 0) return;
    const suffix = kind === 'delete' ? '!d' : '!e';
    const value = String(at);
    const ttl = this.#d.o.tagRecordTtl;
    const l2 = this.l2;
    const redis = l2.redis;
    // Each record lives as long as its tag's entries may (scripts.ts), or tags.recordTtl when set
    // (no life keys are kept then, so the script gives it that life), and keeps the later
    // timestamp. In chunks of tags: a script call with hundreds of thousands of spread keys
    // overflows the call stack; on a cluster each tag is its own slot, so its own call.
    const floor = ttl > 0 ? ttl : RECORD_FLOOR_MS;
    await l2.run('tags', () => {
      const chunk = l2.cluster ? 1 : INVALIDATE_CHUNK;
      const sent: Promise<unknown>[] = [];
      for (let i = 0; i < tagIds.length; i += chunk) {
        const keys = tagIds.slice(i, i + chunk).flatMap((t) => [l2.tagKey(t, suffix), l2.tagKey(t, '!l')]);
        sent.push(runScript(redis, INVALIDATE_SCRIPT, keys, [value, floor]));
      }
      return Promise.all(sent);
    });
    await this.#publish({ t: tagIds, d: kind === 'delete' ? 1 : 0, a: at });
  }

  async #loadTags(tagIds: string[]): Promise<boolean> {
    const values = await this.l2.mget(
      tagIds.flatMap((t) => [this.l2.tagKey(t, '!d'), this.l2.tagKey(t, '!e')]),
    );
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
        d.changed(full);
      }
    } else if ('c' in m) {
      this.#clearEpoch = ++this.#epoch;
      this.l2.forgetLives();
      const prefixes = d.keys.l1Prefixes(m.c);
      if (prefixes === undefined) d.l1.clear();
      else deletePrefixed(d.l1, prefixes);
      d.cleared(prefixes);
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
        const release = () =>
          void this.l2.run('lock', () => runScript(this.l2.redis, RELEASE_SCRIPT, [key], [token]));
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

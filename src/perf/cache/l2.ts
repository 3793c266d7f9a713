/**
 * The Redis tier. Every call is bounded by a timeout and guarded by the breaker; failures are
 * counted, logged and answered as a miss or a skipped write, never thrown: the cache serves from
 * memory and the source while Redis is away.
 */
import { createRequire } from 'node:module';
import type { Cluster, Command as IORedisCommand, Redis } from 'ioredis';
import { Breaker } from './breaker.ts';
import { type CodecSettings, decodeEntry, encodeEntry } from './codec.ts';
import {
  BREAKER_OPEN,
  BREAKER_SKIP,
  BUS_PUBLISH,
  BUS_PUBLISH_ERROR,
  type Counts,
  L2_CLEAR,
  L2_CLEAR_ERROR,
  L2_DELETE,
  L2_DELETE_ERROR,
  L2_GET_ERROR,
  L2_SET,
  L2_SET_ERROR,
} from './counters.ts';
import { clock, type Entry } from './entry.ts';
import { CacheL2UnavailableError } from './errors.ts';
import type { CacheMetrics } from './metrics.ts';
import type { CacheLogger } from './options.ts';
import { runScript, TAG_LIVES_SCRIPT, TAGGED_SET_SCRIPT } from './scripts.ts';
import { eachSlot, perSlot } from './slots.ts';

/**
 * ioredis's Command class, loaded with the first Redis tier (whoever made the client has loaded
 * ioredis already): a process without Redis does not load the client for the cache's sake.
 */
let Command: typeof IORedisCommand | undefined;

/** An entry, undefined for a miss, null when Redis could not be asked (failure, breaker). */
export type L2Read = Entry | undefined | null;

/** Keys per DEL when many are deleted at once. */
const DELETE_CHUNK = 10_000;

/** Most tags whose life this process remembers; past it they are forgotten (their next write runs the script). */
const MAX_LIVES = 10_000;

export interface L2Options {
  timeout: number;
  breakerThreshold: number;
  breakerPause: number;
  codec: CodecSettings;
  /** Encoded values larger than this are not written (kept in L1 only). */
  maxValueBytes: number;
  /**
   * Tagged writes keep their tags' life keys (scripts.ts): true unless tags.recordTtl gives the
   * records a fixed life instead.
   */
  tagLives: boolean;
  logger: CacheLogger | undefined;
  onError: (error: Error) => void;
}

export class RedisTier {
  /** The client; a Cluster is used through the same commands (`cluster` says which). */
  readonly redis: Redis;
  /**
   * An ioredis Cluster: multi-key commands are split by hash slot, a tag's keys share a hash tag,
   * and a clear scans every master.
   */
  readonly cluster: boolean;
  readonly breaker: Breaker;
  readonly #o: L2Options;
  readonly #counts: Counts;
  readonly #metrics: CacheMetrics;
  #failing = false;
  /** MGETs on the wire: while none is, nothing needs protecting from a late reply. */
  inflightReads = 0;
  /**
   * Per tag id, the time (clock()) until which this process made its life key and records last:
   * a tagged write whose entry is gone before then is a plain SET (scripts.ts says why that holds).
   */
  #lives = new Map<string, number>();
  /** Counts forgetLives calls: a script answered after one does not teach #lives anything. */
  #livesEpoch = 0;

  constructor(redis: Redis, o: L2Options, counts: Counts, metrics: CacheMetrics) {
    Command ??= (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Command;
    this.redis = redis;
    this.cluster = (redis as { isCluster?: boolean }).isCluster === true;
    this.#o = o;
    this.#counts = counts;
    this.#metrics = metrics;
    this.breaker = new Breaker(o.breakerThreshold, o.breakerPause, (to, from) => {
      if (to === 'open') counts[BREAKER_OPEN]!++;
      o.logger?.warn(
        { breaker: to, from, pauseMs: o.breakerPause },
        to === 'open'
          ? 'cache L2 (Redis) breaker opened: serving from memory and the source'
          : `cache L2 (Redis) breaker ${to}`,
      );
    });
  }

  /**
   * Reads entries with one MGET: one answer per key (undefined for a miss or an unreadable value),
   * or null for all when Redis could not be asked (failure, timeout, breaker).
   */
  getMany(keys: string[]): Promise<(Entry | undefined)[] | null> {
    if (!this.breaker.allow()) {
      this.#counts[BREAKER_SKIP]! += keys.length;
      return Promise.resolve(null);
    }
    const started = performance.now();
    this.inflightReads++;
    return this.#timed(this.#mget(keys), 'get').then(
      (values) => {
        this.inflightReads--;
        this.#ok('get', started);
        const entries = new Array<Entry | undefined>(values.length);
        for (let i = 0; i < values.length; i++) {
          const buf = values[i];
          entries[i] = buf == null ? undefined : this.#decode(buf, keys[i]!);
        }
        return entries;
      },
      (err: Error) => {
        this.inflightReads--;
        this.#counts[L2_GET_ERROR]! += keys.length;
        this.#failed('get', err, keys.length);
        return null;
      },
    );
  }

  /**
   * MGET of `keys`, as Buffers. The batch is already one MGET per tick, so it leaves at once
   * (sendCommand) instead of through ioredis's auto-pipeline, which defers it to setImmediate and
   * makes a Pipeline whose objects outlive young collections: about 15 % more L2 reads per second
   * (docs/performance.md, "MGET leaves at once"). When commands are waiting in the auto-pipeline
   * it joins them, so commands on the connection still run in the order they were issued.
   */
  #mget(keys: string[]): Promise<(Buffer | null)[]> {
    const redis = this.redis;
    if (this.cluster) return perSlot(keys, (group) => redis.mgetBuffer(group));
    if (redis.autoPipelineQueueSize > 0) return redis.mgetBuffer(keys);
    return redis.sendCommand(new Command!('mget', keys, { replyEncoding: null })) as Promise<
      (Buffer | null)[]
    >;
  }

  #decode(buf: Buffer, key: string): Entry | undefined {
    try {
      return decodeEntry(buf);
    } catch (err) {
      // A value this version cannot read is a miss: the factory rewrites it. The Redis key (cut
      // short) says which entry, so an operator can look at it.
      this.#o.logger?.warn(
        { err: { message: (err as Error).message }, key: shortKey(key) },
        'cache L2 value unreadable; treated as a miss',
      );
      return undefined;
    }
  }

  /** Writes an entry with Redis expiry at its staleUntil. Resolves false when skipped or failed. */
  set(key: string, entry: Entry): Promise<boolean> {
    // Encoded before asking the breaker: an unencodable value must not use up its probe.
    let value: Buffer;
    try {
      value = encodeEntry(entry, this.#o.codec);
    } catch (err) {
      // A value msgpack cannot encode (a cyclic structure, say) stays in L1 only.
      return this.#notWritten(key, { err: { message: (err as Error).message } }, 'cannot be encoded for L2');
    }
    if (value.length > this.#o.maxValueBytes) {
      // Reading it back could take longer than the L2 timeout and count towards the breaker.
      return this.#notWritten(
        key,
        { bytes: value.length, maxValueBytes: this.#o.maxValueBytes },
        'larger than l2.maxValueBytes',
      );
    }
    if (!this.breaker.allow()) {
      this.#counts[BREAKER_SKIP]!++;
      return Promise.resolve(false);
    }
    const px = Math.max(1, Math.ceil(entry.staleUntil - Date.now()));
    const started = performance.now();
    const tags = entry.tags;
    const write =
      tags !== undefined && tags.length > 0 && this.#o.tagLives && !this.#livesCover(tags, entry.staleUntil)
        ? this.#taggedSet(key, value, px, tags)
        : this.redis.set(key, value, 'PX', px);
    return this.#timed(write, 'set').then(
      () => {
        this.#counts[L2_SET]!++;
        this.#ok('set', started);
        return true;
      },
      (err: Error) => {
        this.#counts[L2_SET_ERROR]!++;
        this.#failed('set', err, 1);
        return false;
      },
    );
  }

  /** True when every tag's life key and records are known to last until `until`. */
  #livesCover(tags: readonly string[], until: number): boolean {
    for (let i = 0; i < tags.length; i++) {
      if ((this.#lives.get(tags[i]!) ?? 0) < until) return false;
    }
    return true;
  }

  /**
   * The entry's SET in a script that makes its tags' life keys and records last twice the
   * entry's life: the writes of the same tags until then are plain SETs.
   */
  #taggedSet(key: string, value: Buffer, px: number, tags: readonly string[]): Promise<unknown> {
    const life = 2 * px;
    // Redis starts the life when the script runs, after this: `until` errs on the short side.
    const until = clock() + life;
    const epoch = this.#livesEpoch;
    const written = this.cluster
      ? // The entry and its tags are in different slots: the tags' scripts and the SET go apart,
        // in any order (scripts.ts: the record outlives the entry whichever Redis runs first).
        Promise.all([
          ...tags.map((t) => runScript(this.redis, TAG_LIVES_SCRIPT, this.#lifeKeys(t), [life])),
          this.redis.set(key, value, 'PX', px),
        ])
      : runScript(
          this.redis,
          TAGGED_SET_SCRIPT,
          [key, ...tags.flatMap((t) => this.#lifeKeys(t))],
          [value, px, life],
        );
    return written.then((reply) => {
      // A clear may have deleted the life keys after the script made them.
      if (epoch !== this.#livesEpoch) return reply;
      const lives = this.#lives;
      if (lives.size + tags.length > MAX_LIVES) lives.clear();
      for (const tag of tags) if ((lives.get(tag) ?? 0) < until) lives.set(tag, until);
      return reply;
    });
  }

  /**
   * Forgets what this process made of life keys: a clear deleted them (here or on another
   * instance), or the bus was lost and such a clear may have been missed.
   */
  forgetLives(): void {
    this.#livesEpoch++;
    this.#lives.clear();
  }

  /**
   * A value kept in L1 only: counted, logged with `why`, and the key's older value deleted, since
   * other instances, told by the bus that the key changed, would read that one back.
   */
  async #notWritten(key: string, fields: object, why: string): Promise<false> {
    this.#counts[L2_SET_ERROR]!++;
    this.#o.logger?.warn({ ...fields, key: shortKey(key) }, `cache value ${why}; kept in memory only`);
    await this.delete([key]);
    return false;
  }

  delete(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return Promise.resolve(true);
    return this.#command(
      'delete',
      () => {
        if (this.cluster) return eachSlot(keys, (group) => this.#del(group));
        return this.#del(keys);
      },
      L2_DELETE,
      L2_DELETE_ERROR,
    );
  }

  /** DEL in chunks: a DEL of 300,000 spread arguments overflows the call stack. */
  #del(keys: string[]): Promise<unknown> {
    if (keys.length <= DELETE_CHUNK) return this.redis.del(...keys);
    const sent: Promise<number>[] = [];
    for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
      sent.push(this.redis.del(...keys.slice(i, i + DELETE_CHUNK)));
    }
    return Promise.all(sent);
  }

  /**
   * Deletes every key matching the patterns (SCAN, never KEYS: Redis keeps serving meanwhile), on
   * every master of a cluster.
   */
  clear(patterns: string[]): Promise<boolean> {
    return this.#command(
      'clear',
      async () => {
        const nodes = this.cluster ? (this.redis as unknown as Cluster).nodes('master') : [this.redis];
        for (const node of nodes) {
          for (const pattern of patterns) {
            let cursor = '0';
            do {
              const [next, keys] = await this.#timed(
                node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
                'clear',
              );
              cursor = next;
              if (keys.length === 0) continue;
              await this.#timed(
                this.cluster
                  ? eachSlot(keys, (group) => this.redis.unlink(...group))
                  : this.redis.unlink(...keys),
                'clear',
              );
            } while (cursor !== '0');
          }
        }
      },
      L2_CLEAR,
      L2_CLEAR_ERROR,
      // A clear is many calls; the whole may take longer than one call's timeout.
      false,
    );
  }

  /**
   * The Redis key of a tag record (`!d`, `!e`) or life key (`!l`). On a cluster the tag id is a
   * hash tag, so a tag's three keys share a slot and one script can read and write them.
   */
  tagKey(tagId: string, suffix: '!d' | '!e' | '!l'): string {
    return this.cluster ? `{${tagId}}${suffix}` : tagId + suffix;
  }

  /** A tag's keys in the order the tagged-write scripts take them: life key, then its records. */
  #lifeKeys(tagId: string): string[] {
    return [this.tagKey(tagId, '!l'), this.tagKey(tagId, '!d'), this.tagKey(tagId, '!e')];
  }

  /** Reads string values (tag records); undefined for each on failure. */
  async mget(keys: string[]): Promise<(string | null)[] | undefined> {
    if (!this.breaker.allow()) {
      this.#counts[BREAKER_SKIP]!++;
      return undefined;
    }
    const started = performance.now();
    try {
      const values = await this.#timed(
        this.cluster ? perSlot(keys, (group) => this.redis.mget(group)) : this.redis.mget(keys),
        'tags',
      );
      this.#ok('tags', started);
      return values;
    } catch (err) {
      this.#counts[L2_GET_ERROR]!++;
      this.#failed('tags', err as Error, keys.length);
      return undefined;
    }
  }

  /** Any other command under the breaker and timeout; resolves false when skipped or failed. */
  #command(
    op: 'delete' | 'clear' | 'tags' | 'lock' | 'publish',
    fn: () => Promise<unknown>,
    okSlot: number | undefined,
    errorSlot: number | undefined,
    timed = true,
  ): Promise<boolean> {
    if (!this.breaker.allow()) {
      this.#counts[BREAKER_SKIP]!++;
      return Promise.resolve(false);
    }
    const started = performance.now();
    let p: Promise<unknown>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err);
    }
    return (timed ? this.#timed(p, op) : p).then(
      () => {
        if (okSlot !== undefined) this.#counts[okSlot]!++;
        this.#ok(op, started);
        return true;
      },
      (err: Error) => {
        if (errorSlot !== undefined) this.#counts[errorSlot]!++;
        this.#failed(op, err, 1);
        return false;
      },
    );
  }

  publish(channel: string, payload: string): Promise<boolean> {
    return this.#command(
      'publish',
      () => this.redis.publish(channel, payload),
      BUS_PUBLISH,
      BUS_PUBLISH_ERROR,
    );
  }

  run(op: 'tags' | 'lock', fn: () => Promise<unknown>): Promise<boolean> {
    return this.#command(op, fn, undefined, undefined);
  }

  /** Like run, but hands back the command's answer (undefined when skipped or failed). */
  async call<T>(op: 'tags' | 'lock', fn: () => Promise<T>): Promise<T | undefined> {
    let result: T | undefined;
    const ok = await this.#command(
      op,
      async () => {
        result = await fn();
      },
      undefined,
      undefined,
    );
    return ok ? result : undefined;
  }

  #timed<T>(p: Promise<T>, op: string): Promise<T> {
    const ms = this.#o.timeout;
    if (ms === 0) return p;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      // The rejection waits for setImmediate: after an event-loop stall the timer phase runs
      // before the I/O phase, and an answer already sitting in the socket must win.
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (!settled) reject(new Error(`redis ${op} took longer than ${ms} ms`));
        });
      }, ms);
      p.then(
        (v) => {
          settled = true;
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          settled = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  #ok(op: Parameters<CacheMetrics['l2']>[0], started: number): void {
    this.breaker.success();
    this.#metrics.l2(op, (performance.now() - started) / 1000);
    if (this.#failing) {
      this.#failing = false;
      this.#o.logger?.warn({ op }, 'cache L2 (Redis) answers again');
    }
  }

  #failed(op: string, err: Error, keys: number): void {
    this.breaker.failure();
    const error = new CacheL2UnavailableError(`cache L2 ${op} failed: ${err.message}`, { cause: err });
    // One warning per outage, not one per failed call: a dead Redis must not flood the logs.
    if (!this.#failing) {
      this.#failing = true;
      this.#o.logger?.warn(
        { err: { message: err.message }, op, keys, breaker: this.breaker.state },
        'cache L2 (Redis) call failed; serving from memory and the source',
      );
    } else {
      this.#o.logger?.debug?.({ err: { message: err.message }, op, keys }, 'cache L2 call failed');
    }
    this.#o.onError(error);
  }
}

/** A Redis key for a log line, cut short. */
function shortKey(key: string): string {
  return key.length > 200 ? `${key.slice(0, 200)}…` : key;
}

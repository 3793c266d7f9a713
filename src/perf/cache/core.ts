/**
 * The engine behind every namespace view of one cache: the tiers, the in-flight factory runs,
 * grace, tags, counts and events. Views hold only their key prefix and call in here with full keys
 * (`<name>[/<ns>...]::<key>`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Counts,
  createCounts,
  FACTORY_ERROR,
  FACTORY_OK,
  FACTORY_TIMEOUT,
  L1_CLEAR,
  L1_DELETE,
  L1_HIT,
  L1_MISS,
  L1_SET,
  L1_STALE,
} from './counters.ts';
import { MAX_TIMER_MS, toMs } from './duration.ts';
import { clock, type Entry, makeEntry, newEntry, readNow } from './entry.ts';
import { CacheClosedError, CacheFactoryTimeoutError, CacheInvalidOptionError } from './errors.ts';
import { Events } from './events.ts';
import { Keys } from './keys.ts';
import { createL1, deletePrefixed, type L1 } from './l1.ts';
import type { L2Read } from './l2.ts';
import { attachMetrics, type CacheMetrics } from './metrics.ts';
import {
  type CallOptions,
  checkKey,
  checkTaggedLifetime,
  checkTags,
  type Resolved,
  resolveCall,
} from './options.ts';
import type { Miss } from './reads.ts';
import { Remote } from './remote.ts';
import { bounded, raceStale, waitAtMost } from './run.ts';
import { statsOf } from './stats.ts';
import { DEAD, TagState } from './tags.ts';
import type { Cache, CacheStats, Factory, FactoryContext, GetOrSetOptions, SetOptions } from './types.ts';
import { Warmers } from './warmers.ts';

const FRESH = 0;
const STALE = 1;
const GONE = 2;
type State = typeof FRESH | typeof STALE | typeof GONE;

/** The factories a piece of code runs inside, innermost first (per cache and key). */
interface FactoryFrame {
  core: CacheCore;
  full: string;
  parent: FactoryFrame | undefined;
}
const insideFactories = new AsyncLocalStorage<FactoryFrame>();

function insideFactoryOf(core: CacheCore, full: string): boolean {
  for (let f = insideFactories.getStore(); f !== undefined; f = f.parent) {
    if (f.core === core && f.full === full) return true;
  }
  return false;
}

interface Run {
  promise: Promise<unknown>;
  controller: AbortController;
  /**
   * The key was written, deleted or cleared (here or, through the bus, on another instance)
   * while the factory ran: its value predates that and is returned but not stored.
   */
  superseded: boolean;
}

export class CacheCore {
  readonly o: Resolved;
  readonly l1: L1;
  readonly counts: Counts = createCounts();
  readonly tags: TagState;
  readonly events: Events;
  readonly keys: Keys;
  #inflight = new Map<string, Run>();
  #background = new Set<Promise<unknown>>();
  #warmers: Warmers;
  #metrics: CacheMetrics;
  #remote: Remote | undefined;
  #closed = false;

  constructor(o: Resolved) {
    this.o = o;
    this.keys = new Keys(o.name);
    this.l1 = createL1(o.maxEntries, o.maxBytes, o.sizeOf ?? defaultSizeOf, this.counts);
    this.tags = new TagState(clock());
    this.events = new Events((err) =>
      this.o.logger?.warn({ err: { message: (err as Error)?.message } }, 'cache event listener threw'),
    );
    this.#warmers = new Warmers((name, err) => {
      this.o.logger?.warn({ err: { message: err.message }, warmer: name }, 'cache warmer failed');
      this.events.emit('error', { source: 'warmer', error: err });
    });
    this.#metrics = attachMetrics(o.metrics, {
      counts: this.counts,
      entries: () => this.l1.size,
      bytes: () => (o.maxBytes === undefined ? undefined : this.l1.calculatedSize),
    });
    if (o.redis !== undefined) {
      this.#remote = new Remote({
        o,
        keys: this.keys,
        l1: this.l1,
        tags: this.tags,
        counts: this.counts,
        metrics: this.#metrics,
        alive: (e) => this.state(e, readNow()) !== GONE,
        fresh: (e) => this.state(e, readNow()) === FRESH,
        l2Hit: (full) => {
          if (this.events.hot) this.hitEvent(full, 'l2');
        },
        missed: (full, m, answer) => this.#missed(full, m, answer),
        onError: (source, error) => this.events.emit('error', { source, error }),
        onTags: () => this.#boundTags(),
        changed: (full) => this.#supersede(full),
        cleared: (prefixes) => this.#supersedeAll(prefixes),
        onResubscribed: () => {
          // Invalidations sent while we were not listening are lost: forget everything local.
          this.l1.clear();
          this.tags.reset(clock());
          this.#supersedeAll(undefined);
        },
      });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A change to `full` outranks the value its running factory (if any) will return. */
  #supersede(full: string): void {
    const run = this.#inflight.get(full);
    if (run !== undefined) run.superseded = true;
  }

  /** As #supersede, for every running factory under `prefixes` (all of them when undefined). */
  #supersedeAll(prefixes: readonly string[] | undefined): void {
    for (const [full, run] of this.#inflight) {
      if (prefixes === undefined || prefixes.some((p) => full.startsWith(p))) run.superseded = true;
    }
  }

  #open(): void {
    if (this.#closed) throw new CacheClosedError('the cache is closed');
  }

  state(e: Entry, now: number): State {
    const expiresAt = e.tags === undefined ? e.expiresAt : this.tags.expiresAt(e);
    if (expiresAt === DEAD) return GONE;
    if (now < expiresAt) return FRESH;
    return now < e.staleUntil ? STALE : GONE;
  }

  /** Hit-path freshness of an entry with tags: a tag may have deleted or expired it. */
  taggedFresh(e: Entry): boolean {
    return this.tags.expiresAt(e) > readNow();
  }

  hit(full: string): void {
    this.counts[L1_HIT]!++;
    if (this.events.hot) this.hitEvent(full);
  }

  /** Events name keys as Redis does (`<name>[/<ns>]::<key>`), readable and unambiguous. */
  hitEvent(full: string, layer: 'l1' | 'l2' = 'l1'): void {
    this.events.emit('hit', { key: this.keys.redis(full), layer });
  }

  #miss(full: string): void {
    this.counts[L1_MISS]!++;
    if (this.events.hot) this.events.emit('miss', { key: this.keys.redis(full) });
  }

  /** get() after the inline L1 check failed: tagged or expired entries, misses. */
  getSlow(full: string, key: string, e: Entry | undefined): Promise<unknown> {
    try {
      this.#open();
      checkKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    if (e !== undefined) {
      const s = this.state(e, readNow());
      if (s === FRESH) {
        this.hit(full);
        return Promise.resolve(e.value);
      }
      if (s === GONE) this.l1.delete(full);
    }
    this.#miss(full);
    if (this.#remote === undefined) return Promise.resolve(undefined);
    return this.#remote.readValue(full);
  }

  getOrSetSlow(
    full: string,
    key: string,
    tagScope: string,
    factory: Factory<unknown>,
    options: GetOrSetOptions | undefined,
    e: Entry | undefined,
  ): Promise<unknown> {
    let stale: Entry | undefined;
    let o: CallOptions;
    try {
      this.#open();
      checkKey(key);
      if (typeof factory !== 'function') {
        throw new CacheInvalidOptionError('getOrSet needs a factory function as its second argument');
      }
      if (e !== undefined) {
        const s = this.state(e, readNow());
        if (s === FRESH) {
          this.hit(full);
          return Promise.resolve(e.value);
        }
        if (s === STALE) stale = e;
        else this.l1.delete(full);
      }
      o = resolveCall(this.o, options);
      // Waiting for the run this call is part of would never end (with Redis), and starting
      // another would run the factory inside itself (L1 only).
      if (insideFactoryOf(this, full)) {
        throw new CacheInvalidOptionError(
          `getOrSet(${JSON.stringify(key.slice(0, 40))}) was called from inside its own factory, which would wait for itself; compute the value directly`,
        );
      }
    } catch (err) {
      return Promise.reject(err);
    }
    this.#miss(full);
    const remote = this.#remote;
    if (remote === undefined || stale !== undefined || this.#inflight.has(full)) {
      return this.#readThenRun(full, key, tagScope, factory, o, stale);
    }
    // Nothing at hand: the read answers with a fresh value from Redis, or runs the factory (missed).
    return remote.readFresh(full, key, tagScope, factory, o);
  }

  /** getOrSet found no fresh value in Redis: joins or starts the factory, `answer` its stale value. */
  async #missed(full: string, m: Miss, answer: L2Read): Promise<unknown> {
    const stale = answer && this.state(answer, readNow()) === STALE ? answer : undefined;
    // Another call may have started the factory while this one waited for Redis.
    return this.#join(full, m.key, m.tagScope, m.factory, m.o, stale, this.#inflight.get(full));
  }

  /** getOrSet's miss with a stale value at hand or a factory already running. */
  async #readThenRun(
    full: string,
    key: string,
    tagScope: string,
    factory: Factory<unknown>,
    o: CallOptions,
    stale: Entry | undefined,
  ): Promise<unknown> {
    let run = this.#inflight.get(full);
    if (run === undefined && this.#remote !== undefined) {
      const remote = await this.#remote.read(full);
      if (remote) {
        const s = this.state(remote, readNow());
        if (s === FRESH) {
          if (this.events.hot) this.hitEvent(full, 'l2');
          return remote.value;
        }
        if (s === STALE && (stale === undefined || remote.createdAt > stale.createdAt)) stale = remote;
      }
      // Another call may have started the factory while this one waited for Redis.
      run = this.#inflight.get(full);
    }
    return this.#join(full, key, tagScope, factory, o, stale, run);
  }

  /** Joins the key's factory run (starting it if none), serving `stale` meanwhile when grace allows. */
  #join(
    full: string,
    key: string,
    tagScope: string,
    factory: Factory<unknown>,
    o: CallOptions,
    stale: Entry | undefined,
    running: Run | undefined,
  ): Promise<unknown> {
    const run = running ?? this.#startRun(full, key, tagScope, factory, o, stale);
    if (stale !== undefined && o.grace > 0) return this.#serveStale(full, run, stale, o.softTimeout);
    if (running === undefined) return run.promise;
    // A joining call keeps its own hard timeout (not counted as a factory timeout: the factory
    // runs on); the starting call's bounds the factory.
    return waitAtMost(run.promise, o.hardTimeout);
  }

  #startRun(
    full: string,
    key: string,
    tagScope: string,
    factory: Factory<unknown>,
    o: CallOptions,
    stale: Entry | undefined,
  ): Run {
    // A getOrSet that was waiting for Redis when close() was called must not start its factory
    // and write into a closed cache.
    this.#open();
    const controller = new AbortController();
    let ttl = o.ttl;
    let tags = o.tags;
    let skip = false;
    const context: FactoryContext<unknown> = {
      key,
      signal: controller.signal,
      stale: stale?.value,
      skipCache() {
        skip = true;
      },
      setTtl: (value) => {
        const next = toMs(value, 'ttl');
        if (next > 0 && tags !== undefined) {
          checkTaggedLifetime(next, o.grace, this.o.tagRecordTtl, "setTtl: this tagged entry's ttl + grace");
        }
        ttl = next;
        if (ttl === 0) skip = true;
      },
      setTags: (value) => {
        const next = checkTags(value);
        if (next !== undefined) {
          checkTaggedLifetime(ttl, o.grace, this.o.tagRecordTtl, "setTags: this entry's ttl + grace");
        }
        tags = next;
      },
    };
    const remote = this.o.lock.enabled ? this.#remote : undefined;
    // The entry is dated from the run's start: a tag deleted or expired while the factory ran
    // then applies to its value, which may have been read from the source before that.
    const startedAt = clock();
    const run: Run = { promise: Promise.resolve(), controller, superseded: false };
    const work = (async () => {
      const held = remote === undefined ? undefined : await remote.lock(full, controller.signal);
      if (held !== undefined && 'found' in held) return held.found.value;
      try {
        const frame: FactoryFrame = { core: this, full, parent: insideFactories.getStore() };
        const value = await insideFactories.run(frame, factory, context);
        if (!skip && !controller.signal.aborted && !run.superseded) {
          // Written before the lock is released: Redis applies both in this order.
          this.#track(this.#write(full, value, ttl, o.grace, scope(tagScope, tags), startedAt));
        }
        return value;
      } finally {
        held?.release();
      }
    })();
    const settled = bounded(work, controller, o.hardTimeout, () => this.counts[FACTORY_TIMEOUT]!++);
    run.promise = settled.then(
      (value) => {
        this.counts[FACTORY_OK]!++;
        if (this.#inflight.get(full) === run) this.#inflight.delete(full);
        return value;
      },
      (err: unknown) => {
        if (!(err instanceof CacheFactoryTimeoutError) && !(err instanceof CacheClosedError)) {
          this.counts[FACTORY_ERROR]!++;
        }
        if (this.#inflight.get(full) === run) this.#inflight.delete(full);
        this.#afterFailure(full, err);
        throw err;
      },
    );
    this.#inflight.set(full, run);
    return run;
  }

  /**
   * A refresh failed. If a stale value is still in grace, keep serving it as fresh for
   * graceBackoff so every request does not retry a source that is down.
   */
  #afterFailure(full: string, err: unknown): void {
    const e = this.l1.peek(full);
    if (e === undefined || this.state(e, readNow()) !== STALE) return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.o.logger?.warn(
      {
        err: { message: error.message, code: (error as { code?: unknown }).code },
        backoffMs: this.o.graceBackoff,
      },
      'cache refresh failed; serving the stale value',
    );
    this.events.emit('error', { key: this.keys.redis(full), source: 'factory', error });
    if (this.o.graceBackoff > 0) {
      const now = clock();
      const until = now + this.o.graceBackoff;
      this.l1.set(full, newEntry(e.value, now, until, Math.max(e.staleUntil, until), e.tags));
    }
  }

  #serveStale(full: string, run: Run, stale: Entry, softTimeout: number): Promise<unknown> {
    this.counts[L1_STALE]!++;
    return raceStale(run.promise, stale.value, softTimeout, (reason) =>
      this.events.emit('stale', { key: this.keys.redis(full), reason }),
    );
  }

  /** Writes L1 now and L2 (announced on the bus) in the returned promise, which never rejects. */
  #write(
    full: string,
    value: unknown,
    ttl: number,
    grace: number,
    tags: readonly string[] | undefined,
    createdAt?: number,
  ): Promise<unknown> | undefined {
    const entry = makeEntry(value, ttl, grace, tags, createdAt);
    this.l1.set(full, entry);
    this.counts[L1_SET]!++;
    if (this.#remote === undefined) return undefined;
    this.#remote.touch(full);
    return this.#remote.write(full, entry);
  }

  /** Keeps a background L2 write so close() can wait for it. */
  #track(p: Promise<unknown> | undefined): void {
    if (p === undefined) return;
    this.#background.add(p);
    void p.then(() => this.#background.delete(p));
  }

  async set(full: string, key: string, tagScope: string, value: unknown, options: SetOptions | undefined) {
    this.#open();
    checkKey(key);
    const o = resolveCall(this.o, options);
    this.#supersede(full);
    await this.#write(full, value, o.ttl, o.grace, scope(tagScope, o.tags));
  }

  async delete(fulls: string[], keys: readonly string[]): Promise<void> {
    this.#open();
    for (const key of keys) checkKey(key);
    for (const full of fulls) {
      this.l1.delete(full);
      this.#supersede(full);
      this.#remote?.touch(full);
      this.counts[L1_DELETE]!++;
    }
    await this.#remote?.delete(fulls);
  }

  async invalidateTags(tagIds: string[], kind: 'delete' | 'expire'): Promise<void> {
    this.#open();
    const at = clock();
    for (const tag of tagIds) this.tags.apply(tag, kind, at);
    this.#boundTags();
    await this.#remote?.invalidateTags(tagIds, kind, at);
  }

  /** Tag knowledge is bounded: past MAX_TAGS, start over (L1 goes too: its entries relied on it). */
  #boundTags(): void {
    if (!this.tags.full) return;
    this.l1.clear();
    this.tags.reset(clock());
    // A running factory's entry would predate the reset, with tag records now forgotten.
    this.#supersedeAll(undefined);
  }

  async clear(nsPath: string): Promise<void> {
    this.#open();
    const prefixes = this.keys.l1Prefixes(nsPath);
    if (prefixes === undefined) this.l1.clear();
    else deletePrefixed(this.l1, prefixes);
    this.#supersedeAll(prefixes);
    this.counts[L1_CLEAR]!++;
    await this.#remote?.clear(nsPath);
  }

  addWarmer(warmer: Parameters<Warmers['add']>[0], cache: Cache): () => void {
    this.#open();
    return this.#warmers.add(warmer, cache);
  }

  warm(cache: Cache): Promise<void> {
    this.#open();
    return this.#warmers.runAll(cache);
  }

  /**
   * Drops L1 entries past their grace (and entries a tag deleted): they are dead weight until a
   * read or LRU eviction would find them. Stale entries still within grace stay: they are what
   * grace serves when the source fails. Returns how many were dropped.
   */
  purgeExpired(): number {
    this.#open();
    const now = readNow();
    const gone: string[] = [];
    for (const [key, e] of this.l1.entries()) if (this.state(e, now) === GONE) gone.push(key);
    for (const key of gone) this.l1.delete(key);
    return gone.length;
  }

  stats(): CacheStats {
    const remote = this.#remote;
    return statsOf(this.o, this.l1, this.counts, {
      l2: remote === undefined ? 'off' : remote.l2.breaker.state,
      bus: remote?.bus === undefined ? 'off' : remote.bus.subscribed,
    });
  }

  ready(timeout: number): Promise<boolean> {
    const bus = this.#remote?.bus;
    if (bus === undefined || bus.subscribed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.min(timeout, MAX_TIMER_MS));
      timer.unref();
      void bus.subscribedOnce.then(() => {
        clearTimeout(timer);
        resolve(bus.subscribed);
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = new CacheClosedError('the cache closed while the factory was running');
    for (const run of this.#inflight.values()) run.controller.abort(closing);
    this.#inflight.clear();
    await this.#warmers.close();
    await Promise.allSettled([...this.#background]);
    await this.#remote?.close();
    this.#metrics.close();
    this.events.clear();
    this.l1.clear();
  }
}

function scope(tagScope: string, tags: readonly string[] | undefined): readonly string[] | undefined {
  return tags === undefined ? undefined : tags.map((t) => tagScope + t);
}

/** Rough bytes of a value for l1.maxBytes when no sizeOf is given. */
function defaultSizeOf(value: unknown): number {
  if (typeof value === 'string') return 16 + value.length * 2;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return 16;
  if (value instanceof Uint8Array) return 16 + value.byteLength;
  try {
    return 16 + 2 * (JSON.stringify(value)?.length ?? 0);
  } catch {
    return 1024;
  }
}

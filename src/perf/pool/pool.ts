/**
 * A generic object pool with a synchronous fast path.
 *
 * When an idle object exists, `tryAcquire()` and `release()` are plain synchronous calls (a stack
 * pop/push and one Map lookup): no promise, no timer, no clock read. Only borrowers that have to
 * wait pay for a promise, a place in the wait queue and a wait-time observation. Idle expiry runs on a
 * coarse tick driven by one unref'ed timer, so releases never read the clock.
 */
import {
  PoolClosedError,
  PoolCreateError,
  PoolQueueFullError,
  PoolReleaseError,
  PoolTimeoutError,
} from './errors.ts';
import { attachPoolMetrics, type PoolObserver } from './metrics.ts';
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options.ts';
import { type Waiter, WaitQueue } from './queue.ts';

export interface PoolStats {
  name: string;
  max: number;
  min: number;
  /** Objects alive or being created. */
  size: number;
  idle: number;
  inUse: number;
  /** Borrowers waiting for an object now. */
  waiting: number;
  /** Successful borrows since start. */
  acquired: number;
  created: number;
  destroyed: number;
  /** Borrows that had to wait, and their total and longest wait. */
  waited: number;
  waitMsTotal: number;
  waitMsMax: number;
  timeouts: number;
  /** Borrowers turned away because the wait queue was full. */
  rejected: number;
  createErrors: number;
  validationFailures: number;
}

/** A borrowed object that goes back to its pool when disposed (`using` / `await using`). */
export interface Lease<T> {
  readonly value: T;
  /** Returns the object to the pool (idempotent). */
  release(): void;
  /** Destroys the object instead of returning it (it is broken). */
  discard(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface Pool<T extends object> {
  readonly name: string;
  /** An idle object now, or undefined when none is idle (never creates, never waits). */
  tryAcquire(): T | undefined;
  /** An object: idle, newly created, or the next one released, within `acquireTimeout`. */
  acquire(signal?: AbortSignal): Promise<T>;
  release(obj: T): void;
  /** Drops a borrowed object that must not be reused. */
  discard(obj: T): void;
  /** `await using lease = await pool.borrow()`: released when the scope ends. */
  borrow(signal?: AbortSignal): Promise<Lease<T>>;
  /** Runs `fn` with a borrowed object and releases it afterwards (discarding it if `fn` throws). */
  use<R>(fn: (obj: T) => R | Promise<R>, signal?: AbortSignal): Promise<R>;
  /** Creates objects up to `min`. */
  ready(): Promise<void>;
  stats(): PoolStats;
  /** Rejects waiters, destroys idle objects; objects still lent are destroyed when released. */
  close(): Promise<void>;
}

interface Entry<T> {
  obj: T;
  busy: boolean;
  /** Idle tick at which the object was last released. */
  idleTick: number;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** A class, not an object of closures: one small allocation per borrow. */
class PoolLease<T extends object> implements Lease<T> {
  readonly value: T;
  #pool: Pool<T> | undefined;

  constructor(pool: Pool<T>, value: T) {
    this.#pool = pool;
    this.value = value;
  }

  release(): void {
    const pool = this.#pool;
    if (pool === undefined) return;
    this.#pool = undefined;
    pool.release(this.value);
  }

  discard(): void {
    const pool = this.#pool;
    if (pool === undefined) return;
    this.#pool = undefined;
    pool.discard(this.value);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}

class ObjectPool<T extends object> implements Pool<T> {
  readonly name: string;
  #o: ResolvedPoolOptions<T>;
  #entries = new Map<T, Entry<T>>();
  #idle: Entry<T>[] = [];
  #waiters: WaitQueue<T>;
  #creating = 0;
  #inUse = 0;
  #tick = 0;
  #closed = false;
  #reaper: NodeJS.Timeout | undefined;
  #observer: PoolObserver | undefined;
  #detachMetrics: (() => void) | undefined;
  #s = {
    acquired: 0,
    created: 0,
    destroyed: 0,
    waited: 0,
    waitMsTotal: 0,
    waitMsMax: 0,
    timeouts: 0,
    rejected: 0,
    createErrors: 0,
    validationFailures: 0,
  };

  constructor(options: ResolvedPoolOptions<T>) {
    this.#o = options;
    this.name = options.name;
    this.#waiters = new WaitQueue<T>(options.acquireTimeout, (w) => {
      this.#s.timeouts++;
      this.#observer?.timedOut();
      w.reject(
        new PoolTimeoutError(
          `pool ${this.name}: no object became free within ${this.#o.acquireTimeout} ms (max ${this.#o.max}, all in use)`,
          { details: { pool: this.name, max: this.#o.max, timeout_ms: this.#o.acquireTimeout } },
        ),
      );
    });
    if (options.idleTimeout > 0) {
      // Three ticks of idleTimeout/2: an object is dropped after idleTimeout to 1.5 x idleTimeout idle.
      this.#reaper = setInterval(() => this.#reap(), Math.max(1, Math.floor(options.idleTimeout / 2)));
      this.#reaper.unref();
    }
    if (options.metrics !== undefined) {
      const attached = attachPoolMetrics(options.metrics, this);
      this.#observer = attached.observer;
      this.#detachMetrics = attached.detach;
    }
  }

  tryAcquire(): T | undefined {
    const idle = this.#idle;
    while (idle.length > 0) {
      const entry = idle.pop()!;
      if (this.#o.validate !== undefined && !this.#validateSync(entry)) continue;
      entry.busy = true;
      this.#inUse++;
      this.#s.acquired++;
      return entry.obj;
    }
    return undefined;
  }

  acquire(signal?: AbortSignal): Promise<T> {
    const obj = this.tryAcquire();
    if (obj !== undefined) return Promise.resolve(obj);
    return this.#wait(signal);
  }

  release(obj: T): void {
    const entry = this.#entries.get(obj);
    if (entry === undefined || !entry.busy) {
      throw new PoolReleaseError(
        `pool ${this.name}: released an object that ${entry === undefined ? 'it did not lend' : 'was already released'}`,
      );
    }
    entry.busy = false;
    this.#inUse--;
    if (this.#o.reset !== undefined) {
      let result: unknown;
      try {
        result = this.#o.reset(obj);
      } catch {
        this.#drop(entry);
        return;
      }
      if (isThenable(result)) {
        // Counted as lent until the reset finishes, so `max` still bounds live objects.
        entry.busy = true;
        this.#inUse++;
        result.then(
          () => {
            entry.busy = false;
            this.#inUse--;
            this.#putBack(entry);
          },
          () => {
            this.#inUse--;
            this.#drop(entry);
          },
        );
        return;
      }
    }
    this.#putBack(entry);
  }

  discard(obj: T): void {
    const entry = this.#entries.get(obj);
    if (entry === undefined || !entry.busy) {
      throw new PoolReleaseError(
        `pool ${this.name}: discarded an object it did not lend or that was released`,
      );
    }
    this.#inUse--;
    this.#drop(entry);
  }

  borrow(signal?: AbortSignal): Promise<Lease<T>> {
    const obj = this.tryAcquire();
    if (obj !== undefined) return Promise.resolve(new PoolLease(this, obj));
    return this.#wait(signal).then((o) => new PoolLease(this, o));
  }

  async use<R>(fn: (obj: T) => R | Promise<R>, signal?: AbortSignal): Promise<R> {
    const obj = this.tryAcquire() ?? (await this.#wait(signal));
    let result: R;
    try {
      result = await fn(obj);
    } catch (err) {
      this.discard(obj);
      throw err;
    }
    this.release(obj);
    return result;
  }

  async ready(): Promise<void> {
    const missing = this.#o.min - (this.#entries.size + this.#creating);
    const creations: Promise<void>[] = [];
    for (let i = 0; i < missing; i++) creations.push(this.#create());
    await Promise.all(creations);
  }

  stats(): PoolStats {
    return {
      name: this.name,
      max: this.#o.max,
      min: this.#o.min,
      size: this.#entries.size + this.#creating,
      idle: this.#idle.length,
      inUse: this.#inUse,
      waiting: this.#waiters.length,
      ...this.#s,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#reaper);
    this.#detachMetrics?.();
    for (const w of this.#waiters.drain()) {
      w.reject(new PoolClosedError(`pool ${this.name} was closed while waiting for an object`));
    }
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((e) => this.#destroy(e)));
  }

  #validateSync(entry: Entry<T>): boolean {
    let result: boolean | Promise<boolean>;
    try {
      result = this.#o.validate!(entry.obj);
    } catch {
      result = false;
    }
    if (result === true) return true;
    if (isThenable(result)) {
      // An async check cannot finish inside a synchronous borrow: the object sits out as lent while
      // it is checked, then goes back to the pool (or away), and the borrower takes the next one.
      entry.busy = true;
      this.#inUse++;
      result.then(
        (ok) => {
          entry.busy = false;
          this.#inUse--;
          if (ok === true) this.#putBack(entry, true);
          else this.#invalid(entry);
        },
        () => {
          entry.busy = false;
          this.#inUse--;
          this.#invalid(entry);
        },
      );
      return false;
    }
    this.#invalid(entry);
    return false;
  }

  #invalid(entry: Entry<T>): void {
    this.#s.validationFailures++;
    this.#observer?.validationFailed();
    this.#drop(entry);
  }

  /** `validated`: the object has just passed an async check, so it goes to a waiter unchecked. */
  #putBack(entry: Entry<T>, validated = false): void {
    if (this.#closed) {
      void this.#destroy(entry);
      return;
    }
    if (this.#waiters.length > 0) {
      if (!validated && this.#o.validate !== undefined && !this.#validateSync(entry)) return;
      this.#handTo(this.#waiters.shift()!, entry);
      return;
    }
    entry.idleTick = this.#tick;
    this.#idle.push(entry);
  }

  #handTo(w: Waiter<T>, entry: Entry<T>): void {
    entry.busy = true;
    this.#inUse++;
    this.#s.acquired++;
    const ms = performance.now() - w.since;
    this.#s.waited++;
    this.#s.waitMsTotal += ms;
    if (ms > this.#s.waitMsMax) this.#s.waitMsMax = ms;
    this.#observer?.waited(ms / 1000);
    w.resolve(entry.obj);
  }

  #wait(signal: AbortSignal | undefined): Promise<T> {
    if (this.#closed) return Promise.reject(new PoolClosedError(`pool ${this.name} is closed`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length >= this.#o.maxWaiting) {
      this.#s.rejected++;
      this.#observer?.rejected();
      return Promise.reject(
        new PoolQueueFullError(
          `pool ${this.name} is at its maximum of ${this.#o.max} objects and ${this.#waiters.length} borrowers are already waiting`,
          { details: { pool: this.name, max: this.#o.max, waiting: this.#waiters.length } },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const waiter = this.#waiters.push({ resolve, reject, signal, onAbort: undefined });
      if (signal !== undefined) {
        waiter.onAbort = () => {
          this.#waiters.cancel(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (this.#entries.size + this.#creating < this.#o.max) void this.#create();
    });
  }

  async #create(): Promise<void> {
    this.#creating++;
    let obj: T;
    try {
      obj = await this.#o.create();
    } catch (err) {
      this.#creating--;
      this.#s.createErrors++;
      this.#observer?.createFailed();
      // Fail the longest waiter fast rather than let it run into its timeout on a broken factory.
      const w = this.#waiters.shift();
      if (w !== undefined) {
        w.reject(new PoolCreateError(`pool ${this.name} could not create an object`, { cause: err }));
      }
      return;
    }
    this.#creating--;
    this.#s.created++;
    const entry: Entry<T> = { obj, busy: false, idleTick: this.#tick };
    this.#entries.set(obj, entry);
    this.#putBack(entry);
  }

  /** Removes an entry that is neither idle nor lent, and replaces it if someone waits or min needs it. */
  #drop(entry: Entry<T>): void {
    void this.#destroy(entry);
    if (this.#closed) return;
    const live = this.#entries.size + this.#creating;
    if (live < this.#o.max && (this.#waiters.length > 0 || live < this.#o.min)) void this.#create();
  }

  async #destroy(entry: Entry<T>): Promise<void> {
    entry.busy = false;
    this.#entries.delete(entry.obj);
    this.#s.destroyed++;
    try {
      await this.#o.destroy?.(entry.obj);
    } catch {
      // The object is gone from the pool either way; a failing destructor must not break borrowers.
    }
  }

  #reap(): void {
    this.#tick++;
    const idle = this.#idle;
    // Oldest releases sit at the bottom of the stack, so expired entries form a prefix.
    let n = 0;
    const excess = this.#entries.size - this.#o.min;
    while (n < idle.length && n < excess && this.#tick - idle[n]!.idleTick >= 3) n++;
    if (n > 0) for (const e of idle.splice(0, n)) void this.#destroy(e);
  }
}

export function createPool<T extends object>(options: PoolOptions<T>): Pool<T> {
  return new ObjectPool(resolvePoolOptions(options));
}

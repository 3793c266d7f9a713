/**
 * One service's resilience: bulkhead -> retry loop -> circuit breaker (cockatiel) -> attempt with
 * a timeout. The success path allocates one small object and takes no timer; waits, timers and
 * AbortControllers appear only when something goes wrong or when the attempt asks for a signal.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  noJitterGenerator,
} from 'cockatiel';
import { type Attempt, Deadlines } from './deadlines.ts';
import { BulkheadFullError, CircuitOpenError, UpstreamTimeoutError } from './errors.ts';
import { type FailureKind, failureKind, retryAfterOf } from './failure.ts';
import type { ResolvedOptions } from './options.ts';
import { WindowBreaker } from './window-breaker.ts';

export type BreakerState = 'closed' | 'half-open' | 'open';

/** What an attempt receives. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborts on the per-attempt timeout or when the caller's signal aborts. */
  readonly signal: AbortSignal;
}

export interface Transition {
  service: string;
  from: BreakerState;
  to: BreakerState;
  /** While open: ms until the next probe is allowed. */
  openForMs?: number;
  reason?: string;
}

const NEVER = new AbortController().signal;

/**
 * The attempt's context. Its deadline is registered only when the attempt reads `signal`: a
 * cooperative timeout can only reach an attempt that listens, so an attempt that never asks
 * costs no registration at all.
 */
class AttemptContextImpl implements AttemptContext {
  readonly attempt: number;
  readonly #deadlines: Deadlines | undefined;
  readonly #caller: AbortSignal | undefined;
  entry: Attempt | undefined;
  #signal: AbortSignal | undefined;

  constructor(attempt: number, deadlines: Deadlines | undefined, caller: AbortSignal | undefined) {
    this.attempt = attempt;
    this.#deadlines = deadlines;
    this.#caller = caller;
  }

  get signal(): AbortSignal {
    if (this.#signal !== undefined) return this.#signal;
    if (this.#deadlines === undefined) {
      this.#signal = this.#caller ?? NEVER;
    } else {
      this.entry = this.#deadlines.start(this.attempt);
      const own = this.entry.signal;
      this.#signal = this.#caller === undefined ? own : AbortSignal.any([own, this.#caller]);
    }
    return this.#signal;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function countsForBreaker(kind: FailureKind): boolean {
  return kind === 'server' || kind === 'timeout' || kind === 'connect';
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class ServicePolicy {
  readonly name: string;
  readonly options: ResolvedOptions;
  readonly #windowBreaker: WindowBreaker;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #deadlines: Deadlines | undefined;
  readonly #onTransition: (t: Transition) => void;
  readonly #queue: Waiter[] = [];
  readonly #maxConcurrent: number;
  #active = 0;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #openForMs = 0;
  #resetting = false;

  constructor(name: string, options: ResolvedOptions, onTransition: (t: Transition) => void) {
    this.name = name;
    this.options = options;
    this.#onTransition = onTransition;
    this.#maxConcurrent = options.bulkhead.maxConcurrent;
    this.#windowBreaker = new WindowBreaker(options.breaker);
    this.#breaker = circuitBreaker(
      handleWhen((err) => countsForBreaker(this.#kind(err))),
      {
        breaker: this.#windowBreaker,
        halfOpenAfter: new ExponentialBackoff({
          initialDelay: options.breaker.openMs,
          maxDelay: options.breaker.maxOpenMs,
          generator: noJitterGenerator,
        }),
      },
    );
    this.#breaker.onStateChange((s) => this.#observe(s));
    if (options.timeoutMs > 0) {
      const timeoutMs = options.timeoutMs;
      this.#deadlines = new Deadlines(
        timeoutMs,
        () => new UpstreamTimeoutError(`${name} did not answer within ${timeoutMs} ms`),
      );
    }
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** ms until an open circuit lets a probe through (0 when not open). */
  get retryAfterMs(): number {
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.#openForMs - Date.now());
  }

  get inFlight(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get window(): { successes: number; failures: number } {
    return this.#windowBreaker.counts;
  }

  execute<T>(fn: (ctx: AttemptContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#active >= this.#maxConcurrent) return this.#queued(fn, signal);
    this.#active++;
    // The first attempt is chained by hand rather than awaited in an async function: on the
    // success path that saves a frame per call (measured in bench/scenarios/resilience.ts).
    return this.#breaker
      .execute(() => this.#attempt(fn, 1, signal))
      .then(this.#onSuccess, (err: unknown) => this.#afterFirstFailure(err, fn, signal));
  }

  readonly #onSuccess = <T>(value: T): T => {
    this.#leave();
    return value;
  };

  /** A queued call inherits the slot of the call that leaves, so a newcomer cannot slip in between. */
  #leave(): void {
    if (this.#queue.length > 0) this.#release();
    else this.#active--;
  }

  async #queued<T>(fn: (ctx: AttemptContext) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    await this.#enqueue(signal);
    try {
      return await this.#attempts(fn, 1, signal);
    } finally {
      this.#leave();
    }
  }

  async #afterFirstFailure<T>(
    err: unknown,
    fn: (ctx: AttemptContext) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    try {
      await this.#backoff(err, 1, signal);
      return await this.#attempts(fn, 2, signal);
    } finally {
      this.#leave();
    }
  }

  /** Attempts from `first` on, with backoff between them. */
  async #attempts<T>(
    fn: (ctx: AttemptContext) => Promise<T>,
    first: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    for (let attempt = first; ; attempt++) {
      try {
        return await this.#breaker.execute(() => this.#attempt(fn, attempt, signal));
      } catch (err) {
        await this.#backoff(err, attempt, signal);
      }
    }
  }

  /** Waits before the next attempt, or throws the failure when it must not be retried. */
  async #backoff(err: unknown, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const failure = this.#translate(err);
    if (attempt >= this.options.retry.maxAttempts || signal?.aborted) throw failure;
    const delay = this.#retryDelay(failure, attempt);
    if (delay === undefined) throw failure;
    await sleep(delay, signal);
  }

  /** Closes the circuit and forgets the failure window. */
  reset(): void {
    this.#resetting = true;
    try {
      this.#breaker.isolate().dispose();
    } finally {
      this.#resetting = false;
    }
    this.#windowBreaker.reset();
    const from = this.#state;
    this.#state = 'closed';
    this.#openForMs = 0;
    if (from !== 'closed')
      this.#onTransition({ service: this.name, from, to: 'closed', reason: 'manual reset' });
  }

  close(): void {
    this.#deadlines?.close();
    for (const waiter of this.#queue.splice(0)) {
      waiter.reject(new BulkheadFullError(`${this.name} is closing`));
    }
  }

  #attempt<T>(fn: (ctx: AttemptContext) => Promise<T>, attempt: number, signal?: AbortSignal): Promise<T> {
    const ctx = new AttemptContextImpl(attempt, this.#deadlines, signal);
    const pending = fn(ctx);
    const entry = ctx.entry;
    // The attempt did not take the signal (synchronously, as every HTTP call does): nothing to time.
    if (entry === undefined) return pending;
    return pending.then(
      (value) => {
        this.#deadlines?.finish(entry);
        return value;
      },
      (err: unknown) => {
        this.#deadlines?.finish(entry);
        if (entry.expired && signal?.aborted !== true) {
          throw new UpstreamTimeoutError(
            `${this.name} did not answer within ${this.options.timeoutMs} ms (attempt ${attempt})`,
            { cause: err },
          );
        }
        throw err;
      },
    );
  }

  #kind(err: unknown): FailureKind {
    return err instanceof UpstreamTimeoutError ? 'timeout' : failureKind(err);
  }

  #translate(err: unknown): unknown {
    if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
      const ms = this.retryAfterMs;
      return new CircuitOpenError(
        `the circuit breaker for ${this.name} is open; retry in ${Math.ceil(ms / 1000)} s`,
        {
          cause: err,
          details: { service: this.name },
          headers: { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) },
        },
      );
    }
    return err;
  }

  /** Backoff before the next attempt, or undefined when the failure must not be retried. */
  #retryDelay(err: unknown, attempt: number): number | undefined {
    if (err instanceof CircuitOpenError) return undefined;
    const kind = this.#kind(err);
    if (kind === 'client' || kind === 'other' || !this.options.retry.on[kind]) return undefined;
    const { baseDelayMs, maxDelayMs, maxRetryAfterMs } = this.options.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    // Equal jitter: never less than half the step, so backoff still grows; never in lockstep.
    const backoff = ceiling / 2 + Math.random() * (ceiling / 2);
    const retryAfter = retryAfterOf(err);
    if (retryAfter === undefined) return backoff;
    if (retryAfter > maxRetryAfterMs) return undefined;
    return Math.max(backoff, retryAfter);
  }

  #enqueue(signal: AbortSignal | undefined): Promise<void> {
    const { maxQueue, maxConcurrent } = this.options.bulkhead;
    if (this.#queue.length >= maxQueue) {
      return Promise.reject(
        new BulkheadFullError(
          `${this.name} has ${maxConcurrent} calls in flight and ${maxQueue} waiting; retry shortly`,
          { details: { service: this.name }, headers: { 'retry-after': '1' } },
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const i = this.#queue.indexOf(waiter);
          if (i !== -1) this.#queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
    });
  }

  #release(): void {
    const waiter = this.#queue.shift();
    if (waiter === undefined) return;
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve();
  }

  #observe(s: CircuitState): void {
    if (this.#resetting) return;
    const from = this.#state;
    let to: BreakerState;
    if (s === CircuitState.Open || s === CircuitState.Isolated) {
      // Mirrors cockatiel's backoff: the first open after closed waits openMs, every failed probe doubles it.
      this.#openForMs =
        from === 'half-open'
          ? Math.min(this.options.breaker.maxOpenMs, this.#openForMs * 2)
          : this.options.breaker.openMs;
      this.#openedAt = Date.now();
      to = 'open';
    } else if (s === CircuitState.HalfOpen) {
      to = 'half-open';
    } else {
      to = 'closed';
      this.#openForMs = 0;
    }
    this.#state = to;
    const last = this.#breaker.lastFailure;
    const reason =
      to === 'open' && last !== undefined && 'error' in last ? (last.error as Error).message : undefined;
    this.#onTransition({
      service: this.name,
      from,
      to,
      ...(to === 'open' ? { openForMs: this.#openForMs } : {}),
      ...(reason !== undefined ? { reason } : {}),
    });
  }
}

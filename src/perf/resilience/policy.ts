/**
 * One service's resilience: bulkhead -> retry loop -> circuit breaker (circuit.ts) -> attempt with
 * a timeout (deadlines.ts).
 *
 * The success path is what every provider call pays, so it is kept to: a bulkhead counter, one
 * compare of the breaker's state, one small context object for the attempt, and one `.then` that
 * records the success and leaves the bulkhead. No clock read, no timer, no AbortController: waits,
 * timers and controllers appear only when something goes wrong or when the attempt asks for its
 * signal. Everything else (queued calls, retries, a breaker that is not closed) takes the slower
 * async paths below.
 */
import { type BreakerState, Circuit, type Transition } from './circuit.ts';
import { type Attempt, Deadlines } from './deadlines.ts';
import { BulkheadFullError, CircuitOpenError, UpstreamTimeoutError } from './errors.ts';
import { type FailureKind, failureKind, retryAfterOf } from './failure.ts';
import type { ResolvedOptions } from './options.ts';

/** What an attempt receives. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborts on the per-attempt timeout or when the caller's signal aborts. */
  readonly signal: AbortSignal;
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

/** The failure kind as the retry loop and the breaker see it: a fired deadline is a timeout. */
function kindOf(err: unknown): FailureKind {
  return err instanceof UpstreamTimeoutError ? 'timeout' : failureKind(err);
}

/** 5xx, timeouts and connect errors say the service is unwell; 429 and other 4xx do not. */
function countsForBreaker(err: unknown): boolean {
  const kind = kindOf(err);
  return kind === 'server' || kind === 'timeout' || kind === 'connect';
}

const ignore = () => {};

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class ServicePolicy {
  readonly name: string;
  readonly options: ResolvedOptions;
  readonly #circuit: Circuit;
  readonly #deadlines: Deadlines | undefined;
  readonly #queue: Waiter[] = [];
  readonly #maxConcurrent: number;
  #active = 0;

  constructor(name: string, options: ResolvedOptions, onTransition: (t: Transition) => void) {
    this.name = name;
    this.options = options;
    this.#maxConcurrent = options.bulkhead.maxConcurrent;
    this.#circuit = new Circuit(name, options.breaker, countsForBreaker, onTransition);
    if (options.timeoutMs > 0) {
      const timeoutMs = options.timeoutMs;
      this.#deadlines = new Deadlines(
        timeoutMs,
        () => new UpstreamTimeoutError(`${name} did not answer within ${timeoutMs} ms`),
      );
    }
  }

  get state(): BreakerState {
    return this.#circuit.state;
  }

  /** ms until an open circuit lets a probe through (0 when not open). */
  get retryAfterMs(): number {
    return this.#circuit.retryAfterMs;
  }

  get inFlight(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get window(): { successes: number; failures: number } {
    return this.#circuit.window;
  }

  execute<T>(fn: (ctx: AttemptContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#active >= this.#maxConcurrent) return this.#queued(fn, signal);
    this.#active++;
    if (!this.#circuit.closed) return this.#run(fn, signal);
    // The first attempt on a closed circuit is chained by hand rather than awaited in an async
    // function: measured ~60 ns cheaper per call (bench/scenarios/resilience.ts). The closure
    // for the failure path costs a few ns; it is what lets a failure reach `fn` again.
    return this.#attempt(fn, 1, signal).then(this.#onSuccess, (err: unknown) =>
      this.#afterFirstFailure(err, fn, signal),
    );
  }

  readonly #onSuccess = <T>(value: T): T => {
    this.#circuit.succeeded();
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
    return this.#run(fn, signal);
  }

  /** A call that holds a bulkhead slot, on the slow path: every attempt asks the breaker. */
  async #run<T>(fn: (ctx: AttemptContext) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
      this.#circuit.failed(err);
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
        return await this.#guarded(fn, attempt, signal);
      } catch (err) {
        await this.#backoff(err, attempt, signal);
      }
    }
  }

  /** One attempt under the breaker: run, fail fast while open, or be (or wait for) the half-open trial. */
  async #guarded<T>(
    fn: (ctx: AttemptContext) => Promise<T>,
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    for (;;) {
      const admission = this.#circuit.admit(); // throws CircuitOpenError while open
      if (admission === 'run') {
        try {
          const value = await this.#attempt(fn, attempt, signal);
          this.#circuit.succeeded();
          return value;
        } catch (err) {
          this.#circuit.failed(err);
          throw err;
        }
      }
      if (admission === 'trial') {
        // Chained, not awaited: calls waiting on the trial must see the state it left behind.
        const trial = this.#attempt(fn, attempt, signal).then(this.#onTrialSuccess, this.#onTrialFailure);
        this.#circuit.trialStarted(trial);
        return await trial;
      }
      // Half-open: wait for the trial's outcome whatever it is, then ask again.
      await admission.then(ignore, ignore);
    }
  }

  readonly #onTrialSuccess = <T>(value: T): T => {
    this.#circuit.trialSucceeded();
    return value;
  };

  readonly #onTrialFailure = (err: unknown): never => {
    this.#circuit.trialFailed(err);
    throw err;
  };

  /** Waits before the next attempt, or throws the failure when it must not be retried. */
  async #backoff(err: unknown, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    if (attempt >= this.options.retry.maxAttempts || signal?.aborted) throw err;
    const delay = this.#retryDelay(err, attempt);
    if (delay === undefined) throw err;
    await sleep(delay, signal);
  }

  /** Closes the circuit and forgets the failure window. */
  reset(): void {
    this.#circuit.reset();
  }

  close(): void {
    this.#deadlines?.close();
    this.#circuit.close();
    for (const waiter of this.#queue.splice(0)) {
      waiter.reject(new BulkheadFullError(`${this.name} is closing`));
    }
  }

  #attempt<T>(fn: (ctx: AttemptContext) => Promise<T>, attempt: number, signal?: AbortSignal): Promise<T> {
    const ctx = new AttemptContextImpl(attempt, this.#deadlines, signal);
    let pending: Promise<T>;
    try {
      pending = fn(ctx);
      // A plain value (from a non-async fn) must not break the chain and leak a bulkhead slot.
      if (!(pending instanceof Promise)) pending = Promise.resolve(pending);
    } catch (err) {
      // A synchronous throw is a failed attempt like any other.
      if (ctx.entry !== undefined) this.#deadlines?.finish(ctx.entry);
      return Promise.reject(err);
    }
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

  /** Backoff before the next attempt, or undefined when the failure must not be retried. */
  #retryDelay(err: unknown, attempt: number): number | undefined {
    if (err instanceof CircuitOpenError) return undefined;
    const kind = kindOf(err);
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
}

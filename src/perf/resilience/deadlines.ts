/**
 * Per-attempt timeouts without a timer per call.
 *
 * A `setTimeout` + `clearTimeout` pair and an AbortController per call cost more than the rest of
 * the resilience wrapper together. Instead, one interval per service sweeps the attempts in flight
 * every `resolutionMs`; an attempt's AbortController is created only if the attempt asks for its
 * signal (an HTTP call does; a cache hit never gets here). Every attempt of one service has the
 * same timeout, so insertion order is deadline order and a sweep stops at the first live entry.
 *
 * Timeouts are cooperative: an expired attempt's signal aborts and the attempt is expected to
 * reject; an attempt that ignores its signal is waited for.
 */
export class Attempt {
  readonly attempt: number;
  /** Sweep tick at which the attempt expires. */
  readonly due: number;
  expired = false;
  #controller: AbortController | undefined;
  readonly #reason: () => Error;

  constructor(attempt: number, due: number, reason: () => Error) {
    this.attempt = attempt;
    this.due = due;
    this.#reason = reason;
  }

  /** Aborts when the attempt times out. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.expired) this.#controller.abort(this.#reason());
    }
    return this.#controller.signal;
  }

  expire(): void {
    this.expired = true;
    this.#controller?.abort(this.#reason());
  }
}

export class Deadlines {
  readonly #resolutionMs: number;
  readonly #ticksPerTimeout: number;
  readonly #live = new Set<Attempt>();
  readonly #reason: () => Error;
  #tick = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    timeoutMs: number,
    reason: () => Error,
    resolutionMs = Math.min(25, Math.max(1, timeoutMs / 10)),
  ) {
    this.#resolutionMs = resolutionMs;
    this.#ticksPerTimeout = Math.ceil(timeoutMs / resolutionMs);
    this.#reason = reason;
  }

  start(attempt: number): Attempt {
    // +1: the current tick is already partly over, and an attempt must get its full timeout.
    const entry = new Attempt(attempt, this.#tick + this.#ticksPerTimeout + 1, this.#reason);
    this.#live.add(entry);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), this.#resolutionMs);
      this.#timer.unref();
    }
    return entry;
  }

  finish(entry: Attempt): void {
    this.#live.delete(entry);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#live.clear();
  }

  #sweep(): void {
    this.#tick++;
    for (const entry of this.#live) {
      if (entry.due > this.#tick) break;
      this.#live.delete(entry);
      entry.expire();
    }
    if (this.#live.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

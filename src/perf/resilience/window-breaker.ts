/**
 * Failure-rate window of one circuit breaker: successes and failures over a sliding time window.
 *
 * The window is a ring of buckets; a call only touches the current bucket, so the cost per call
 * is constant. `failure()` says whether the circuit should open: at least `minimumVolume` calls
 * fell in the window and the share of failures reaches `threshold`.
 *
 * A success reads no clock: `Date.now()` costs about a third of the whole success path on our
 * machines. Instead a timer, armed for the end of the current bucket, moves the ring on; it runs
 * only while the window holds counts, and catches up on buckets it missed when the event loop was
 * busy. Until it fires (a long run of microtasks can delay it), successes land in the bucket that
 * just ended, so they leave the window at most one bucket early. A failure rotates with a fresh
 * clock read first, so the decision to open always sees the exact window.
 */

export interface WindowBreakerOptions {
  /** Failure share (0..1] that opens the circuit. */
  threshold: number;
  /** Length of the sliding window in ms. */
  windowMs: number;
  /** Calls needed in the window before the rate counts. */
  minimumVolume: number;
  /** Buckets the window is split into. @default 10 */
  buckets?: number;
}

export class WindowBreaker {
  readonly #threshold: number;
  readonly #minimumVolume: number;
  readonly #bucketMs: number;
  readonly #successes: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #onTick = () => this.#tick();
  #index = 0;
  /** Epoch ms at which the current bucket ends; 0 when the window is empty and no timer runs. */
  #bucketEnd = 0;
  #timer: NodeJS.Timeout | undefined;
  #totalSuccesses = 0;
  #totalFailures = 0;

  constructor(options: WindowBreakerOptions) {
    const buckets = options.buckets ?? 10;
    this.#threshold = options.threshold;
    this.#minimumVolume = options.minimumVolume;
    this.#bucketMs = Math.max(1, Math.floor(options.windowMs / buckets));
    this.#successes = new Uint32Array(buckets);
    this.#failures = new Uint32Array(buckets);
  }

  /** Counts in the window, for status views. */
  get counts(): { successes: number; failures: number } {
    this.#rotate(Date.now());
    return { successes: this.#totalSuccesses, failures: this.#totalFailures };
  }

  success(): void {
    if (this.#timer === undefined) this.#start(Date.now());
    this.#successes[this.#index]!++;
    this.#totalSuccesses++;
  }

  /** Records a failure; true when the circuit should open. */
  failure(): boolean {
    const now = Date.now();
    if (this.#timer === undefined) this.#start(now);
    else this.#rotate(now);
    this.#failures[this.#index]!++;
    this.#totalFailures++;
    const total = this.#totalFailures + this.#totalSuccesses;
    return total >= this.#minimumVolume && this.#totalFailures / total >= this.#threshold;
  }

  /** Forgets every count. */
  reset(): void {
    this.close();
    this.#successes.fill(0);
    this.#failures.fill(0);
    this.#totalSuccesses = 0;
    this.#totalFailures = 0;
    this.#bucketEnd = 0;
  }

  /** Stops the timer; counts recorded later start it again. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #start(now: number): void {
    this.#rotate(now);
    this.#arm(now);
  }

  #arm(now: number): void {
    // +1: a timer may fire a little before the bucket's end by Date.now(); the tick re-arms then.
    this.#timer = setTimeout(this.#onTick, this.#bucketEnd - now + 1);
    this.#timer.unref();
  }

  #tick(): void {
    const now = Date.now();
    this.#rotate(now);
    if (this.#totalSuccesses === 0 && this.#totalFailures === 0) {
      this.#timer = undefined;
      return;
    }
    this.#arm(now);
  }

  #rotate(now: number): void {
    if (now < this.#bucketEnd) return;
    const size = this.#successes.length;
    // Advance one bucket per elapsed bucket length, clearing each; a long gap clears them all.
    const steps =
      this.#bucketEnd === 0 ? size : Math.min(size, Math.floor((now - this.#bucketEnd) / this.#bucketMs) + 1);
    for (let i = 0; i < steps; i++) {
      this.#index = (this.#index + 1) % size;
      this.#totalSuccesses -= this.#successes[this.#index]!;
      this.#totalFailures -= this.#failures[this.#index]!;
      this.#successes[this.#index] = 0;
      this.#failures[this.#index] = 0;
    }
    this.#bucketEnd = now - (now % this.#bucketMs) + this.#bucketMs;
  }
}

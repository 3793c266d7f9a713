/**
 * Failure-rate breaker over a sliding time window, for cockatiel's CircuitBreakerPolicy.
 *
 * The window is a ring of buckets; a call only touches the current bucket, so the cost per call
 * is constant. It opens when at least `minimumVolume` calls fell in the window and the share of
 * failures reaches `threshold`. Half-open outcomes clear the window: after recovery, old failures
 * must not re-open the circuit on the first new one.
 */
import { CircuitState, type IBreaker } from 'cockatiel';

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

export class WindowBreaker implements IBreaker {
  readonly #threshold: number;
  readonly #minimumVolume: number;
  readonly #bucketMs: number;
  readonly #successes: Uint32Array;
  readonly #failures: Uint32Array;
  #index = 0;
  #bucketEnd = 0;
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

  get state(): unknown {
    return { successes: [...this.#successes], failures: [...this.#failures] };
  }

  set state(_value: unknown) {
    // Restoring a window from another process would replay stale counts; start fresh instead.
    this.reset();
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) {
      this.reset();
      return;
    }
    this.#rotate(Date.now());
    this.#successes[this.#index]!++;
    this.#totalSuccesses++;
  }

  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen) {
      this.reset();
      return true;
    }
    this.#rotate(Date.now());
    this.#failures[this.#index]!++;
    this.#totalFailures++;
    const total = this.#totalFailures + this.#totalSuccesses;
    return total >= this.#minimumVolume && this.#totalFailures / total >= this.#threshold;
  }

  reset(): void {
    this.#successes.fill(0);
    this.#failures.fill(0);
    this.#totalSuccesses = 0;
    this.#totalFailures = 0;
    this.#bucketEnd = 0;
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

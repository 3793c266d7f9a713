/**
 * The L2 breaker. After `threshold` consecutive failures it opens: Redis is left out of the path
 * for `pause` (doubling after each failed probe, up to 8×), then one call goes through as a
 * probe; its success closes the breaker, its failure opens it again.
 *
 * Failures less than SAME_EVENT_MS apart count once: a single event-loop stall times out every
 * call in flight at the same moment, and that is one incident, not a hundred.
 */

const SAME_EVENT_MS = 10;

export type BreakerState =
  | { state: 'closed'; failures: number; lastFailureAt: number }
  | { state: 'open'; openedAt: number; attempt: number }
  | { state: 'half-open'; attempt: number };

export class Breaker {
  #s: BreakerState = { state: 'closed', failures: 0, lastFailureAt: 0 };
  readonly #threshold: number;
  readonly #pause: number;
  readonly #onChange: (to: BreakerState['state'], from: BreakerState['state']) => void;

  constructor(
    threshold: number,
    pause: number,
    onChange: (to: BreakerState['state'], from: BreakerState['state']) => void,
  ) {
    this.#threshold = threshold;
    this.#pause = pause;
    this.#onChange = onChange;
  }

  get state(): BreakerState['state'] {
    return this.#s.state;
  }

  /** May a call go to Redis now? In half-open, only the one probe may. */
  allow(): boolean {
    const s = this.#s;
    if (s.state === 'closed') return true;
    if (s.state === 'half-open') return false;
    if (Date.now() - s.openedAt < this.#pause * 2 ** Math.min(s.attempt - 1, 3)) return false;
    this.#set({ state: 'half-open', attempt: s.attempt });
    return true;
  }

  success(): void {
    const s = this.#s;
    if (s.state === 'closed') {
      s.failures = 0;
      return;
    }
    this.#set({ state: 'closed', failures: 0, lastFailureAt: 0 });
  }

  failure(): void {
    const s = this.#s;
    if (s.state === 'closed') {
      const now = Date.now();
      if (now - s.lastFailureAt < SAME_EVENT_MS) return;
      s.lastFailureAt = now;
      s.failures++;
      if (s.failures >= this.#threshold) this.#set({ state: 'open', openedAt: Date.now(), attempt: 1 });
    } else if (s.state === 'half-open') {
      this.#set({ state: 'open', openedAt: Date.now(), attempt: s.attempt + 1 });
    }
  }

  #set(next: BreakerState): void {
    const from = this.#s.state;
    this.#s = next;
    if (from !== next.state) this.#onChange(next.state, from);
  }
}

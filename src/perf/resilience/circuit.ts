/**
 * The circuit breaker state machine of one service: closed -> open -> half-open -> closed or open.
 *
 * - Closed: calls run; the outcome of every call that started closed is recorded in the failure
 *   window, and the circuit opens when `WindowBreaker.failure()` says so.
 * - Open: calls fail at once with CIRCUIT_OPEN, until `openForMs` has passed; then the next call
 *   becomes the one trial call and the circuit is half-open.
 * - Half-open: other calls wait for the trial's outcome and then start over (run if it closed the
 *   circuit, fail fast if it re-opened it). A successful trial closes the circuit and clears the
 *   window; a counted failure re-opens it for twice as long, up to `maxOpenMs`; an error that does
 *   not count (4xx, a caller's abort) closes it, since it says nothing against the service.
 *
 * Only failures for which `counts(err)` holds are recorded; other errors are recorded neither as
 * failures nor as successes. These are the semantics of cockatiel's CircuitBreakerPolicy with an
 * exponential half-open backoff, which this replaces: the closed path here is a field compare and
 * two counter increments, where cockatiel's costs two async frames per call.
 */
import { CircuitOpenError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import { WindowBreaker } from './window-breaker.ts';

export type BreakerState = 'closed' | 'half-open' | 'open';

export interface Transition {
  service: string;
  from: BreakerState;
  to: BreakerState;
  /** While open: ms until the next probe is allowed. */
  openForMs?: number;
  reason?: string;
}

type State =
  | { readonly state: 'closed' }
  | { readonly state: 'open'; readonly openedAt: number; readonly openForMs: number }
  | { readonly state: 'half-open'; readonly openForMs: number; readonly trial: Promise<unknown> };

/** Shared: closing allocates nothing, and the hot path compares one field. */
const CLOSED: State = { state: 'closed' };

/** What `admit()` decides for a call while the circuit is not closed. */
export type Admission =
  /** Run the call as any closed call. */
  | 'run'
  /** Run the call as the trial, and report its outcome with `trialSucceeded` / `trialFailed`. */
  | 'trial'
  /** Wait for the trial in flight, then ask again. */
  | Promise<unknown>;

export class Circuit {
  readonly #name: string;
  readonly #openMs: number;
  readonly #maxOpenMs: number;
  readonly #counts: (err: unknown) => boolean;
  readonly #onTransition: (t: Transition) => void;
  readonly #window: WindowBreaker;
  #state: State = CLOSED;
  /** The counted failure that last opened or kept the circuit open: the transition's reason. */
  #lastFailure: unknown;

  constructor(
    name: string,
    options: ResolvedOptions['breaker'],
    counts: (err: unknown) => boolean,
    onTransition: (t: Transition) => void,
  ) {
    this.#name = name;
    this.#openMs = options.openMs;
    this.#maxOpenMs = options.maxOpenMs;
    this.#counts = counts;
    this.#onTransition = onTransition;
    this.#window = new WindowBreaker(options);
  }

  get state(): BreakerState {
    return this.#state.state;
  }

  /** True on the hot path: a call may run without asking `admit()`. */
  get closed(): boolean {
    return this.#state === CLOSED;
  }

  /** ms until an open circuit lets a probe through (0 when not open). */
  get retryAfterMs(): number {
    const s = this.#state;
    if (s.state !== 'open') return 0;
    return Math.max(0, s.openedAt + s.openForMs - Date.now());
  }

  get window(): { successes: number; failures: number } {
    return this.#window.counts;
  }

  /**
   * For a call while the circuit is not closed: run it, run it as the trial, or wait for the
   * trial in flight. Throws CircuitOpenError while the open interval lasts. A caller that gets
   * 'trial' must call `trialStarted` with the trial's promise before yielding.
   */
  admit(): Admission {
    const s = this.#state;
    if (s.state === 'closed') return 'run';
    if (s.state === 'half-open') return s.trial;
    if (Date.now() - s.openedAt < s.openForMs) throw this.#openError();
    return 'trial';
  }

  /** The call admitted as the trial is under way: the circuit is half-open until it settles. */
  trialStarted(trial: Promise<unknown>): void {
    const s = this.#state;
    if (s.state !== 'open') return;
    this.#state = { state: 'half-open', openForMs: s.openForMs, trial };
    this.#report('open', 'half-open');
  }

  /** Outcome of a call that started while the circuit was closed. */
  succeeded(): void {
    this.#window.success();
  }

  /** Outcome of a call that started while the circuit was closed. */
  failed(err: unknown): void {
    if (!this.#counts(err)) return;
    this.#lastFailure = err;
    if (this.#window.failure()) this.#open();
  }

  trialSucceeded(): void {
    this.#window.reset();
    this.#close();
  }

  trialFailed(err: unknown): void {
    if (!this.#counts(err)) {
      this.#close();
      return;
    }
    this.#lastFailure = err;
    this.#window.reset();
    this.#open();
  }

  /** Closes the circuit by hand and forgets the window; a trial in flight still reports its outcome. */
  reset(): void {
    this.#window.reset();
    const from = this.#state.state;
    this.#state = CLOSED;
    if (from !== 'closed')
      this.#onTransition({ service: this.#name, from, to: 'closed', reason: 'manual reset' });
  }

  close(): void {
    this.#window.close();
  }

  #open(): void {
    const s = this.#state;
    if (s.state === 'open') return;
    // The first opening waits openMs; each failed trial doubles the interval it re-opens for.
    const openForMs = s.state === 'half-open' ? Math.min(this.#maxOpenMs, s.openForMs * 2) : this.#openMs;
    this.#state = { state: 'open', openedAt: Date.now(), openForMs };
    this.#report(s.state, 'open');
  }

  /** Only a trial's outcome closes the circuit (a manual reset has closed it already). */
  #close(): void {
    if (this.#state.state !== 'half-open') return;
    this.#state = CLOSED;
    this.#report('half-open', 'closed');
  }

  #report(from: BreakerState, to: BreakerState): void {
    const t: Transition = { service: this.#name, from, to };
    if (to === 'open') {
      const s = this.#state;
      if (s.state === 'open') t.openForMs = s.openForMs;
      const reason = (this.#lastFailure as { message?: unknown } | null | undefined)?.message;
      if (typeof reason === 'string') t.reason = reason;
    }
    this.#onTransition(t);
  }

  #openError(): Error {
    const ms = this.retryAfterMs;
    return new CircuitOpenError(
      `the circuit breaker for ${this.#name} is open; retry in ${Math.ceil(ms / 1000)} s`,
      {
        cause: this.#lastFailure,
        details: { service: this.#name },
        headers: { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) },
      },
    );
  }
}

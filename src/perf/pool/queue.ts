/**
 * The bounded FIFO of borrowers waiting for an object.
 *
 * Every waiter has the same timeout, so deadlines rise from head to tail: one timer, armed for the
 * head's deadline, serves the whole queue. A timer per waiter cost more than the rest of a
 * contended borrow put together.
 */
export interface Waiter<T> {
  resolve(obj: T): void;
  reject(err: unknown): void;
  /** performance.now() when the borrower started waiting. */
  since: number;
  deadline: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Left the queue early (aborted); skipped when reached. */
  cancelled: boolean;
}

export class WaitQueue<T> {
  #items: (Waiter<T> | undefined)[] = [];
  #head = 0;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #armedFor = 0;
  #timeoutMs: number;
  #onTimeout: (w: Waiter<T>) => void;

  constructor(timeoutMs: number, onTimeout: (w: Waiter<T>) => void) {
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  get length(): number {
    return this.#size;
  }

  push(w: Omit<Waiter<T>, 'since' | 'deadline' | 'cancelled'>): Waiter<T> {
    const now = performance.now();
    const waiter = w as Waiter<T>;
    waiter.since = now;
    waiter.deadline = now + this.#timeoutMs;
    waiter.cancelled = false;
    this.#items.push(waiter);
    this.#size++;
    if (this.#timer === undefined) this.#arm(waiter.deadline);
    return waiter;
  }

  /** The longest waiter still waiting, taken out of the queue. */
  shift(): Waiter<T> | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head];
      items[this.#head++] = undefined;
      if (w !== undefined && !w.cancelled) {
        this.#size--;
        this.#compact();
        this.#detach(w);
        return w;
      }
    }
    return undefined;
  }

  /** Takes a waiter out wherever it is (its borrower gave up). */
  cancel(w: Waiter<T>): void {
    if (w.cancelled) return;
    w.cancelled = true;
    this.#size--;
    this.#detach(w);
  }

  drain(): Waiter<T>[] {
    const out: Waiter<T>[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return out;
  }

  #detach(w: Waiter<T>): void {
    if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#size === 0) {
      this.#items.length = 0;
      this.#head = 0;
    }
  }

  #arm(deadline: number): void {
    this.#armedFor = deadline;
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(deadline - performance.now())));
    this.#timer.unref();
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head];
      if (w === undefined || w.cancelled) {
        items[this.#head++] = undefined;
        continue;
      }
      if (w.deadline > now) {
        this.#arm(Math.max(w.deadline, this.#armedFor));
        return;
      }
      items[this.#head++] = undefined;
      this.#size--;
      this.#detach(w);
      this.#onTimeout(w);
    }
    this.#compact();
  }
}

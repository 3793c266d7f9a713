/**
 * A bounded write-behind buffer: `push` is synchronous and never waits for the database; a single
 * writer drains the buffer in batches every `flushIntervalMs`, or at once when `maxBatch` items
 * are waiting. A failed batch stays at the head of the buffer and is retried with exponential
 * backoff (with jitter) until the sink recovers, so nothing is lost while the process lives and
 * the buffer has room. When it is full, new items are refused and counted (the caller keeps
 * serving: recording must never take the gateway down). `close` flushes what is left, retrying
 * until its deadline.
 *
 * The sink must be idempotent: a batch whose commit succeeded but whose reply was lost is written
 * again on retry.
 */

export interface Sink<T> {
  write(batch: T[]): Promise<void>;
}

export interface WriteBehindOptions {
  /** Flush at least this often while items wait. @default 200 */
  flushIntervalMs?: number;
  /** Items per write; a full batch flushes at once. @default 5000 */
  maxBatch?: number;
  /** Items held at most (waiting and in flight); beyond it `push` refuses. @default 200000 */
  maxBuffered?: number;
  /** First retry delay after a failed write. @default 100 */
  retryBaseMs?: number;
  /** Longest retry delay. @default 5000 */
  retryMaxMs?: number;
  /** Called on every failed write (for logs and metrics). */
  onError?: (err: unknown, batchSize: number, attempt: number) => void;
  /** Called after every successful write. */
  onWrite?: (batchSize: number, ms: number) => void;
  /** Called when a push is refused because the buffer is full. */
  onDrop?: (count: number) => void;
}

export interface WriteBehindStats {
  buffered: number;
  written: number;
  dropped: number;
  failures: number;
  /** Consecutive failures of the current batch (0 while healthy). */
  attempt: number;
}

export interface WriteBehind<T> {
  /** Buffers an item; false when the buffer is full and the item was refused. */
  push(item: T): boolean;
  /** Writes everything buffered now; rejects if a write fails (the items stay buffered). */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, retrying until `deadlineMs`; returns items lost. */
  close(deadlineMs?: number): Promise<number>;
  stats(): WriteBehindStats;
}

export function createWriteBehind<T>(sink: Sink<T>, options: WriteBehindOptions = {}): WriteBehind<T> {
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxBatch = options.maxBatch ?? 5000;
  const maxBuffered = options.maxBuffered ?? 200_000;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5000;

  let items: T[] = [];
  let written = 0;
  let dropped = 0;
  let failures = 0;
  let attempt = 0;
  let retryAt = 0;
  let closed = false;
  let running: Promise<void> | undefined;
  let kick: NodeJS.Immediate | undefined;

  const timer = setInterval(() => {
    if (items.length > 0 && Date.now() >= retryAt) void drain().catch(() => {});
  }, flushIntervalMs);
  timer.unref();

  /** One writer at a time; a second caller waits for the running drain, then drains again. */
  function drain(): Promise<void> {
    if (running !== undefined) return running.then(() => (items.length > 0 ? drain() : undefined));
    running = (async () => {
      try {
        while (items.length > 0) {
          const batch = items.slice(0, maxBatch);
          const started = performance.now();
          try {
            await sink.write(batch);
          } catch (err) {
            failures++;
            attempt++;
            const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
            retryAt = Date.now() + delay * (0.5 + Math.random() / 2);
            options.onError?.(err, batch.length, attempt);
            throw err;
          }
          // Items pushed meanwhile were appended after the batch, so the batch is still the head.
          items = items.length === batch.length ? [] : items.slice(batch.length);
          written += batch.length;
          attempt = 0;
          retryAt = 0;
          options.onWrite?.(batch.length, performance.now() - started);
        }
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  return {
    push(item) {
      if (items.length >= maxBuffered) {
        dropped++;
        options.onDrop?.(1);
        return false;
      }
      items.push(item);
      // A full batch goes out now rather than waiting for the timer, unless we are backing off.
      if (
        items.length >= maxBatch &&
        running === undefined &&
        kick === undefined &&
        !closed &&
        Date.now() >= retryAt
      ) {
        kick = setImmediate(() => {
          kick = undefined;
          void drain().catch(() => {});
        });
      }
      return true;
    },
    flush: () => drain(),
    async close(deadlineMs = 10_000) {
      closed = true;
      clearInterval(timer);
      if (kick !== undefined) clearImmediate(kick);
      const deadline = Date.now() + deadlineMs;
      while (items.length > 0) {
        try {
          await drain();
        } catch {
          const wait = Math.min(Math.max(0, retryAt - Date.now()), deadline - Date.now());
          if (wait <= 0 && Date.now() >= deadline) break;
          await new Promise((r) => setTimeout(r, Math.max(1, wait)));
        }
        if (Date.now() >= deadline && items.length > 0) break;
      }
      const lost = items.length;
      items = [];
      return lost;
    },
    stats: () => ({ buffered: items.length, written, dropped, failures, attempt }),
  };
}

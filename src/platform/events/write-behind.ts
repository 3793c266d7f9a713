/**
 * A bounded write-behind buffer: `push` is synchronous and never waits for the database; a single
 * writer drains the buffer in batches every `flushIntervalMs`, or at once when `maxBatch` items
 * are waiting. A failed batch stays at the head of the buffer and is retried with exponential
 * backoff (with jitter) until the sink recovers, so nothing is lost while the process lives and
 * the buffer has room. When it is full, new items are refused and counted (the caller keeps
 * serving: recording must never take the gateway down). `close` flushes what is left, retrying
 * until its deadline.
 *
 * Retrying cannot fix every failure: a batch holding one item the sink can never write (a value
 * the database refuses) would stay at the head forever and block everything behind it. When
 * `isUnwritable` says a failure is of that kind, the batch is split in halves, and halves of
 * halves, until the bad items stand alone; those are dropped (`onReject`), the rest is written.
 * k bad items in a batch of n cost about 2k·log2(n/k) extra writes. A transient failure during
 * the split keeps what is left at the head and backs off as usual.
 *
 * The sink must be idempotent: a batch whose commit succeeded but whose reply was lost is written
 * again on retry.
 */

export interface Sink<T> {
  write(batch: T[]): Promise<void>;
}

export interface WriteBehindOptions<T = unknown> {
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
  /**
   * True for a failure that retrying the same items can never fix (bad data, as opposed to an
   * unreachable sink): the batch is split to isolate and drop the unwritable items.
   * @default () => false (every failure is retried)
   */
  isUnwritable?: (err: unknown) => boolean;
  /** Called on every failed write that is retried (for logs and metrics). */
  onError?: (err: unknown, batchSize: number, attempt: number) => void;
  /** Called for an item dropped because the sink can never write it (see `isUnwritable`). */
  onReject?: (item: T, err: unknown) => void;
  /** Called after every successful write. */
  onWrite?: (batchSize: number, ms: number) => void;
  /** Called when a push is refused because the buffer is full. */
  onDrop?: (count: number) => void;
}

export interface WriteBehindStats {
  buffered: number;
  written: number;
  dropped: number;
  /** Items dropped because the sink refused them as unwritable. */
  rejected: number;
  failures: number;
  /** Consecutive failures of the current batch (0 while healthy). */
  attempt: number;
}

export interface WriteBehind<T> {
  /** Buffers an item; false when the buffer is full and the item was refused. */
  push(item: T): boolean;
  /**
   * Writes everything buffered now; rejects if a write fails and will be retried (the items stay
   * buffered). Unwritable items are dropped, not a reason to reject.
   */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, retrying until `deadlineMs`; returns items lost. */
  close(deadlineMs?: number): Promise<number>;
  stats(): WriteBehindStats;
}

export function createWriteBehind<T>(sink: Sink<T>, options: WriteBehindOptions<T> = {}): WriteBehind<T> {
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxBatch = options.maxBatch ?? 5000;
  const maxBuffered = options.maxBuffered ?? 200_000;
  const retryBaseMs = options.retryBaseMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const isUnwritable = options.isUnwritable ?? (() => false);

  let items: T[] = [];
  let written = 0;
  let dropped = 0;
  let rejected = 0;
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
    // Nothing to write: the async body below would not await, so its `finally` would run before
    // `running` is assigned and leave it set for good; every later drain would then chain on it
    // without end (a flush of an empty buffer made the next push spin the process out of memory).
    if (items.length === 0) return Promise.resolve();
    running = (async () => {
      try {
        while (items.length > 0) await writeHead(items.slice(0, maxBatch));
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  /**
   * Writes `batch`, the head of the buffer. Chunks are written in order, the left half of a split
   * before the right, so what is done (written or rejected) is always a prefix of the head and
   * leaves it at once: a transient failure mid-split retries only the rest.
   */
  async function writeHead(batch: T[]): Promise<void> {
    const chunks = [batch];
    while (chunks.length > 0) {
      const chunk = chunks.pop()!;
      const started = performance.now();
      try {
        await sink.write(chunk);
      } catch (err) {
        if (!isUnwritable(err)) {
          failures++;
          attempt++;
          const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
          retryAt = Date.now() + delay * (0.5 + Math.random() / 2);
          options.onError?.(err, chunk.length, attempt);
          throw err;
        }
        if (chunk.length > 1) {
          const half = Math.ceil(chunk.length / 2);
          chunks.push(chunk.slice(half), chunk.slice(0, half));
          continue;
        }
        // The sink answered, so it is up: a backoff from earlier failures ends here too.
        consume(1);
        rejected++;
        attempt = 0;
        retryAt = 0;
        options.onReject?.(chunk[0]!, err);
        continue;
      }
      consume(chunk.length);
      written += chunk.length;
      attempt = 0;
      retryAt = 0;
      options.onWrite?.(chunk.length, performance.now() - started);
    }
  }

  /** Removes `n` items from the head: items pushed meanwhile were appended after it. */
  function consume(n: number): void {
    items = items.length === n ? [] : items.slice(n);
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
    stats: () => ({ buffered: items.length, written, dropped, rejected, failures, attempt }),
  };
}

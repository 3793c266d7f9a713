import { afterEach, describe, expect, it } from 'vitest';
import {
  createWriteBehind,
  type Sink,
  type WriteBehind,
  type WriteBehindOptions,
} from '../src/platform/events/write-behind.ts';
import { waitFor } from './helpers/http.ts';

const until = (check: () => Promise<boolean> | boolean, ms = 5000) => waitFor(check, ms, 5);

/** A sink that records batches; `down` makes it fail like an unreachable database. */
function chaosSink(): Sink<number> & { batches: number[][]; down: boolean; calls: number } {
  const sink = {
    batches: [] as number[][],
    down: false,
    calls: 0,
    async write(batch: number[]) {
      sink.calls++;
      await new Promise((r) => setTimeout(r, 1));
      if (sink.down) throw new Error('connection refused');
      sink.batches.push([...batch]);
    },
  };
  return sink;
}

/** Stands for a data error (SQLSTATE class 22): the sink refuses any batch holding a negative item. */
class BadValueError extends Error {}
const isUnwritable = (err: unknown) => err instanceof BadValueError;

/** Like chaosSink, but refuses every batch that holds a negative number, as a database would. */
function pickySink(): ReturnType<typeof chaosSink> {
  const sink = chaosSink();
  const write = sink.write;
  sink.write = async (batch) => {
    if (!sink.down && batch.some((x) => x < 0)) {
      sink.calls++;
      throw new BadValueError('invalid byte sequence for encoding "UTF8": 0x00');
    }
    await write(batch);
  };
  return sink;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const open: WriteBehind<number>[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close(100);
});

function buffer(sink: Sink<number>, options: WriteBehindOptions<number> = {}) {
  const b = createWriteBehind(sink, options);
  open.push(b);
  return b;
}

describe('write-behind buffer', () => {
  it('writes a full batch at once, as one write', async () => {
    const sink = chaosSink();
    const b = buffer(sink, { flushIntervalMs: 60_000, maxBatch: 100 });
    for (let i = 0; i < 250; i++) b.push(i);
    await until(() => sink.batches.flat().length >= 200);
    expect(sink.batches.slice(0, 2).map((x) => x.length)).toEqual([100, 100]);
    // The remaining 50 wait for the timer or an explicit flush.
    await b.flush();
    expect(sink.batches.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('keeps working after a flush of an empty buffer', async () => {
    // Before: that flush left the writer marked as running for good, and the next drain chained
    // on itself until the process ran out of memory.
    const sink = chaosSink();
    const b = buffer(sink, { flushIntervalMs: 10 });
    await b.flush();
    b.push(1);
    await b.flush();
    b.push(2);
    await until(() => sink.batches.flat().length === 2);
    expect(sink.batches.flat()).toEqual([1, 2]);
  });

  it('writes a partial batch when the interval passes', async () => {
    const sink = chaosSink();
    const b = buffer(sink, { flushIntervalMs: 20, maxBatch: 1000 });
    b.push(1);
    b.push(2);
    await until(() => sink.batches.length === 1);
    expect(sink.batches[0]).toEqual([1, 2]);
  });

  it('retries with backoff while the sink is down and loses nothing after recovery, in order', async () => {
    const sink = chaosSink();
    const errors: number[] = [];
    const b = buffer(sink, {
      flushIntervalMs: 5,
      maxBatch: 50,
      retryBaseMs: 10,
      retryMaxMs: 40,
      onError: (_e, _n, attempt) => errors.push(attempt),
    });
    sink.down = true;
    for (let i = 0; i < 500; i++) {
      b.push(i);
      if (i % 100 === 0) await sleep(10);
    }
    await until(() => errors.length >= 4);
    expect(b.stats().buffered).toBe(500);
    // Backoff: attempts are spaced out, not hammering the database every tick.
    const callsWhileDown = sink.calls;
    expect(callsWhileDown).toBeLessThan(40);
    sink.down = false;
    await until(() => b.stats().buffered === 0);
    expect(sink.batches.flat()).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(b.stats()).toMatchObject({ written: 500, dropped: 0, attempt: 0 });
    expect(errors.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('refuses and counts items beyond its bound instead of growing without limit', async () => {
    const sink = chaosSink();
    sink.down = true;
    let dropped = 0;
    const b = buffer(sink, {
      flushIntervalMs: 60_000,
      maxBatch: 10,
      maxBuffered: 100,
      onDrop: (n) => (dropped += n),
    });
    let accepted = 0;
    for (let i = 0; i < 150; i++) if (b.push(i)) accepted++;
    expect(accepted).toBe(100);
    expect(dropped).toBe(50);
    expect(b.stats()).toMatchObject({ buffered: 100, dropped: 50 });
  });

  it('close flushes everything still buffered', async () => {
    const sink = chaosSink();
    const b = createWriteBehind(sink, { flushIntervalMs: 60_000, maxBatch: 1000 });
    for (let i = 0; i < 1234; i++) b.push(i);
    expect(await b.close()).toBe(0);
    expect(sink.batches.flat()).toHaveLength(1234);
  });

  it('close keeps retrying until the sink recovers within the deadline', async () => {
    const sink = chaosSink();
    sink.down = true;
    const b = createWriteBehind(sink, { flushIntervalMs: 60_000, retryBaseMs: 5, retryMaxMs: 20 });
    for (let i = 0; i < 10; i++) b.push(i);
    setTimeout(() => {
      sink.down = false;
    }, 100);
    expect(await b.close(5000)).toBe(0);
    expect(sink.batches.flat()).toHaveLength(10);
  });

  it('a batch holding an unwritable item no longer blocks the buffer: only that item is dropped', async () => {
    const sink = pickySink();
    const rejected: number[] = [];
    const errors: unknown[] = [];
    const b = buffer(sink, {
      flushIntervalMs: 60_000,
      maxBatch: 100,
      isUnwritable,
      onReject: (item) => rejected.push(item),
      onError: (err) => errors.push(err),
    });
    const items = Array.from({ length: 250 }, (_, i) => (i === 7 || i === 150 || i === 151 ? -i : i));
    for (const i of items) b.push(i);
    await b.flush();
    expect(rejected).toEqual([-7, -150, -151]);
    // Everything else is written once, in order.
    expect(sink.batches.flat()).toEqual(items.filter((i) => i >= 0));
    expect(b.stats()).toMatchObject({ buffered: 0, written: 247, rejected: 3, failures: 0, attempt: 0 });
    expect(errors).toEqual([]);
    // Halving isolates each bad item in about log2(batch) writes, not one write per item.
    expect(sink.calls).toBeLessThan(60);
    // Later items are not held back.
    b.push(1000);
    await b.flush();
    expect(sink.batches.flat().at(-1)).toBe(1000);
  });

  it('without isUnwritable, or for a transient failure, the batch stays buffered and is retried', async () => {
    const sink = pickySink();
    const b = buffer(sink, { flushIntervalMs: 60_000, retryBaseMs: 5 });
    b.push(1);
    b.push(-2);
    await expect(b.flush()).rejects.toThrow(BadValueError);
    expect(b.stats()).toMatchObject({ buffered: 2, rejected: 0, failures: 1 });

    const down = pickySink();
    const c = buffer(down, { flushIntervalMs: 60_000, retryBaseMs: 5, isUnwritable });
    down.down = true;
    c.push(1);
    c.push(-2);
    await expect(c.flush()).rejects.toThrow('connection refused');
    expect(c.stats()).toMatchObject({ buffered: 2, rejected: 0, failures: 1, attempt: 1 });
    down.down = false;
    await c.flush();
    expect(down.batches.flat()).toEqual([1]);
    expect(c.stats()).toMatchObject({ buffered: 0, written: 1, rejected: 1 });
  });

  it('an outage in the middle of isolating bad items retries only what is not yet done', async () => {
    const sink = pickySink();
    const b = buffer(sink, { flushIntervalMs: 60_000, maxBatch: 8, retryBaseMs: 5, isUnwritable });
    for (const i of [0, 1, -2, 3, 4, 5, 6, 7]) b.push(i);
    // The database goes down after the split has written the first chunk.
    const write = sink.write;
    sink.write = async (batch) => {
      await write(batch);
      if (batch.length < 8 && sink.batches.length === 1) sink.down = true;
    };
    await expect(b.flush()).rejects.toThrow('connection refused');
    const done = sink.batches.flat();
    expect(b.stats().buffered).toBe(8 - done.length - b.stats().rejected);
    sink.down = false;
    await b.flush();
    // Nothing written twice, nothing lost but the bad item.
    expect(sink.batches.flat()).toEqual([0, 1, 3, 4, 5, 6, 7]);
    expect(b.stats()).toMatchObject({ buffered: 0, written: 7, rejected: 1 });
  });

  it('close reports what it could not write by the deadline', async () => {
    const sink = chaosSink();
    sink.down = true;
    const b = createWriteBehind(sink, { flushIntervalMs: 60_000, retryBaseMs: 5 });
    for (let i = 0; i < 7; i++) b.push(i);
    const started = Date.now();
    expect(await b.close(150)).toBe(7);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

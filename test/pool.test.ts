import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetricsRegistry } from '../src/perf/metrics/index.ts';
import { createPool, type Pool } from '../src/perf/pool/index.ts';

interface Thing {
  id: number;
  dirty: boolean;
  broken: boolean;
}

function things(options: Partial<Parameters<typeof createPool<Thing>>[0]> = {}) {
  let next = 0;
  const destroyed: number[] = [];
  const pool = createPool<Thing>({
    name: 'things',
    create: () => ({ id: next++, dirty: false, broken: false }),
    destroy: (t) => {
      destroyed.push(t.id);
    },
    ...options,
  });
  return { pool, destroyed };
}

let open: Pool<Thing>[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.map((p) => p.close()));
  open = [];
});
function track<T extends { pool: Pool<Thing> }>(x: T): T {
  open.push(x.pool);
  return x;
}

describe('pool contract', () => {
  it('never has more than max objects alive; the next borrower waits for a release', async () => {
    const { pool } = track(things({ max: 2 }));
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a).not.toBe(b);
    let third: Thing | undefined;
    const waiting = pool.acquire().then((t) => {
      third = t;
    });
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    expect(pool.stats()).toMatchObject({ size: 2, inUse: 2, waiting: 1 });
    pool.release(a);
    await waiting;
    expect(third).toBe(a);
    // Three borrows waited: two for a new object to be created, one for a release.
    expect(pool.stats()).toMatchObject({ size: 2, inUse: 2, waiting: 0, created: 2, waited: 3 });
  });

  it('reuses released objects (LIFO) through the synchronous fast path', async () => {
    const { pool } = track(things());
    const a = await pool.acquire();
    pool.release(a);
    expect(pool.tryAcquire()).toBe(a);
    expect(pool.tryAcquire()).toBeUndefined();
    expect(pool.stats().created).toBe(1);
  });

  it('rejects with POOL_ACQUIRE_TIMEOUT when nothing is released in time', async () => {
    const { pool } = track(things({ max: 1, acquireTimeout: 30 }));
    await pool.acquire();
    const started = performance.now();
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_ACQUIRE_TIMEOUT', status: 503 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(pool.stats()).toMatchObject({ waiting: 0, timeouts: 1 });
  });

  it('turns borrowers away with POOL_QUEUE_FULL beyond maxWaiting', async () => {
    const { pool } = track(things({ max: 1, maxWaiting: 1, acquireTimeout: 1000 }));
    const a = await pool.acquire();
    const waiter = pool.acquire();
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_QUEUE_FULL' });
    expect(pool.stats().rejected).toBe(1);
    pool.release(a);
    expect(await waiter).toBe(a);
  });

  it('validates on borrow: an invalid idle object is destroyed and a fresh one lent', async () => {
    const { pool, destroyed } = track(things({ validate: (t) => !t.broken }));
    const a = await pool.acquire();
    pool.release(a);
    a.broken = true;
    const b = await pool.acquire();
    expect(b).not.toBe(a);
    expect(destroyed).toEqual([a.id]);
    expect(pool.stats().validationFailures).toBe(1);
  });

  it('supports async validation', async () => {
    const { pool } = track(things({ validate: async (t) => !t.broken }));
    const a = await pool.acquire();
    pool.release(a);
    a.broken = true;
    expect(pool.tryAcquire()).toBeUndefined();
    const b = await pool.acquire();
    expect(b).not.toBe(a);
    await new Promise((r) => setImmediate(r));
    expect(pool.stats().validationFailures).toBe(1);
  });

  it('resets objects on release, and destroys the ones whose reset throws', async () => {
    const { pool, destroyed } = track(
      things({
        reset: (t) => {
          if (t.broken) throw new Error('cannot reset');
          t.dirty = false;
        },
      }),
    );
    const a = await pool.acquire();
    a.dirty = true;
    pool.release(a);
    expect(a.dirty).toBe(false);
    const again = await pool.acquire();
    expect(again).toBe(a);
    a.broken = true;
    pool.release(a);
    expect(destroyed).toEqual([a.id]);
    expect(pool.stats().size).toBe(0);
  });

  it('borrow() gives a lease that `await using` releases at the end of the scope', async () => {
    const { pool } = track(things({ max: 1 }));
    {
      await using lease = await pool.borrow();
      expect(lease.value.id).toBe(0);
      expect(pool.stats().inUse).toBe(1);
    }
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1 });
    {
      using lease = await pool.borrow();
      lease.discard();
    }
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 0, destroyed: 1 });
  });

  it('use() releases on success and discards on failure', async () => {
    const { pool } = track(things());
    expect(await pool.use((t) => t.id)).toBe(0);
    await expect(
      pool.use(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(pool.stats()).toMatchObject({ inUse: 0, destroyed: 1 });
  });

  it('rejects a double release and a foreign object with POOL_INVALID_RELEASE', async () => {
    const { pool } = track(things());
    const a = await pool.acquire();
    pool.release(a);
    expect(() => pool.release(a)).toThrow(expect.objectContaining({ code: 'POOL_INVALID_RELEASE' }));
    expect(() => pool.release({ id: 99, dirty: false, broken: false })).toThrow(/did not lend/);
  });

  it('fails the waiter fast with POOL_CREATE_FAILED when the factory throws', async () => {
    const pool = createPool<Thing>({
      name: 'broken',
      create: () => {
        throw new Error('connection refused');
      },
    });
    open.push(pool);
    const err = await pool.acquire().catch((e) => e);
    expect(err).toMatchObject({ code: 'POOL_CREATE_FAILED' });
    expect(err.cause.message).toBe('connection refused');
    expect(pool.stats()).toMatchObject({ size: 0, createErrors: 1, waiting: 0 });
  });

  it('ready() fills min, and idle objects above min expire after idleTimeout', async () => {
    vi.useFakeTimers();
    const { pool, destroyed } = track(things({ min: 1, max: 3, idleTimeout: 1000 }));
    await pool.ready();
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });
    const objs = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    for (const o of objs) pool.release(o);
    expect(pool.stats().idle).toBe(3);
    vi.advanceTimersByTime(900);
    expect(pool.stats().idle).toBe(3);
    vi.advanceTimersByTime(1000);
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });
    expect(destroyed).toHaveLength(2);
  });

  it('an abort signal removes the waiter', async () => {
    const { pool } = track(things({ max: 1 }));
    await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(pool.stats().waiting).toBe(0);
  });

  it('close() rejects waiters with POOL_CLOSED and destroys idle and later-released objects', async () => {
    const { pool, destroyed } = things({ max: 2 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    pool.release(b);
    const c = await pool.acquire();
    const waiting = pool.acquire();
    pool.release(c);
    await waiting.then((t) => pool.release(t));
    const w2 = [pool.acquire(), pool.acquire()];
    const [first] = await Promise.all([w2[0]]);
    await pool.close();
    await expect(w2[1]).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    pool.release(a);
    pool.release(first!);
    expect(destroyed.sort()).toEqual([0, 1]);
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });

  it('rejects bad options with POOL_INVALID_OPTIONS naming the option', () => {
    expect(() => createPool({ name: 'x', create: () => ({}), max: 0 })).toThrow(
      /max must be an integer of at least 1/,
    );
    expect(() => createPool({ name: 'x', create: () => ({}), min: 5, max: 2 })).toThrow(/min \(5\)/);
    expect(() => createPool({ name: 'bad name!', create: () => ({}) })).toThrow(
      expect.objectContaining({ code: 'POOL_INVALID_OPTIONS' }),
    );
  });

  it('reports size, in use, waiting and wait time as pool_* metrics', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const { pool } = track(things({ name: 'metered', max: 1, acquireTimeout: 20, metrics }));
    const a = await pool.acquire();
    const waiting = pool.acquire();
    let text = await metrics.metrics();
    expect(text).toContain('pool_in_use{pool="metered"} 1');
    expect(text).toContain('pool_waiting{pool="metered"} 1');
    expect(text).toContain('pool_size{pool="metered"} 1');
    pool.release(a);
    await waiting;
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'POOL_ACQUIRE_TIMEOUT' });
    text = await metrics.metrics();
    // Waits: the first borrow (for the factory) and the hand-off; the timed-out one is not a wait.
    expect(text).toContain('pool_wait_seconds_count{pool="metered"} 2');
    expect(text).toContain('pool_acquire_timeouts_total{pool="metered"} 1');
    expect(text).toContain('pool_waiting{pool="metered"} 0');
  });
});

/**
 * The breaker's state machine (src/perf/resilience/circuit.ts) and its failure window, beyond the
 * basics in breaker.test.ts: the single half-open trial, backoff reset, manual reset, errors that
 * do not count, transition contents and the window's own timer. Fake timers throughout.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  createResilience,
  type Resilience,
  type ServicePolicy,
  type Transition,
} from '../../src/perf/resilience/index.ts';
import { Failure, fail, ok, TEST_POLICY } from '../helpers/failures.ts';

/** A call that settles when the test says so. */
function pending() {
  let resolve!: (v: string) => void;
  let reject!: (e: unknown) => void;
  const fn = vi.fn(
    () =>
      new Promise<string>((res, rej) => {
        resolve = res;
        reject = rej;
      }),
  );
  return { fn, resolve: (v: string) => resolve(v), reject: (e: unknown) => reject(e) };
}

const flush = () => new Promise<void>((r) => queueMicrotask(r)).then(() => vi.advanceTimersByTimeAsync(0));

let resilience: Resilience;
let transitions: Transition[];

function service(name = 'up'): ServicePolicy {
  transitions = [];
  resilience = createResilience({
    defaults: TEST_POLICY,
    onTransition: (t) => transitions.push(t),
  });
  return resilience.service(name);
}

async function trip(s: ServicePolicy): Promise<void> {
  for (let i = 0; i < 4; i++) await expect(s.execute(fail())).rejects.toThrow(Failure);
  expect(s.state).toBe('open');
}

const path = () => transitions.map((t) => `${t.from}->${t.to}`);

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  resilience?.close();
  vi.useRealTimers();
});

describe('half-open trial', () => {
  it('lets one trial call through; the others wait for it and then run on the closed circuit', async () => {
    const s = service();
    await trip(s);
    vi.advanceTimersByTime(1000);
    const trial = pending();
    const first = s.execute(trial.fn);
    const others = [vi.fn(ok), vi.fn(ok)];
    const waiting = others.map((fn) => s.execute(fn));
    await flush();
    expect(s.state).toBe('half-open');
    expect(trial.fn).toHaveBeenCalledTimes(1);
    for (const fn of others) expect(fn).not.toHaveBeenCalled();
    trial.resolve('trial');
    await expect(first).resolves.toBe('trial');
    await expect(Promise.all(waiting)).resolves.toEqual(['ok', 'ok']);
    for (const fn of others) expect(fn).toHaveBeenCalledTimes(1);
    expect(path()).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('fails the waiting calls with CIRCUIT_OPEN, without running them, when the trial fails', async () => {
    const s = service();
    await trip(s);
    vi.advanceTimersByTime(1000);
    const trial = pending();
    const first = s.execute(trial.fn);
    const other = vi.fn(ok);
    const waiting = s.execute(other).catch((e: unknown) => e);
    await flush();
    trial.reject(new Failure('server'));
    await expect(first).rejects.toThrow(Failure);
    const err = await waiting;
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(other).not.toHaveBeenCalled();
    expect(s.state).toBe('open');
  });

  it('closes on a trial error that does not count, keeping the failure window', async () => {
    const s = service();
    await trip(s);
    vi.advanceTimersByTime(1000);
    await expect(s.execute(fail('client'))).rejects.toThrow(Failure);
    expect(s.state).toBe('closed');
    expect(path()).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    // The four failures that opened it are still in the window.
    expect(s.window).toEqual({ successes: 0, failures: 4 });
  });

  it('starts the backoff over once a trial has closed the circuit', async () => {
    const s = service();
    await trip(s);
    vi.advanceTimersByTime(1000);
    await expect(s.execute(fail())).rejects.toThrow(Failure); // failed trial: 2000 ms
    vi.advanceTimersByTime(2000);
    await expect(s.execute(ok)).resolves.toBe('ok'); // trial succeeds: closed
    await trip(s);
    expect(transitions.filter((t) => t.to === 'open').map((t) => t.openForMs)).toEqual([1000, 2000, 1000]);
  });
});

describe('calls', () => {
  it('takes a plain value from a call that is not async, and frees its bulkhead slot', async () => {
    const s = service();
    const plain = (() => 'plain') as unknown as () => Promise<string>;
    await expect(s.execute(plain)).resolves.toBe('plain');
    expect(s.inFlight).toBe(0);
    expect(s.window).toEqual({ successes: 1, failures: 0 });
  });

  it('treats a synchronous throw from the call as a failed attempt', async () => {
    const s = service();
    const sync = () => {
      throw new Failure('server');
    };
    for (let i = 0; i < 4; i++) await expect(s.execute(sync)).rejects.toThrow(Failure);
    expect(s.state).toBe('open');
  });
});

describe('what counts', () => {
  it('records errors that do not count neither as failures nor as successes', async () => {
    const s = service();
    for (let i = 0; i < 3; i++) await expect(s.execute(fail())).rejects.toThrow(Failure);
    for (let i = 0; i < 10; i++) {
      await expect(s.execute(fail('client'))).rejects.toThrow(Failure);
      await expect(s.execute(fail('rate_limited'))).rejects.toThrow(Failure);
      await expect(s.execute(fail('other'))).rejects.toThrow(Failure);
    }
    expect(s.window).toEqual({ successes: 0, failures: 3 });
    // Counted as successes they would have kept the share below the threshold.
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    expect(s.state).toBe('open');
  });

  it('counts successes against the failure share', async () => {
    const s = service();
    for (let i = 0; i < 4; i++) await s.execute(ok);
    for (let i = 0; i < 3; i++) await expect(s.execute(fail())).rejects.toThrow(Failure);
    expect(s.window).toEqual({ successes: 4, failures: 3 });
    expect(s.state).toBe('closed');
    await expect(s.execute(fail())).rejects.toThrow(Failure); // 4 of 8
    expect(s.state).toBe('open');
  });
});

describe('failure window', () => {
  it('ages successes out on its own timer, one bucket at a time', async () => {
    const s = service();
    for (let i = 0; i < 5; i++) await s.execute(ok);
    vi.advanceTimersByTime(5000);
    await s.execute(ok);
    expect(s.window).toEqual({ successes: 6, failures: 0 });
    vi.advanceTimersByTime(5500);
    expect(s.window).toEqual({ successes: 1, failures: 0 });
    vi.advanceTimersByTime(5000);
    expect(s.window).toEqual({ successes: 0, failures: 0 });
  });

  it('stops its timer once the window is empty, and on close', async () => {
    const s = service();
    await s.execute(ok);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(11_000);
    expect(vi.getTimerCount()).toBe(0);
    await s.execute(ok);
    expect(vi.getTimerCount()).toBe(1);
    resilience.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('manual reset', () => {
  it('closes an open circuit, clears the window and the backoff', async () => {
    const s = service();
    await trip(s);
    vi.advanceTimersByTime(1000);
    await expect(s.execute(fail())).rejects.toThrow(Failure); // re-opened for 2000 ms
    resilience.reset('up');
    expect(s.state).toBe('closed');
    expect(s.retryAfterMs).toBe(0);
    expect(s.window).toEqual({ successes: 0, failures: 0 });
    await expect(s.execute(ok)).resolves.toBe('ok');
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    expect(s.state).toBe('closed'); // the four failures before the reset are gone
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    await expect(s.execute(fail())).rejects.toThrow(Failure); // 3 of 4
    expect(s.state).toBe('open');
    // The backoff starts over: not the 4000 ms a failed trial after 2000 ms would give.
    expect(transitions.at(-1)).toMatchObject({ from: 'closed', to: 'open', openForMs: 1000 });
    expect(transitions.find((t) => t.reason === 'manual reset')).toEqual({
      service: 'up',
      from: 'open',
      to: 'closed',
      reason: 'manual reset',
    });
  });

  it('forgets the window of a closed circuit without reporting a transition', async () => {
    const s = service();
    for (let i = 0; i < 3; i++) await expect(s.execute(fail())).rejects.toThrow(Failure);
    resilience.reset();
    expect(s.window).toEqual({ successes: 0, failures: 0 });
    await expect(s.execute(fail())).rejects.toThrow(Failure); // would be 4 of 4
    expect(s.state).toBe('closed');
    expect(transitions).toEqual([]);
  });
});

describe('transitions and the open error', () => {
  it('carry the service, the open interval and the failure that caused them', async () => {
    const s = service('svc');
    await trip(s);
    vi.advanceTimersByTime(1000);
    await expect(
      s.execute(async () => {
        throw new Failure('timeout');
      }),
    ).rejects.toThrow(Failure);
    expect(transitions).toEqual([
      { service: 'svc', from: 'closed', to: 'open', openForMs: 1000, reason: 'failed: server' },
      { service: 'svc', from: 'open', to: 'half-open' },
      { service: 'svc', from: 'half-open', to: 'open', openForMs: 2000, reason: 'failed: timeout' },
    ]);
    vi.advanceTimersByTime(500);
    const err = await s.execute(ok).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({
      code: 'CIRCUIT_OPEN',
      status: 503,
      details: { service: 'svc' },
      headers: { 'retry-after': '2' },
    });
    expect((err as Error).cause).toBeInstanceOf(Failure);
    expect(s.retryAfterMs).toBe(1500);
  });

  it('ends the retry loop with CIRCUIT_OPEN when a retry finds the circuit open', async () => {
    const r = createResilience({
      defaults: {
        timeoutMs: 0,
        retry: { maxAttempts: 3, baseDelayMs: 10 },
        breaker: { threshold: 0.5, minimumVolume: 2, openMs: 1000 },
      },
    });
    try {
      const calls = vi.fn(fail());
      const result = r
        .service('x')
        .execute(calls)
        .catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(100);
      expect(await result).toBeInstanceOf(CircuitOpenError);
      expect(calls).toHaveBeenCalledTimes(2); // the second failure opened it; the third attempt is refused
    } finally {
      r.close();
    }
  });
});

/** Breaker, retry, timeout and bulkhead logic of src/perf/resilience, under fake timers where time matters. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMetricsRegistry } from '../../src/perf/metrics/index.ts';
import {
  BulkheadFullError,
  CircuitOpenError,
  createResilience,
  type Resilience,
  type Transition,
  UpstreamTimeoutError,
} from '../../src/perf/resilience/index.ts';
import { Failure, fail, ok, TEST_POLICY } from '../helpers/failures.ts';

let resilience: Resilience;
let transitions: Transition[];

function make(defaults: Parameters<typeof createResilience>[0] = {}) {
  transitions = [];
  resilience = createResilience({
    defaults: TEST_POLICY,
    onTransition: (t) => transitions.push(t),
    ...defaults,
  });
  return resilience;
}

afterEach(() => {
  resilience?.close();
  vi.useRealTimers();
});

describe('circuit breaker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('opens on the failure rate once the minimum volume is reached, then fails fast', async () => {
    const s = make().service('up');
    await s.execute(ok);
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    expect(s.state).toBe('closed'); // 2 of 3 failed, but the volume is 4
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    expect(s.state).toBe('open');
    const calls = vi.fn(ok);
    const err = await s.execute(calls).catch((e) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err.status).toBe(503);
    expect(err.headers['retry-after']).toBe('1');
    expect(calls).not.toHaveBeenCalled();
  });

  it('does not count 4xx or 429 towards opening', async () => {
    const s = make().service('up');
    for (let i = 0; i < 10; i++) await expect(s.execute(fail('client'))).rejects.toThrow();
    for (let i = 0; i < 10; i++) await expect(s.execute(fail('rate_limited'))).rejects.toThrow();
    expect(s.state).toBe('closed');
  });

  it('forgets failures that leave the window', async () => {
    const s = make().service('up');
    for (let i = 0; i < 3; i++) await expect(s.execute(fail())).rejects.toThrow();
    vi.advanceTimersByTime(11_000);
    await expect(s.execute(fail())).rejects.toThrow();
    expect(s.state).toBe('closed');
  });

  it('goes half-open after the open interval and closes when the probe succeeds', async () => {
    const s = make().service('up');
    for (let i = 0; i < 4; i++) await expect(s.execute(fail())).rejects.toThrow();
    expect(s.state).toBe('open');
    vi.advanceTimersByTime(999);
    await expect(s.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    vi.advanceTimersByTime(2);
    let release!: () => void;
    const probe = s.execute(() => new Promise<string>((r) => (release = () => r('probe'))));
    expect(s.state).toBe('half-open');
    release();
    await expect(probe).resolves.toBe('probe');
    expect(s.state).toBe('closed');
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
      'closed->open',
      'open->half-open',
      'half-open->closed',
    ]);
    // The window was cleared: one new failure does not re-open it.
    await expect(s.execute(fail())).rejects.toThrow(Failure);
    expect(s.state).toBe('closed');
  });

  it('doubles the open interval after each failed probe, up to the maximum', async () => {
    const s = make().service('up');
    for (let i = 0; i < 4; i++) await expect(s.execute(fail())).rejects.toThrow();
    const intervals = [transitions.at(-1)!.openForMs];
    for (let i = 0; i < 4; i++) {
      vi.advanceTimersByTime(intervals.at(-1)! - 1);
      await expect(s.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
      vi.advanceTimersByTime(1);
      await expect(s.execute(fail())).rejects.toThrow(Failure); // the probe fails
      expect(s.state).toBe('open');
      intervals.push(transitions.at(-1)!.openForMs);
    }
    expect(intervals).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('resets one or all breakers by hand', async () => {
    const r = make();
    const a = r.service('a');
    const b = r.service('b');
    for (let i = 0; i < 4; i++) {
      await expect(a.execute(fail())).rejects.toThrow();
      await expect(b.execute(fail())).rejects.toThrow();
    }
    expect([a.state, b.state]).toEqual(['open', 'open']);
    expect(r.reset('a')).toEqual(['a']);
    expect([a.state, b.state]).toEqual(['closed', 'open']);
    await expect(a.execute(ok)).resolves.toBe('ok');
    expect(r.reset()).toEqual(['a', 'b']);
    expect(b.state).toBe('closed');
    expect(transitions.filter((t) => t.reason === 'manual reset').map((t) => t.service)).toEqual(['a', 'b']);
  });

  it('exports circuit_breaker_state{service} as 0 closed, 1 half-open, 2 open', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const r = make({ metrics });
    const s = r.service('svc');
    r.service('calm');
    for (let i = 0; i < 4; i++) await expect(s.execute(fail())).rejects.toThrow();
    let text = await metrics.metrics();
    expect(text).toContain('circuit_breaker_state{service="svc"} 2');
    expect(text).toContain('circuit_breaker_state{service="calm"} 0');
    vi.advanceTimersByTime(1000);
    const probe = s.execute(() => new Promise<string>(() => {}));
    void probe.catch(() => {});
    text = await metrics.metrics();
    expect(text).toContain('circuit_breaker_state{service="svc"} 1');
  });

  it('logs transitions', async () => {
    const lines: string[] = [];
    const logger = {
      info: (_o: object, m: string) => lines.push(m),
      warn: (_o: object, m: string) => lines.push(m),
    };
    const s = make({ logger }).service('logged');
    for (let i = 0; i < 4; i++) await expect(s.execute(fail())).rejects.toThrow();
    expect(lines.some((l) => l.includes('circuit breaker for logged opened for 1000 ms'))).toBe(true);
  });
});

describe('retries', () => {
  it('retries 5xx with growing jittered backoff, then gives up with the last error', async () => {
    vi.useFakeTimers();
    const s = make().service('r', { retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 10_000 } });
    const times: number[] = [];
    const run = s.execute(async () => {
      times.push(Date.now());
      throw new Failure('server');
    });
    const result = run.catch((e) => e);
    await vi.runAllTimersAsync();
    expect(await result).toBeInstanceOf(Failure);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(3);
    // Equal jitter: attempt n waits between half and all of base * 2^(n-1).
    expect(gaps[0]).toBeGreaterThanOrEqual(50);
    expect(gaps[0]).toBeLessThanOrEqual(100);
    expect(gaps[1]).toBeGreaterThanOrEqual(100);
    expect(gaps[1]).toBeLessThanOrEqual(200);
    expect(gaps[2]).toBeGreaterThanOrEqual(200);
    expect(gaps[2]).toBeLessThanOrEqual(400);
  });

  it('honours Retry-After when it is longer than the backoff, and gives up when it is too long', async () => {
    vi.useFakeTimers();
    const s = make().service('r', { retry: { maxAttempts: 2, baseDelayMs: 10, maxRetryAfterMs: 5000 } });
    const times: number[] = [];
    let n = 0;
    const run = s.execute(async () => {
      times.push(Date.now());
      if (n++ === 0) throw new Failure('rate_limited', 3000);
      return 'second';
    });
    await vi.runAllTimersAsync();
    await expect(run).resolves.toBe('second');
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(3000);

    const calls = vi.fn(async () => {
      throw new Failure('rate_limited', 60_000);
    });
    await expect(s.execute(calls)).rejects.toThrow(Failure);
    expect(calls).toHaveBeenCalledTimes(1);
  });

  it('never retries 4xx or unknown errors', async () => {
    const s = make().service('r', { retry: { maxAttempts: 5, baseDelayMs: 1 } });
    const client = vi.fn(fail('client'));
    await expect(s.execute(client)).rejects.toThrow(Failure);
    expect(client).toHaveBeenCalledTimes(1);
    const plain = vi.fn(async () => {
      throw new Error('bug');
    });
    await expect(s.execute(plain)).rejects.toThrow('bug');
    expect(plain).toHaveBeenCalledTimes(1);
  });

  it('follows the policy per failure kind', async () => {
    const s = make().service('r', { retry: { maxAttempts: 3, baseDelayMs: 1, on: { rate_limited: false } } });
    const limited = vi.fn(fail('rate_limited'));
    await expect(s.execute(limited)).rejects.toThrow(Failure);
    expect(limited).toHaveBeenCalledTimes(1);
    const server = vi.fn(fail('server'));
    await expect(s.execute(server)).rejects.toThrow(Failure);
    expect(server).toHaveBeenCalledTimes(3);
  });
});

describe('timeouts and bulkhead', () => {
  it('aborts a slow attempt through its signal and reports UPSTREAM_TIMEOUT', async () => {
    const s = make().service('t', { timeoutMs: 50 });
    const started = Date.now();
    const err = await s
      .execute(
        ({ signal }) =>
          new Promise<never>((_, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
      )
      .catch((e: unknown) => e as { code: string });
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err.code).toBe('UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('retries a timed-out attempt and serves the next one', async () => {
    const s = make().service('t', { timeoutMs: 30, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const result = await s.execute(({ signal, attempt }) =>
      attempt === 1
        ? new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        : Promise.resolve(`attempt ${attempt}`),
    );
    expect(result).toBe('attempt 2');
  });

  it('queues beyond max concurrency and rejects with BULKHEAD_FULL when the queue is full', async () => {
    const s = make().service('b', { bulkhead: { maxConcurrent: 2, maxQueue: 1 } });
    const releases: (() => void)[] = [];
    const slow = () => new Promise<string>((r) => releases.push(() => r('done')));
    const a = s.execute(slow);
    const b = s.execute(slow);
    const c = s.execute(slow);
    expect(s.inFlight).toBe(2);
    expect(s.queued).toBe(1);
    const err = await s.execute(slow).catch((e) => e);
    expect(err).toBeInstanceOf(BulkheadFullError);
    expect(err.code).toBe('BULKHEAD_FULL');
    releases[0]!();
    await a;
    await new Promise((r) => setImmediate(r));
    expect(s.queued).toBe(0);
    expect(s.inFlight).toBe(2);
    releases[1]!();
    releases[2]!();
    await expect(Promise.all([b, c])).resolves.toEqual(['done', 'done']);
    expect(s.inFlight).toBe(0);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createResilience,
  FailureCorrelator,
  type FailureKind,
  type Incident,
} from '../../src/perf/resilience/index.ts';

afterEach(() => vi.useRealTimers());

describe('failure correlation', () => {
  it('groups breakers that open in the same window into one incident', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const logger = { info: () => {}, warn: (_o: object, m: string) => lines.push(m) };
    const r = createResilience({
      logger,
      correlationWindowMs: 2000,
      defaults: { timeoutMs: 0, retry: { maxAttempts: 1 }, breaker: { minimumVolume: 2, threshold: 0.5 } },
    });
    const failing = async () => {
      throw Object.assign(new Error('connection refused'), { failureKind: 'connect' as FailureKind });
    };
    for (const name of ['openai/a', 'anthropic/b', 'mock/c']) {
      for (let i = 0; i < 2; i++) await expect(r.service(name).execute(failing)).rejects.toThrow();
      vi.advanceTimersByTime(500);
    }
    vi.advanceTimersByTime(10_000);
    for (let i = 0; i < 2; i++) await expect(r.service('later/d').execute(failing)).rejects.toThrow();
    const incidents = r.incidents();
    expect(incidents).toHaveLength(2);
    expect(incidents[0]).toMatchObject({ services: ['openai/a', 'anthropic/b', 'mock/c'], scope: 'shared' });
    expect(incidents[0]!.lastAt - incidents[0]!.firstAt).toBe(1000);
    expect(incidents[1]).toMatchObject({ services: ['later/d'], scope: 'single' });
    expect(lines.some((l) => l.includes('3 services failing together (openai/a, anthropic/b, mock/c)'))).toBe(
      true,
    );
    r.close();
  });

  it('reports a change only when a new service joins', () => {
    const seen: [number, string, string][] = [];
    const c = new FailureCorrelator({
      windowMs: 100,
      onIncident: (i: Incident, change) => seen.push([i.id, change, i.services.join(',')]),
    });
    c.record('a', 1000);
    c.record('a', 1050);
    c.record('b', 1120);
    c.record('a', 1300);
    expect(seen).toEqual([
      [1, 'opened', 'a'],
      [1, 'joined', 'a,b'],
      [2, 'opened', 'a'],
    ]);
    expect(c.incidents()[0]!.failures).toBe(3);
  });
});

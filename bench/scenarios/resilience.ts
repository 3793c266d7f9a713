/**
 * Cost per call of the resilience wrapper (bulkhead + retry + circuit breaker + per-attempt
 * timeout) on the success path, against a plain call, cockatiel's breaker alone, cockatiel's full
 * policy stack, and opossum, all in the same run. Overhead = time per call minus the plain call.
 */
import { availableParallelism, loadavg } from 'node:os';
import {
  bulkhead,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { bench, do_not_optimize, run } from 'mitata';
import CircuitBreaker from 'opossum';
import { createResilience } from '../../src/perf/resilience/index.ts';
import { median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Other load on the machine: the figures below are only comparable at similar values. */
const machineLoad = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`;

const work = async () => 1;

function candidates() {
  const resilience = createResilience({
    defaults: { timeoutMs: 30_000, retry: { maxAttempts: 3 }, breaker: { minimumVolume: 10 } },
  });
  const versus = resilience.service('bench');
  const versusNoTimeout = resilience.service('bench-no-timeout', { timeoutMs: 0 });
  const cockatielBreaker = circuitBreaker(handleAll, {
    halfOpenAfter: 5000,
    breaker: new ConsecutiveBreaker(5),
  });
  const cockatielStack = wrap(
    bulkhead(256, 256),
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, { halfOpenAfter: 5000, breaker: new ConsecutiveBreaker(5) }),
    timeout(30_000, TimeoutStrategy.Cooperative),
  );
  const opossum = new CircuitBreaker(work, {
    timeout: 30_000,
    errorThresholdPercentage: 50,
    resetTimeout: 5000,
  });
  return {
    close() {
      resilience.close();
      opossum.shutdown();
    },
    fns: {
      'plain call': () => work(),
      'Versus wrapper (breaker, retry, bulkhead, timeout)': () => versus.execute(work),
      'Versus wrapper without timeout': () => versusNoTimeout.execute(work),
      'cockatiel breaker alone': () => cockatielBreaker.execute(work),
      'cockatiel bulkhead+retry+breaker+timeout': () => cockatielStack.execute(work),
      opossum: () => opossum.fire(),
    } as Record<string, () => Promise<unknown>>,
  };
}

export const scenario: Scenario = {
  id: 'resilience',
  title: 'Resilience wrapper overhead per call',
  async run({ runs, log }) {
    const startLoad = machineLoad();
    const samples = new Map<string, number[]>();
    for (let r = 0; r < runs; r++) {
      const c = candidates();
      for (const [name, fn] of Object.entries(c.fns)) {
        bench(name, async () => do_not_optimize(await fn()));
      }
      const result = await run({ format: 'quiet', throw: true });
      for (const b of result.benchmarks) {
        const name = b.alias;
        const p50 = b.runs[0]?.stats?.p50 ?? Number.NaN;
        samples.set(name, [...(samples.get(name) ?? []), p50]);
      }
      c.close();
      log(
        `  run ${r + 1}/${runs}: ${[...samples].map(([n, v]) => `${n} ${v.at(-1)!.toFixed(0)} ns`).join(', ')}`,
      );
    }
    const plain = median(samples.get('plain call') ?? []);
    const ours = median(samples.get('Versus wrapper (breaker, retry, bulkhead, timeout)') ?? []) - plain;
    const rows = [...samples].map(([name, values]) => {
      const m = median(values);
      const overhead = m - plain;
      return [
        name,
        `${m.toFixed(0)} ns`,
        name === 'plain call' ? '—' : `${overhead.toFixed(0)} ns`,
        name === 'plain call' ? '—' : ratio(overhead, ours),
      ];
    });
    return [
      `${preamble('npm run bench -- resilience', runs)} At the start: ${startLoad}.`,
      "mitata, one async call per iteration that resolves at once (the success path). Time per call: the median sample of each run (robust to GC pauses and other load), then the median over runs. Overhead = time per call minus the plain call; the last column is each overhead relative to the Versus wrapper's (below 1× is cheaper). Goal: ≤ 150 ns for the Versus wrapper.",
      '',
      table(['candidate', 'time per call', 'overhead', 'overhead vs Versus'], rows),
    ].join('\n');
  },
};

/**
 * Gateway overhead at 1,000 req/s against a mock provider of fixed latency: the time Versus adds
 * to each call (its `x-gateway-overhead-ms` header: total time in Versus minus time waiting on the
 * provider), plus end-to-end latency through Versus against calling the mock directly, same rate,
 * same run.
 */
import { availableParallelism, loadavg } from 'node:os';
import { loadAtRate, type RateResult, startTarget } from '../lib/http.ts';
import { median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Other load on the machine: the figures below are only comparable at similar values. */
const machineLoad = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`;

const RATE = 1000;
const MOCK_LATENCY_MS = 20;

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');

export const scenario: Scenario = {
  id: 'gateway-overhead',
  title: 'Gateway overhead at 1,000 req/s (mock provider, fixed 20 ms)',
  async run({ runs, duration, log }) {
    const startLoad = machineLoad();
    const mock = await startTarget('mock', 'src/platform/providers/mock/main.ts', {}, '/health');
    const configure = await fetch(`${mock.url}/admin/models/fast`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: MOCK_LATENCY_MS, jitterMs: 0 }),
    });
    if (!configure.ok) throw new Error(`could not configure the mock: ${await configure.text()}`);
    const versus = await startTarget('versus', 'bin/versus.js', { MOCK_PROVIDER_URL: `${mock.url}/v1` });
    // temperature 0.7: not cacheable, so every request goes to the provider.
    const through = JSON.stringify({
      model: 'mock/fast',
      messages: [{ role: 'user', content: 'overhead' }],
      temperature: 0.7,
    });
    const direct = JSON.stringify({
      model: 'fast',
      messages: [{ role: 'user', content: 'overhead' }],
      temperature: 0.7,
    });
    const results: { versus: RateResult[]; direct: RateResult[] } = { versus: [], direct: [] };
    try {
      // Warm both (JIT, connection pools) at the measured rate before measuring.
      await loadAtRate({
        url: `${versus.url}/v1/chat/completions`,
        body: through,
        rate: RATE,
        duration: 2,
        connections: 64,
      });
      await loadAtRate({
        url: `${mock.url}/v1/chat/completions`,
        body: direct,
        rate: RATE,
        duration: 1,
        connections: 64,
      });
      for (let i = 0; i < runs; i++) {
        results.versus.push(
          await loadAtRate({
            url: `${versus.url}/v1/chat/completions`,
            body: through,
            rate: RATE,
            duration,
            connections: 64,
            header: 'x-gateway-overhead-ms',
          }),
        );
        results.direct.push(
          await loadAtRate({
            url: `${mock.url}/v1/chat/completions`,
            body: direct,
            rate: RATE,
            duration,
            connections: 64,
          }),
        );
        const v = results.versus.at(-1)!;
        const d = results.direct.at(-1)!;
        log(
          `  run ${i + 1}/${runs}: overhead p50 ${fmt(v.header?.p50 ?? Number.NaN)} ms p99 ${fmt(v.header?.p99 ?? Number.NaN)} ms; ` +
            `latency via Versus p50 ${fmt(v.latency.p50)} / direct ${fmt(d.latency.p50)} ms; ${Math.round(v.rps)} req/s, errors ${v.errors + v.non2xx}`,
        );
      }
    } finally {
      await versus.stop();
      await mock.stop();
    }
    const m = (list: RateResult[], pick: (r: RateResult) => number) => median(list.map(pick));
    const rows = [
      [
        'Versus overhead (x-gateway-overhead-ms)',
        fmt(m(results.versus, (r) => r.header?.p50 ?? Number.NaN)),
        fmt(m(results.versus, (r) => r.header?.p90 ?? Number.NaN)),
        fmt(m(results.versus, (r) => r.header?.p99 ?? Number.NaN)),
        '< 0.5 / — / < 2',
      ],
      [
        'end to end through Versus',
        fmt(m(results.versus, (r) => r.latency.p50)),
        fmt(m(results.versus, (r) => r.latency.p90)),
        fmt(m(results.versus, (r) => r.latency.p99)),
        '',
      ],
      [
        'mock provider called directly',
        fmt(m(results.direct, (r) => r.latency.p50)),
        fmt(m(results.direct, (r) => r.latency.p90)),
        fmt(m(results.direct, (r) => r.latency.p99)),
        '',
      ],
      [
        'difference (through Versus − direct)',
        fmt(m(results.versus, (r) => r.latency.p50) - m(results.direct, (r) => r.latency.p50)),
        fmt(m(results.versus, (r) => r.latency.p90) - m(results.direct, (r) => r.latency.p90)),
        fmt(m(results.versus, (r) => r.latency.p99) - m(results.direct, (r) => r.latency.p99)),
        'LiteLLM: 2 / 8 (p95) / 13',
      ],
    ];
    const errors = [...results.versus, ...results.direct].reduce((n, r) => n + r.errors + r.non2xx, 0);
    const rps = median(results.versus.map((r) => r.rps));
    return [
      `${preamble('npm run bench -- gateway-overhead', runs)} At the start: ${startLoad}.`,
      `Each run: ${duration} s at ${RATE} req/s offered open-loop (after 1 s of warm-up) by a separate process over 64 keep-alive connections; the mock provider runs as its own process with a fixed ${MOCK_LATENCY_MS} ms latency; requests are not cacheable, so every one reaches the provider. Achieved ${Math.round(rps)} req/s through Versus; errors + non-2xx: ${errors}.`,
      '',
      table(['ms', 'p50', 'p90', 'p99', 'goal'], rows),
    ].join('\n');
  },
};

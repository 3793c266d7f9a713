/**
 * Throughput of a cache hit on POST /v1/chat/completions (validation, routing, cache key, L1 cache
 * read, JSON reply) against a bare Fastify hello-world, same run, runs alternating between the two.
 */
import { availableParallelism, loadavg } from 'node:os';
import { type LoadResult, load, startTarget } from '../lib/http.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Other load on the machine: the figures below are only comparable at similar values. */
const machineLoad = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`;

const CONNECTIONS = 100;

export const scenario: Scenario = {
  id: 'gateway-cache',
  title: 'Gateway: cache-hit chat completion vs bare Fastify',
  async run({ runs, duration, log }) {
    const startLoad = machineLoad();
    const versus = await startTarget('versus', 'src/main.ts');
    const bare = await startTarget('fastify', 'bench/targets/fastify-hello.ts');
    const body = JSON.stringify({
      model: 'mock/fast',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
      temperature: 0,
    });
    const headers = { 'content-type': 'application/json' };
    const results: { versus: LoadResult[]; bare: LoadResult[] } = { versus: [], bare: [] };
    try {
      const first = await fetch(`${versus.url}/v1/chat/completions`, { method: 'POST', headers, body });
      await first.arrayBuffer();
      const check = await fetch(`${versus.url}/v1/chat/completions`, { method: 'POST', headers, body });
      await check.arrayBuffer();
      if (check.headers.get('x-cache') !== 'HIT')
        throw new Error(`expected a cache hit, got ${check.headers.get('x-cache')}`);
      const versusLoad = {
        url: `${versus.url}/v1/chat/completions`,
        method: 'POST',
        headers,
        body,
        connections: CONNECTIONS,
      };
      const bareLoad = { url: `${bare.url}/`, connections: CONNECTIONS };
      await load({ ...versusLoad, duration: 1 });
      await load({ ...bareLoad, duration: 1 });
      for (let i = 0; i < runs; i++) {
        results.versus.push(await load({ ...versusLoad, duration }));
        results.bare.push(await load({ ...bareLoad, duration }));
        log(
          `  run ${i + 1}/${runs}: versus cache hit ${human(results.versus.at(-1)!.rps)} req/s, fastify hello ${human(results.bare.at(-1)!.rps)} req/s`,
        );
      }
    } finally {
      await versus.stop();
      await bare.stop();
    }
    const v = median(results.versus.map((r) => r.rps));
    const b = median(results.bare.map((r) => r.rps));
    const errors = [...results.versus, ...results.bare].reduce((n, r) => n + r.errors + r.non2xx, 0);
    // Runs alternate, so each pair shared the machine's load: the median of pair ratios is the steadier figure.
    const paired = median(results.versus.map((r, i) => r.rps / (results.bare[i]?.rps ?? Number.NaN)));
    return [
      `${preamble('npm run bench -- gateway-cache', runs)} At the start: ${startLoad}.`,
      `Each run: autocannon for ${duration} s, ${CONNECTIONS} connections, in its own process against 127.0.0.1. Versus answers every request from the response cache (x-cache: HIT); the anchor is GET / on a bare Fastify hello-world. Goal: ratio ≥ 0.6×.`,
      '',
      table(
        [
          'Versus cache hit req/s',
          'bare Fastify req/s',
          'ratio of medians',
          'median of paired ratios',
          'Versus p50 / p99 ms',
          'Fastify p50 / p99 ms',
          'errors + non-2xx',
        ],
        [
          [
            human(v),
            human(b),
            ratio(v, b),
            `${paired.toFixed(2)}×`,
            `${median(results.versus.map((r) => r.latency.p50))} / ${median(results.versus.map((r) => r.latency.p99))}`,
            `${median(results.bare.map((r) => r.latency.p50))} / ${median(results.bare.map((r) => r.latency.p99))}`,
            String(errors),
          ],
        ],
      ),
    ].join('\n');
  },
};

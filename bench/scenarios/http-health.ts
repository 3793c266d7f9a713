/**
 * Versus `GET /health` (request ids, auth check, error handling, route metrics) against a bare
 * Fastify hello-world, at 100 and 1,000 connections. Runs alternate between the two servers so
 * drift on a noisy machine hits both alike.
 */
import { type LoadResult, load, startTarget } from '../lib/http.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

export const scenario: Scenario = {
  id: 'http-health',
  title: 'HTTP: GET /health vs bare Fastify',
  async run({ runs, duration, log }) {
    const versus = await startTarget('versus', 'bin/versus.js');
    const bare = await startTarget('fastify', 'bench/targets/fastify-hello.ts');
    const rows: string[][] = [];
    try {
      for (const connections of [100, 1000]) {
        const results: { versus: LoadResult[]; bare: LoadResult[] } = { versus: [], bare: [] };
        // Warm both (JIT, connection setup) before measuring.
        await load({ url: `${versus.url}/health`, connections, duration: 1 });
        await load({ url: `${bare.url}/health`, connections, duration: 1 });
        for (let i = 0; i < runs; i++) {
          results.versus.push(await load({ url: `${versus.url}/health`, connections, duration }));
          results.bare.push(await load({ url: `${bare.url}/health`, connections, duration }));
          log(
            `  ${connections} conns, run ${i + 1}/${runs}: versus ${human(results.versus.at(-1)!.rps)} req/s, fastify ${human(results.bare.at(-1)!.rps)} req/s`,
          );
        }
        const v = median(results.versus.map((r) => r.rps));
        const b = median(results.bare.map((r) => r.rps));
        const errors = [...results.versus, ...results.bare].reduce((n, r) => n + r.errors + r.non2xx, 0);
        rows.push([
          String(connections),
          human(v),
          human(b),
          ratio(v, b),
          `${median(results.versus.map((r) => r.latency.p50))} / ${median(results.versus.map((r) => r.latency.p99))}`,
          `${median(results.bare.map((r) => r.latency.p50))} / ${median(results.bare.map((r) => r.latency.p99))}`,
          String(errors),
        ]);
      }
    } finally {
      await versus.stop();
      await bare.stop();
    }
    return [
      preamble(`npm run bench -- http-health`, runs),
      `Each run: autocannon for ${duration} s in its own process against 127.0.0.1.`,
      '',
      table(
        [
          'connections',
          'Versus GET /health req/s',
          'bare Fastify req/s',
          'ratio',
          'Versus p50 / p99 ms',
          'Fastify p50 / p99 ms',
          'errors + non-2xx',
        ],
        rows,
      ),
    ].join('\n');
  },
};

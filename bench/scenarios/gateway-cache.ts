/**
 * Throughput of a cache hit on POST /v1/chat/completions (validation, routing, cache key, L1 cache
 * read, JSON reply) against two bare Fastify anchors, same run, runs alternating between them:
 * the hello-world GET the goal is stated against, and a POST of the same JSON body answered with a
 * fixed answer of the same size (what Fastify itself costs for this kind of request). Versus runs
 * twice: as `npm start` runs it (hits answered by the front lane) and with FRONT_LANE=false (every
 * hit through Fastify's route), so the lane's share is measured in the same run.
 */
import { availableParallelism, loadavg } from 'node:os';
import {
  type LoadOptions,
  type LoadResult,
  load,
  loadWithCpu,
  startTarget,
  type Target,
} from '../lib/http.ts';
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
    const versus = await startTarget('versus', 'bin/versus.js');
    const routed = await startTarget('versus-fastify', 'bin/versus.js', { FRONT_LANE: 'false' });
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
    const cpu = {
      versus: [] as number[],
      routed: [] as number[],
      bare: [] as number[],
      post: [] as number[],
    };
    const results: { versus: LoadResult[]; routed: LoadResult[]; bare: LoadResult[]; post: LoadResult[] } = {
      versus: [],
      routed: [],
      bare: [],
      post: [],
    };
    try {
      for (const target of [versus, routed]) {
        const first = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers, body });
        await first.arrayBuffer();
        const check = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers, body });
        await check.arrayBuffer();
        if (check.headers.get('x-cache') !== 'HIT')
          throw new Error(`expected a cache hit from ${target.name}, got ${check.headers.get('x-cache')}`);
      }
      const versusLoad = {
        url: `${versus.url}/v1/chat/completions`,
        method: 'POST',
        headers,
        body,
        connections: CONNECTIONS,
      };
      const bareLoad = { url: `${bare.url}/`, connections: CONNECTIONS };
      const postLoad = { ...versusLoad, url: `${bare.url}/chat` };
      const routedLoad = { ...versusLoad, url: `${routed.url}/v1/chat/completions` };
      await load({ ...versusLoad, duration: 1 });
      await load({ ...routedLoad, duration: 1 });
      await load({ ...bareLoad, duration: 1 });
      await load({ ...postLoad, duration: 1 });
      const timed = async (target: Target, options: LoadOptions, into: number[]) => {
        const { result, cpuUs } = await loadWithCpu(target, options);
        into.push(cpuUs);
        return result;
      };
      for (let i = 0; i < runs; i++) {
        results.versus.push(await timed(versus, { ...versusLoad, duration }, cpu.versus));
        results.routed.push(await timed(routed, { ...routedLoad, duration }, cpu.routed));
        results.bare.push(await timed(bare, { ...bareLoad, duration }, cpu.bare));
        results.post.push(await timed(bare, { ...postLoad, duration }, cpu.post));
        log(
          `  run ${i + 1}/${runs}: versus cache hit ${human(results.versus.at(-1)!.rps)} req/s, through fastify ${human(results.routed.at(-1)!.rps)} req/s, fastify hello ${human(results.bare.at(-1)!.rps)} req/s, fastify POST ${human(results.post.at(-1)!.rps)} req/s`,
        );
      }
    } finally {
      await versus.stop();
      await routed.stop();
      await bare.stop();
    }
    const v = median(results.versus.map((r) => r.rps));
    const b = median(results.bare.map((r) => r.rps));
    const p = median(results.post.map((r) => r.rps));
    const errors = [...results.versus, ...results.routed, ...results.bare, ...results.post].reduce(
      (n, r) => n + r.errors + r.non2xx,
      0,
    );
    // Runs alternate, so each pair shared the machine's load: the median of pair ratios is the steadier figure.
    const pairRatio = (of: LoadResult[], to: LoadResult[]) =>
      median(of.map((r, i) => r.rps / (to[i]?.rps ?? Number.NaN)));
    const paired = pairRatio(results.versus, results.bare);
    const pairedPost = pairRatio(results.versus, results.post);
    const routedHello = pairRatio(results.routed, results.bare);
    const routedPost = pairRatio(results.routed, results.post);
    const postVsHello = pairRatio(results.post, results.bare);
    const us = (values: number[]) => `${median(values).toFixed(1)} µs`;
    const lat = (rs: LoadResult[]) =>
      `${median(rs.map((r) => r.latency.p50))} / ${median(rs.map((r) => r.latency.p99))}`;
    return [
      `${preamble('npm run bench -- gateway-cache', runs)} At the start: ${startLoad}.`,
      `Each run: autocannon for ${duration} s, ${CONNECTIONS} connections, in its own process against 127.0.0.1. Versus answers every request from the response cache (x-cache: HIT), once as \`npm start\` runs it (hits answered by the front lane) and once with FRONT_LANE=false (every hit through the Fastify route). Anchors: GET / on a bare Fastify hello-world (the goal: ratio ≥ 0.6×), and POST /chat on the same bare Fastify with the same JSON body, parsed by Fastify's default parser and answered with a fixed chat.completion of the same size (~0.4 KB): what Fastify alone costs for this request. Ratios are medians of the per-run ratios (runs alternate between the four).`,
      '',
      table(
        ['target', 'req/s', 'vs hello GET', 'vs bare POST', 'p50 / p99 ms', 'server CPU per request'],
        [
          [
            'Versus cache hit',
            human(v),
            `${paired.toFixed(2)}×`,
            `${pairedPost.toFixed(2)}×`,
            lat(results.versus),
            us(cpu.versus),
          ],
          [
            'Versus cache hit, FRONT_LANE=false (through the Fastify route)',
            human(median(results.routed.map((r) => r.rps))),
            `${routedHello.toFixed(2)}×`,
            `${routedPost.toFixed(2)}×`,
            lat(results.routed),
            us(cpu.routed),
          ],
          ['bare Fastify GET / (hello)', human(b), '1.00×', '—', lat(results.bare), us(cpu.bare)],
          [
            'bare Fastify POST /chat (same body, same answer size)',
            human(p),
            `${postVsHello.toFixed(2)}×`,
            '1.00×',
            lat(results.post),
            us(cpu.post),
          ],
        ],
      ),
      '',
      `Errors + non-2xx over all runs: ${errors}. Ratio of the medians, Versus vs hello: ${ratio(v, b)}.`,
    ].join('\n');
  },
};

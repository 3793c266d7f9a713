/**
 * What monitoring costs: the per-request hooks (Prometheus route histogram, which exists without
 * the monitor, and the monitor's windowed histogram), the histogram itself against
 * hdr-histogram-js, `context()` per call against calling the function bare, and a whole request
 * through Fastify with the monitor on and off.
 */
import { execFileSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import * as hdr from 'hdr-histogram-js';
import { measure } from 'mitata';
import { testConfig } from '../../src/config.ts';
import { createMetricsRegistry } from '../../src/perf/metrics/index.ts';
import { createPerformanceManager, installRequestTiming } from '../../src/perf/monitor/index.ts';
import { LogHistogram } from '../../src/perf/monitor/log-histogram.ts';
import { installHttpMetrics } from '../../src/perf/web/index.ts';
import { buildServer } from '../../src/server.ts';
import { median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

type Hook = (request: unknown, reply: unknown, done: () => void) => void;

/** The hooks exactly as the server registers them (onRoute hooks are run for `routes`). */
function hooksOf(install: (app: FastifyInstance) => void, routes: string[] = []) {
  const hooks: { name: string; fn: Hook }[] = [];
  install({
    addHook: (name: string, fn: Hook) => hooks.push({ name, fn }),
  } as unknown as FastifyInstance);
  const onRoute = hooks.find((h) => h.name === 'onRoute')?.fn as ((route: object) => void) | undefined;
  const perRoute = routes.map((url) => {
    const route: { url: string; onResponse?: Hook[] } = { url };
    onRoute?.(route);
    return route.onResponse?.[0];
  });
  return { root: hooks.filter((h) => h.name === 'onResponse').map((h) => h.fn), perRoute };
}

/** RSS a fresh Node process gains by running `code` (an ES module body), median of 3, MB. */
function rssCostMb(code: string): number {
  const probe = (body: string) =>
    Number(
      execFileSync(
        process.execPath,
        ['--input-type=module', '-e', `${body}\nprocess.stdout.write(String(process.memoryUsage().rss))`],
        { cwd: new URL('../..', import.meta.url), encoding: 'utf8' },
      ),
    );
  // Both sides strip one line of TypeScript first, so Node's own type stripper is in the baseline.
  const strip = "(await import('node:module')).stripTypeScriptTypes('let a: number = 1');";
  const deltas = [0, 1, 2].map(() => probe(`${strip}\n${code}`) - probe(strip));
  return median(deltas) / 2 ** 20;
}

const nsPerOp = async (fn: () => unknown) => (await measure(fn, { min_cpu_time: 300e6 })).p50;

export const scenario: Scenario = {
  id: 'monitor',
  title: 'Monitoring overhead: per-request instrumentation and context()',
  async run({ runs, log }) {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const manager = createPerformanceManager({
      targets: { responseTimeMs: 200, cacheHitRate: 0.8, memoryMb: 512 },
      logger: { info() {}, warn() {}, error() {} },
      metrics,
      memory: false,
    });
    const routes = ['/v1/chat/completions', '/v1/models', '/health'];
    const prom = hooksOf((app) => installHttpMetrics(app, metrics), routes);
    const monitorHook = hooksOf((app) => installRequestTiming(app, manager)).root[0]!;
    const promRoot = prom.root[0]!;
    const requests = ['GET', 'POST'].map((method) => ({ method, is404: false }));
    const replies = [200, 200, 200, 404, 500, 200, 201].map((statusCode, i) => ({
      statusCode,
      elapsedTime: 3 + i * 17.3,
    }));
    const done = () => {};
    let i = 0;
    // What Fastify runs for a routed request: the route's metrics hook, then the root hooks.
    const promOnly = () => {
      const req = requests[i & 1];
      const rep = replies[i % replies.length];
      prom.perRoute[i++ % routes.length]!(req, rep, done);
      promRoot(req, rep, done);
    };
    const onlyMonitor = () => {
      monitorHook(requests[i & 1], replies[i++ % replies.length], done);
    };
    const both = () => {
      const req = requests[i & 1];
      const rep = replies[i % replies.length];
      prom.perRoute[i++ % routes.length]!(req, rep, done);
      promRoot(req, rep, done);
      monitorHook(req, rep, done);
    };
    let sink = 0;
    const work = () => {
      sink += 1;
      return sink;
    };
    const asyncWork = async () => work();

    const apps: Record<'on' | 'off', FastifyInstance> = {
      on: await buildServer(testConfig({})),
      off: await buildServer(testConfig({ ENABLE_PERFORMANCE_MONITORING: 'false' })),
    };
    await apps.on.ready();
    await apps.off.ready();

    // Latencies in µs as the monitor records them: mostly milliseconds, a tail to seconds.
    const latencies = Array.from({ length: 1024 }, (_, k) => Math.round(200 + ((k * 7919) % 1024) ** 2.2));
    await hdr.initWebAssembly();
    const mine = new LogHistogram();
    const hdrOptions = { bitBucketSize: 32, autoResize: true, numberOfSignificantValueDigits: 3 } as const;
    const hdrWasm = hdr.build({ ...hdrOptions, useWebAssembly: true });
    const hdrJs = hdr.build({ ...hdrOptions, useWebAssembly: false });
    for (const v of latencies) {
      mine.record(v);
      hdrWasm.recordValue(v);
      hdrJs.recordValue(v);
    }

    const r: Record<string, number[]> = {};
    const add = (k: string, v: number) => {
      r[k] = [...(r[k] ?? []), v];
    };
    for (let run = 0; run < runs; run++) {
      add('recordMine', await nsPerOp(() => mine.record(latencies[i++ & 1023]!)));
      add('recordWasm', await nsPerOp(() => hdrWasm.recordValue(latencies[i++ & 1023]!)));
      add('recordJs', await nsPerOp(() => hdrJs.recordValue(latencies[i++ & 1023]!)));
      add('p99Mine', await nsPerOp(() => mine.valueAtPercentile(99)));
      add('p99Wasm', await nsPerOp(() => hdrWasm.getValueAtPercentile(99)));
      add('monitor', await nsPerOp(onlyMonitor));
      add('prom', await nsPerOp(promOnly));
      add('both', await nsPerOp(both));
      add('bare', await nsPerOp(work));
      add('ctx', await nsPerOp(() => manager.context('op', work)));
      add('bareAsync', await nsPerOp(asyncWork));
      add('ctxAsync', await nsPerOp(() => manager.context('op', asyncWork)));
      // inject() returns a thenable chain, not a Promise: await it so mitata times the request.
      add('injectOn', await nsPerOp(async () => await apps.on.inject({ method: 'GET', url: '/health' })));
      add('injectOff', await nsPerOp(async () => await apps.off.inject({ method: 'GET', url: '/health' })));
      log(
        `  run ${run + 1}/${runs}: hooks ${Math.round(r.both!.at(-1)!)} ns (monitor ${Math.round(r.monitor!.at(-1)!)} ns), context ${Math.round(r.ctx!.at(-1)! - r.bare!.at(-1)!)} ns`,
      );
    }
    await apps.on.close();
    await apps.off.close();
    await manager.close();
    hdrWasm.destroy();
    log('  memory to load each histogram (fresh processes)');
    const rssMine = rssCostMb(
      "const { LogHistogram } = await import('./src/perf/monitor/log-histogram.ts'); new LogHistogram().record(5);",
    );
    const rssHdr = rssCostMb("const h = await import('hdr-histogram-js'); h.build().recordValue(5);");
    const rssHdrWasm = rssCostMb(
      "const h = await import('hdr-histogram-js'); await h.initWebAssembly(); h.build({ useWebAssembly: true }).recordValue(5);",
    );
    const m = (k: string) => median(r[k]!);
    const ns = (v: number) => `${Math.round(v)} ns`;
    const us = (v: number) => `${(v / 1000).toFixed(1)} µs`;
    return [
      preamble('npm run bench -- monitor', runs),
      'Nanoseconds per call (mitata p50 per run, median of runs). The hooks are called exactly as Fastify calls them, with varied routes and statuses.',
      '',
      table(
        ['what', 'cost', 'note'],
        [
          [
            'monitor hook (windowed log-linear histogram, 5xx count)',
            ns(m('monitor')),
            'what ENABLE_PERFORMANCE_MONITORING adds per request',
          ],
          ['Prometheus route histogram hook', ns(m('prom')), 'present with or without the monitor'],
          [
            'record one latency: Versus `LogHistogram`',
            ns(m('recordMine')),
            `hdr-histogram-js WebAssembly ${ns(m('recordWasm'))} (${ratio(m('recordWasm'), m('recordMine'))} of this), pure JS ${ns(m('recordJs'))} (${ratio(m('recordJs'), m('recordMine'))})`,
          ],
          [
            'p99 query, latencies from 0.2 ms to 4 s recorded: Versus `LogHistogram`',
            ns(m('p99Mine')),
            `hdr-histogram-js WebAssembly ${ns(m('p99Wasm'))}`,
          ],
          [
            'RSS a process gains by loading the histogram: Versus `LogHistogram`',
            `${rssMine.toFixed(1)} MB`,
            `hdr-histogram-js ${rssHdr.toFixed(1)} MB, with its WebAssembly build ${rssHdrWasm.toFixed(1)} MB`,
          ],
          ['total instrumentation per request (both hooks)', ns(m('both')), 'goal < 1 µs'],
          [
            '`context(name, fn)` sync, overhead over calling `fn`',
            ns(m('ctx') - m('bare')),
            `${ns(m('ctx'))} vs ${ns(m('bare'))}`,
          ],
          [
            '`context(name, fn)` async, overhead over awaiting `fn`',
            ns(m('ctxAsync') - m('bareAsync')),
            `${ns(m('ctxAsync'))} vs ${ns(m('bareAsync'))}`,
          ],
          [
            'whole `GET /health` through `app.inject`, monitor on',
            us(m('injectOn')),
            `off: ${us(m('injectOff'))} (difference is within run-to-run noise)`,
          ],
        ],
      ),
    ].join('\n');
  },
};

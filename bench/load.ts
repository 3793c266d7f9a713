/**
 * `npm run load`: HTTP load scenarios against a real Versus process, with a bare Fastify
 * hello-world measured in the same run as the anchor, and the goals of docs/performance.md
 * checked against the figures. Writes its tables between the `<!-- bench:load -->` markers.
 *
 * Each measurement is autocannon in its own process against 127.0.0.1, bounded by LOAD_DURATION
 * seconds, against a Versus started for it (so its RSS, sampled from /proc while the load runs,
 * is that traffic's and not what earlier scenarios left in the heap; the peak is reported).
 *
 *   LOAD_RUNS=3 (runs per measurement, medians reported)   LOAD_DURATION=5 (seconds per run)
 *   LOAD_CONNECTIONS=100,1000                              LOAD_ONLY=cache-hit,hello (scenario ids)
 *   LOAD_NODE_OPTIONS='--max-semi-space-size=4' (NODE_OPTIONS of the Versus server, to try V8 memory settings)
 *   DATABASE_URL (run Versus on PostgreSQL instead of the embedded PGlite)
 */

import { redactUrl } from '../src/config.ts';
import {
  type LoadOptions,
  type LoadResult,
  load,
  loadWithCpu,
  startTarget,
  type Target,
} from './lib/http.ts';
import {
  formatRatio,
  type Goal,
  goalsTable,
  type Measured,
  type Plan,
  pairedRatio,
  SCENARIOS,
} from './lib/load-scenarios.ts';
import { human, machine, median, preamble, table, writeSection } from './lib/report.ts';

const runs = Number(process.env.LOAD_RUNS ?? 3);
const duration = Number(process.env.LOAD_DURATION ?? 5);
const connectionLevels = (process.env.LOAD_CONNECTIONS ?? '100,1000').split(',').map(Number);
const only = process.env.LOAD_ONLY?.split(',').map((s) => s.trim());
const nodeOptions = process.env.LOAD_NODE_OPTIONS ?? '';
if (!Number.isInteger(runs) || runs < 1) throw new Error('LOAD_RUNS must be a positive integer');
if (!(duration >= 1)) throw new Error('LOAD_DURATION must be at least 1 (seconds)');
if (connectionLevels.some((c) => !Number.isInteger(c) || c < 1)) {
  throw new Error('LOAD_CONNECTIONS must be a comma-separated list of positive integers');
}

/** The key the load generator authenticates with: auth and the rate limiter run on every request. */
const API_KEY = 'load-test-key-0123456789abcdef';

/**
 * Waits until Versus admits requests again: after a heavy run it may still be shedding load
 * (503 OVERLOADED) for up to a sample interval, and the next scenario must not start inside that.
 */
async function settle(target: Target, headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${target.url}/v1/models`, { headers }).catch(() => undefined);
    await res?.arrayBuffer();
    if (res !== undefined && res.status !== 503) return;
    if (Date.now() > deadline) throw new Error('Versus still answers 503 15 s after the last run');
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Run {
  result: LoadResult;
  rssMb: number;
  /** The server's CPU time (user + system) per request, µs: what a request costs it, whatever the load generator next to it could send. */
  cpuUs: number;
}

async function measure(target: Target, options: LoadOptions): Promise<Run> {
  let peak = 0;
  const sample = async () => {
    try {
      peak = Math.max(peak, await target.rssMb());
    } catch {
      // the process exited; the load result will show it
    }
  };
  await sample();
  const timer = setInterval(sample, 250);
  try {
    const { result, cpuUs } = await loadWithCpu(target, options);
    await sample();
    return { result, rssMb: peak, cpuUs };
  } finally {
    clearInterval(timer);
  }
}

console.log(
  `${machine()}\n${runs} run(s) of ${duration} s per measurement, connections ${connectionLevels.join(', ')}\n`,
);
const started = performance.now();

// The mock provider in its own process, as a real provider would be: its CPU and memory are not
// the gateway's. `mock/long` answers with ~10 KB of JSON, the body size the compression goal uses.
const mock = await startTarget('mock', 'src/platform/providers/mock/main.ts', {}, '/admin/models');
const created = await fetch(`${mock.url}/admin/models/long`, {
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ latencyMs: 20, jitterMs: 5, answerTokens: 1600 }),
});
if (!created.ok) throw new Error(`the mock provider refused the long model: ${await created.text()}`);
// DATABASE_URL, when set, runs Versus on PostgreSQL as deployed; unset, on the embedded PGlite,
// which holds 160 MB or more of it (docs/database.md, "Embedded PGlite memory"). REDIS_URL is not passed on: it would make the rate limiter, which
// runs on every request here, a Redis round trip, and the L1 cache-hit path does not change with it.
const services: Record<string, string> = process.env.DATABASE_URL
  ? { DATABASE_URL: process.env.DATABASE_URL }
  : {};
const setup =
  services.DATABASE_URL === undefined
    ? 'embedded PGlite (in memory)'
    : `PostgreSQL (${redactUrl(services.DATABASE_URL)})`;
const versusEnv = {
  ...services,
  MOCK_PROVIDER_URL: `${mock.url}/v1`,
  ...(nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions }),
  API_KEYS: API_KEY,
  // The limiter runs on every request and never rejects: its cost is in the figures.
  RATE_LIMIT_REQUESTS: '1000000000',
  LOG_LEVEL: 'warn',
};
const headers = { authorization: `Bearer ${API_KEY}` };
/** Versus as `npm start` runs it; each measurement gets its own, so a row's RSS is its traffic's. */
const startVersus = () => startTarget('versus', 'bin/versus.js', versusEnv);
const bare = await startTarget('fastify', 'bench/targets/fastify-hello.ts');
const measured: Measured[] = [];
const skipped: string[] = [];
let versus: Target | undefined;
try {
  // A first Versus checks that every scenario can run on this build; it also fills Node's compile
  // cache, as the first start after a deploy does for every restart after it.
  versus = await startVersus();
  const scenarios: typeof SCENARIOS = [];
  /** The anchors' plans: their server lives for the whole run. */
  const anchorPlans = new Map<string, Plan>();
  for (const scenario of SCENARIOS) {
    if (only !== undefined && !only.includes(scenario.id)) continue;
    const target = scenario.anchor ? bare : versus;
    if (!scenario.anchor) await settle(versus, headers);
    const plan = await scenario.prepare({ url: target.url, headers });
    if (typeof plan === 'string') {
      skipped.push(`${scenario.id}: ${plan}`);
      console.log(`- ${scenario.id}: skipped (${plan})`);
      continue;
    }
    scenarios.push(scenario);
    if (scenario.anchor) anchorPlans.set(scenario.id, plan);
  }
  await versus.stop();
  versus = undefined;

  /**
   * One measurement. An anchor runs on the long-lived bare Fastify (warmed once per level); a
   * Versus scenario on a Versus started for it, warmed for a second, then measured.
   */
  const measureScenario = async (scenario: (typeof SCENARIOS)[number], connections: number) => {
    const anchor = anchorPlans.get(scenario.id);
    if (anchor !== undefined) return measure(bare, { ...anchor, connections, duration });
    versus = await startVersus();
    try {
      const plan = await scenario.prepare({ url: versus.url, headers });
      if (typeof plan === 'string') throw new Error(`${scenario.id}: ${plan}`);
      await load({ ...plan, connections, duration: 1 });
      await settle(versus, headers);
      return await measure(versus, { ...plan, connections, duration });
    } finally {
      await versus.stop();
      versus = undefined;
    }
  };

  for (const connections of connectionLevels) {
    for (const plan of anchorPlans.values()) await load({ ...plan, connections, duration: 1 });
    // Scenarios alternate run by run, so drift on a shared machine hits every scenario and the
    // anchor alike.
    const results = new Map<string, Run[]>(scenarios.map((p) => [p.id, []]));
    for (let i = 0; i < runs; i++) {
      for (const scenario of scenarios) {
        const r = await measureScenario(scenario, connections);
        results.get(scenario.id)!.push(r);
        console.log(
          `  run ${i + 1}/${runs} ${scenario.id} @${connections}: ${human(r.result.rps)} req/s, ` +
            `${r.cpuUs.toFixed(1)} µs server CPU per request, RSS peak ${r.rssMb} MB`,
        );
      }
    }
    for (const p of scenarios) {
      const rs = results.get(p.id)!;
      const m: Measured = {
        id: p.id,
        title: p.title,
        connections,
        rps: median(rs.map((r) => r.result.rps)),
        runRps: rs.map((r) => r.result.rps),
        p50: median(rs.map((r) => r.result.latency.p50)),
        p97_5: median(rs.map((r) => r.result.latency.p97_5)),
        p99: median(rs.map((r) => r.result.latency.p99)),
        requests: rs.reduce((n, r) => n + r.result.requests, 0),
        ok2xx: rs.reduce((n, r) => n + r.result.ok2xx, 0),
        errors: rs.reduce((n, r) => n + r.result.errors + r.result.timeouts, 0),
        non2xx: rs.reduce((n, r) => n + r.result.non2xx, 0),
        rssMb: Math.max(...rs.map((r) => r.rssMb)),
        cpuUs: median(rs.map((r) => r.cpuUs)),
      };
      measured.push(m);
      console.log(
        `- ${m.id} @${connections}: ${human(m.rps)} req/s, p50 ${m.p50} / p99 ${m.p99} ms, ` +
          `${m.errors} errors, ${m.non2xx} non-2xx, ${m.cpuUs.toFixed(1)} µs CPU per request, RSS ${m.rssMb} MB`,
      );
    }
  }
} finally {
  await versus?.stop();
  await bare.stop();
  await mock.stop();
}

const anchorOf = (connections: number) =>
  measured.find((m) => m.id === 'hello' && m.connections === connections);
/** The median of the per-run ratios against the hello-world at the same connections. */
const vsAnchor = (m: Measured) => {
  if (m.id === 'hello') return '1.00× (anchor)';
  const anchor = anchorOf(m.connections);
  return anchor === undefined ? 'n/a' : formatRatio(pairedRatio(m, anchor));
};
const isAnchor = (id: string) => id === 'hello' || id === 'hello-post';
const rows = measured.map((m) => [
  m.title,
  String(m.connections),
  human(m.rps),
  vsAnchor(m),
  `${m.cpuUs.toFixed(1)} µs`,
  `${m.p50} / ${m.p97_5} / ${m.p99}`,
  m.requests === 0 ? 'n/a' : `${((100 * m.ok2xx) / m.requests).toFixed(2)} %`,
  `${m.errors} / ${m.non2xx}`,
  isAnchor(m.id) ? `(${m.rssMb})` : String(m.rssMb),
]);
const goals: Goal[] = goalsTable(measured);
const markdown = [
  '### Load test: `npm run load`',
  '',
  preamble(`npm run load`, runs),
  `Each run: autocannon for ${duration} s in its own process against 127.0.0.1; the server is \`bin/versus.js\` (as \`npm start\` runs it), started afresh for each measurement and warmed for 1 s, on ${setup}, L1 cache only, the mock provider in its own process, one API key (auth and the rate limiter run on every request, the limit is never reached), compression on${nodeOptions === '' ? '' : `, NODE_OPTIONS=${nodeOptions}`}; Versus and the bare Fastify anchors listen with a backlog of 2048, so every connection is accepted from the start. Scenarios alternate run by run; req/s and latencies are medians over the runs, and a ratio is the median of the per-run ratios (run i of a scenario against run i of the anchor, measured minutes apart at most), so drift on the shared machine between runs moves both sides of it.`,
  '',
  table(
    [
      'scenario',
      'connections',
      'req/s',
      'vs bare Fastify',
      'server CPU per request',
      'p50 / p97.5 / p99 ms',
      '2xx',
      'errors / non-2xx',
      'server RSS peak MB',
    ],
    rows,
  ),
  '',
  skipped.length === 0 ? '' : `Not measured in this run: ${skipped.join('; ')}.\n`,
  '#### Goals',
  '',
  table(
    ['goal', 'measured', 'met'],
    goals.map((g) => [
      g.goal,
      g.measured,
      g.met === 'context' ? '(context)' : g.met === undefined ? 'not measured' : g.met ? 'yes' : '**no**',
    ]),
  ),
].join('\n');
await writeSection('load', markdown);
console.log(
  `\n${markdown}\n\ndone in ${((performance.now() - started) / 1000).toFixed(0)} s; docs/performance.md updated`,
);

/**
 * An open-loop load generator that reads a response header: sends POSTs at a fixed rate (not
 * waiting for answers, so a slow server cannot slow the offered load down) and prints one JSON
 * line with latency percentiles and, when the server sends it, the percentiles of a numeric
 * header such as `x-gateway-overhead-ms`.
 * Input: one JSON argument {url, body, rate, duration, connections, header?, warmup?}.
 */
import { Pool } from 'undici';
import type { RateOptions } from './http.ts';

const o = JSON.parse(process.argv[2] ?? '{}') as RateOptions;
const target = new URL(o.url);
const pool = new Pool(target.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 30_000 });
const headers = { 'content-type': 'application/json', ...o.headers };

const latencies: number[] = [];
const values: number[] = [];
let errors = 0;
let non2xx = 0;

async function one(measure: boolean): Promise<void> {
  const started = performance.now();
  try {
    const res = await pool.request({ method: 'POST', path: target.pathname, headers, body: o.body });
    await res.body.dump();
    if (res.statusCode >= 300) non2xx++;
    if (!measure) return;
    latencies.push(performance.now() - started);
    const raw = o.header === undefined ? undefined : res.headers[o.header];
    if (typeof raw === 'string') values.push(Number(raw));
  } catch {
    errors++;
  }
}

async function phase(seconds: number, measure: boolean): Promise<void> {
  const total = Math.round(seconds * o.rate);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(one(measure));
  }
  await Promise.all(inFlight);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function summary(list: number[]) {
  const s = [...list].sort((a, b) => a - b);
  return { p50: pct(s, 0.5), p90: pct(s, 0.9), p99: pct(s, 0.99), max: s.at(-1) ?? Number.NaN };
}

const started = performance.now();
await phase(o.warmup ?? 1, false);
const measuredFrom = performance.now();
await phase(o.duration, true);
const elapsed = (performance.now() - measuredFrom) / 1000;
await pool.close();
process.stdout.write(
  `${JSON.stringify({
    requests: latencies.length,
    rps: latencies.length / elapsed,
    latency: summary(latencies),
    header: values.length > 0 ? summary(values) : undefined,
    errors,
    non2xx,
    total_s: (performance.now() - started) / 1000,
  })}\n`,
);

/**
 * Event exports per instance are bounded by EXPORTS_MAX_CONCURRENT: past it a GET is answered
 * 503 EXPORTS_BUSY with Retry-After, and a slot comes back when an export ends, fails mid-stream
 * or is left by its client. Over a real socket, on PGlite; the database is gated (held) to keep
 * exports running.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, type MetricsRegistry } from '../src/perf/metrics/index.ts';
import { installErrorHandling } from '../src/perf/web/index.ts';
import { insertEvents, type Recorder, registerEventRoutes } from '../src/platform/events/index.ts';
import { event, pgliteSql, type TestSql } from './helpers/experiments.ts';
import { waitFor } from './helpers/http.ts';

const until = (check: () => Promise<boolean> | boolean, ms = 5000) => waitFor(check, ms, 10);

let sql: TestSql;
let app: FastifyInstance;
let metrics: MetricsRegistry;
let base: string;
/** While set, export pages wait for it; `fail` makes the next page query fail. */
let gate: Promise<void> | undefined;
let open = () => {};
let fail = false;

const hold = () => {
  gate = new Promise((r) => {
    open = () => {
      gate = undefined;
      r();
    };
  });
};

async function metric(name: string): Promise<number> {
  const text = await metrics.metrics();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  sql = await pgliteSql();
  await insertEvents(
    sql,
    [1, 2, 3].map(() => event({ experimentId: 'exp_limit' })),
  );
  metrics = createMetricsRegistry({ defaultMetrics: false });
  const db = {
    async query<R>(text: string, params?: readonly unknown[]) {
      if (text.includes('FROM experiment_events e')) {
        await gate;
        if (fail) {
          fail = false;
          throw new Error('connection terminated unexpectedly');
        }
      }
      return sql.query<R>(text, params);
    },
  };
  app = Fastify({ logger: false });
  installErrorHandling(app);
  registerEventRoutes(app, {
    db,
    recorder: {} as Recorder,
    experiment: async () => ({ id: 'exp_limit', name: 'limit' }),
    maxConcurrentExports: 2,
    metrics,
  });
  base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1/experiments/limit/events`;
});

afterAll(async () => {
  open();
  await app.close();
  await sql.close();
});

describe('event export concurrency', () => {
  it('refuses exports past the limit with 503 EXPORTS_BUSY and frees a slot however an export ends', async () => {
    hold();
    const left = new AbortController();
    const first = fetch(base, { signal: left.signal }).catch((e: Error) => e);
    const second = fetch(`${base}?format=csv`).then(async (r) => r.text());
    await until(async () => (await metric('event_exports_active')) === 2);

    const busy = await fetch(base);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('5');
    expect(busy.headers.get('content-disposition')).toBeNull();
    const body = (await busy.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('EXPORTS_BUSY');
    expect(body.error.message).toContain('EXPORTS_MAX_CONCURRENT');
    expect(await metric('event_exports_refused_total')).toBe(1);
    // HEAD reads nothing and is answered while the exports run.
    expect((await fetch(base, { method: 'HEAD' })).status).toBe(200);

    // A client that leaves gives its slot back: a new export is taken.
    left.abort();
    await first;
    await until(async () => (await metric('event_exports_active')) === 1);
    const third = fetch(base).then(async (r) => ({ status: r.status, text: await r.text() }));
    await until(async () => (await metric('event_exports_active')) === 2);

    open();
    expect((await second).trim().split('\n')).toHaveLength(4);
    const done = await third;
    expect(done.status).toBe(200);
    expect(done.text.trim().split('\n')).toHaveLength(3);
    await until(async () => (await metric('event_exports_active')) === 0);

    // An export whose database fails mid-stream gives its slot back too.
    fail = true;
    await fetch(base)
      .then(async (r) => r.text())
      .catch(() => '');
    await until(async () => (await metric('event_exports_active')) === 0);
    expect((await fetch(base)).status).toBe(200);
    expect(await metric('event_exports_refused_total')).toBe(1);
  });
});

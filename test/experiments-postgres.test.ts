/**
 * Recording, feedback and results on the real database layer, PGlite and PostgreSQL alike: the
 * migration, batched writes, an outage during recording, and the results cache invalidated by new
 * events.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/perf/db/index.ts';
import { createMetricsRegistry } from '../src/perf/metrics/index.ts';
import { createResultsService } from '../src/platform/analytics/index.ts';
import { createRecorder, exportStream, submitFeedback } from '../src/platform/events/index.ts';
import { type Backend, pgliteBackend, postgresBackend, warmPglite } from './helpers/db.ts';
import { chaos, event } from './helpers/experiments.ts';
import { waitFor } from './helpers/http.ts';
import { hasPostgres } from './helpers/services.ts';

const until = (check: () => Promise<boolean> | boolean, ms = 15_000) => waitFor(check, ms, 20);

const MIGRATIONS = fileURLToPath(new URL('../src/platform/migrations', import.meta.url));
const silent = { warn: () => {}, error: () => {} };

const backends: [string, () => Promise<Backend>][] = [
  ['pglite', async () => pgliteBackend()],
  ...(hasPostgres ? ([['postgres', postgresBackend]] as [string, () => Promise<Backend>][]) : []),
];

describe.each(backends)('experiments on %s', (_name, make) => {
  let backend: Backend;
  let db: Database;
  beforeAll(async () => {
    await warmPglite();
    backend = await make();
    db = await backend.open();
    await db.migrate(MIGRATIONS);
  }, 120_000);
  afterAll(() => backend.cleanup());

  const count = async (experimentId: string) =>
    Number(
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM experiment_events WHERE experiment_id = $1',
          [experimentId],
        )
      ).rows[0]!.n,
    );

  it('writes every event in batches', async () => {
    const recorder = createRecorder({ db, log: silent, flushIntervalMs: 20, maxBatch: 1000 });
    for (let i = 0; i < 5000; i++) recorder.record(event({ experimentId: 'exp_batches' }));
    await until(async () => (await count('exp_batches')) === 5000);
    expect(await recorder.close()).toBe(0);
  });

  it('retries through a database outage and loses nothing', async () => {
    const flaky = chaos(db);
    const recorder = createRecorder({
      db: flaky,
      log: silent,
      flushIntervalMs: 10,
      retryBaseMs: 10,
      retryMaxMs: 40,
    });
    flaky.down = true;
    for (let i = 0; i < 2000; i++) recorder.record(event({ experimentId: 'exp_outage' }));
    await until(async () => flaky.failures >= 3);
    expect(await count('exp_outage')).toBe(0);
    flaky.down = false;
    await until(async () => (await count('exp_outage')) === 2000);
    expect(await recorder.close()).toBe(0);
  });

  it('drops only an event the database cannot store (NUL in the unit), through an outage too', async () => {
    // Before: the batch failed with SQLSTATE 22021 and was retried forever at the head of the
    // buffer, so no later event of any experiment was written.
    const flaky = chaos(db);
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const warnings: Record<string, unknown>[] = [];
    const recorder = createRecorder({
      db: flaky,
      log: { warn: (o) => warnings.push(o as Record<string, unknown>), error: () => {} },
      metrics,
      flushIntervalMs: 10,
      maxBatch: 500,
      retryBaseMs: 10,
      retryMaxMs: 40,
    });
    const bad = event({ experimentId: 'exp_nul', unit: 'bad\u0000unit' });
    flaky.down = true;
    for (let i = 0; i < 300; i++) recorder.record(event({ experimentId: 'exp_nul' }));
    recorder.record(bad);
    for (let i = 0; i < 300; i++) recorder.record(event({ experimentId: 'exp_nul' }));
    await until(async () => flaky.failures >= 2);
    // The outage is retried as before, the bad event is not the reason anything waits.
    expect(recorder.stats()).toMatchObject({ buffered: 601, rejected: 0 });
    flaky.down = false;
    await until(async () => (await count('exp_nul')) === 600);
    expect(recorder.stats()).toMatchObject({ buffered: 0, written: 600, rejected: 1 });
    const text = await metrics.metrics();
    expect(text).toMatch(/^experiment_events_rejected_total 1$/m);
    expect(text).toMatch(/^experiment_events_written_total 600$/m);
    const warning = warnings.find((w) => w.response_id === bad.responseId);
    expect(warning).toMatchObject({ experiment_id: 'exp_nul', err: { sqlstate: '22021' } });
    expect(JSON.stringify(warnings)).not.toContain('bad\\u0000unit');
    // Feedback for the dropped event finds nothing to attach to.
    await expect(
      submitFeedback(db, recorder, { response_id: bad.responseId, score: 1 }),
    ).rejects.toMatchObject({ code: 'RESPONSE_NOT_FOUND' });
    expect(await recorder.close()).toBe(0);
  });

  it('serves results from the query cache until new events or feedback arrive', async () => {
    const recorder = createRecorder({ db, log: silent, flushIntervalMs: 60_000 });
    const service = createResultsService({ db, minIntervalMs: 0 });
    const experiment = {
      id: 'exp_cache',
      name: 'cache',
      status: 'running',
      version: 1,
      variants: [
        { name: 'a', weight: 1 },
        { name: 'b', weight: 1 },
      ],
    };
    const first = event({ experimentId: 'exp_cache', variant: 'a' });
    recorder.record(first);
    recorder.record(event({ experimentId: 'exp_cache', variant: 'b' }));
    await recorder.flush();
    expect((await service.results(experiment)).source).toBe('computed');
    const hit = await service.results(experiment);
    expect(hit.source).toBe('query-cache');
    expect(hit.results.variants.map((v) => v.requests)).toEqual([1, 1]);
    recorder.record(event({ experimentId: 'exp_cache', variant: 'b' }));
    await recorder.flush();
    const fresh = await service.results(experiment);
    expect(fresh.source).toBe('computed');
    expect(fresh.results.variants.map((v) => v.requests)).toEqual([1, 2]);
    await submitFeedback(db, recorder, { response_id: first.responseId, score: 0.5 });
    const withFeedback = await service.results(experiment);
    expect(withFeedback.source).toBe('computed');
    expect(withFeedback.results.variants[0]!.feedback).toMatchObject({ count: 1, mean: 0.5 });
    await recorder.close();
  });
  it('exports every event exactly once when several share a millisecond (microsecond timestamps)', async () => {
    // Rows written by other tools carry microseconds; 2,500 rows, three per millisecond, the
    // pages of 700 ending inside a millisecond.
    await db.query(
      `INSERT INTO experiment_events
         SELECT 'resp-us-' || lpad(g::text, 5, '0'), 'exp_micro', 'a', 'u' || g, true,
                timestamptz '2026-12-01 10:00:00+00' + (g * 333) * interval '1 microsecond',
                'mock/fast', 200, NULL, 1, NULL, 1, 1, NULL, false, false, NULL, false
           FROM generate_series(1, 2500) g`,
    );
    let text = '';
    for await (const chunk of exportStream(db, 'exp_micro', 'ndjson', 700)) text += chunk;
    const ids = text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { response_id: string }).response_id);
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
    expect(ids).toEqual([...ids].sort());
  });
});

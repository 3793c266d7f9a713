/**
 * Strings PostgreSQL cannot store (U+0000, and in jsonb an unpaired surrogate), found by fuzzing a
 * running server on its embedded PGlite: a NUL unit was answered 200 and then failed its event
 * batch forever, blocking every later event; a NUL anywhere else was a 500 DB_QUERY_FAILED with
 * the SQL in the message. Now they are 400 naming the field, or 404 for an id that cannot exist,
 * and an event the database refuses anyway is dropped alone.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentsPlatform } from '../src/platform/experiments/index.ts';
import { NO_LOAD_SHEDDING, testApp } from './helpers/app.ts';
import { event, type TestSql } from './helpers/experiments.ts';

let app: FastifyInstance;
let logs: () => string;
let sql: Pick<TestSql, 'query'>;
let platform: ExperimentsPlatform;
let experiment: { id: string; name: string };

// One app for the file (opening PGlite costs seconds); each test uses its own rows.
beforeAll(async () => {
  ({ app, logs } = await testApp({
    LOG_LEVEL: 'warn',
    EVENTS_FLUSH_INTERVAL_MS: '20',
    ...NO_LOAD_SHEDDING,
  }));
  await app.ready();
  sql = app.versus.db;
  platform = app.versus.experiments;
  const res = await app.inject({
    method: 'POST',
    url: '/v1/experiments',
    payload: {
      name: 'nul-check',
      status: 'running',
      variants: [
        { name: 'control', model: 'mock/fast', weight: 1 },
        { name: 'treatment', model: 'mock/fast', weight: 1 },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  experiment = res.json();
}, 120_000);
afterAll(() => app.close());

function chat(options: { headers?: Record<string, string>; body?: object } = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: options.headers ?? { 'x-experiment': experiment.name },
    payload: { model: 'mock/fast', messages: [{ role: 'user', content: 'hi' }], ...options.body },
  });
}

function expectInvalid(res: { statusCode: number; body: string }, field: string): void {
  expect(res.statusCode, res.body).toBe(400);
  const error = JSON.parse(res.body).error;
  expect(error.code).toBe('INVALID_REQUEST');
  expect(error.message).toContain(`${field} must not contain the NUL character`);
}

/** Events of the experiment in the database, after writing what is buffered. */
async function stored(): Promise<number> {
  await platform.recorder.flush();
  const r = await sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM experiment_events WHERE experiment_id = $1',
    [experiment.id],
  );
  return r.rows[0]!.n;
}

describe('text the database cannot store', () => {
  it('refuses a NUL in the unit (body.user, x-unit-id) before serving, and later events still land', async () => {
    expectInvalid(await chat({ body: { user: 'bad\u0000unit' } }), 'body.user');
    expectInvalid(
      await chat({ headers: { 'x-experiment': experiment.name, 'x-unit-id': 'bad\u0000unit' } }),
      'headers.x-unit-id',
    );
    // An unpaired surrogate would be stored as U+FFFD, a unit other than the one assigned.
    expectInvalid(await chat({ body: { user: 'half\ud800' } }), 'body.user');
    const before = await stored();
    for (let i = 0; i < 5; i++) expect((await chat({ body: { user: `u${i}` } })).statusCode).toBe(200);
    await platform.recorder.flush();
    expect(await stored()).toBe(before + 5);
    expect(platform.recorder.stats()).toMatchObject({ buffered: 0, rejected: 0 });
  });

  it('refuses a NUL in the experiment named by metadata.experiment or x-experiment, also in a batch', async () => {
    expectInvalid(
      await chat({ headers: {}, body: { metadata: { experiment: 'x\u0000' } } }),
      'body.metadata.experiment',
    );
    expectInvalid(await chat({ headers: { 'x-experiment': 'x\u0000' } }), 'headers.x-experiment');
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: {
        requests: [
          {
            model: 'mock/fast',
            messages: [{ role: 'user', content: 'hi' }],
            metadata: { experiment: 'x\u0000' },
          },
          { model: 'mock/fast', messages: [{ role: 'user', content: 'hi' }] },
        ],
      },
    });
    expect(batch.statusCode, batch.body).toBe(200);
    const items = batch.json().data as { status: number; body: { error?: { code: string } } }[];
    expect(items.map((i) => i.status)).toEqual([400, 200]);
    expect(items[0]!.body.error?.code).toBe('INVALID_REQUEST');
  });

  it('answers 404 for an experiment id or name with a NUL (none can exist), never 500', async () => {
    for (const url of [
      '/v1/experiments/exp1%00',
      '/v1/experiments/exp_1%00',
      '/v1/experiments/exp1%00/results',
      '/v1/experiments/exp1%00/events',
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(404);
      expect(res.json().error.code).toBe('EXPERIMENT_NOT_FOUND');
    }
    const patch = await app.inject({
      method: 'PATCH',
      url: '/v1/experiments/exp1%00',
      payload: { status: 'paused' },
    });
    expect(patch.statusCode, patch.body).toBe(404);
  });

  it('refuses a NUL in the list cursor', async () => {
    expectInvalid(await app.inject({ url: '/v1/experiments?after=exp_%00' }), 'querystring.after');
    const repeated = await app.inject({ url: '/v1/experiments?after=exp_1&after=exp_2' });
    expect(repeated.statusCode, repeated.body).toBe(400);
    expect(repeated.json().error.message).toContain('querystring.after');
  });

  it.each<[{ description?: string; variants?: object[] }, string]>([
    [{ description: 'a\u0000b' }, 'body.description'],
    [{ variants: [{ system_prompt: 'be\u0000brief' }] }, 'body.variants[0].system_prompt'],
    // jsonb refuses an unpaired surrogate where text would silently change it.
    [{ variants: [{ system_prompt: 'half\udc00' }] }, 'body.variants[0].system_prompt'],
    [{ variants: [{ params: { stop: ['ok', 'x\u0000'] } }] }, 'body.variants[0].params.stop[1]'],
  ])('refuses an experiment with %j', async (bad, field) => {
    const variants = [
      { name: 'a', model: 'mock/fast', weight: 1 },
      { name: 'b', model: 'mock/fast', weight: 1 },
    ].map((v, i) => ({ ...v, ...(bad.variants?.[i] ?? {}) }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/experiments',
      payload: { name: 'nul-create', ...bad, variants },
    });
    expectInvalid(res, field);
  });

  it('refuses a NUL in a PATCHed description', async () => {
    const res = await app.inject({
      method: 'PATCH',
      url: `/v1/experiments/${experiment.id}`,
      payload: { description: 'a\u0000b' },
    });
    expectInvalid(res, 'body.description');
  });

  it('refuses a NUL in feedback response_id or label', async () => {
    const ok = await chat({ body: { user: 'u1' } });
    const id = String(ok.headers['x-request-id']);
    const feedback = (payload: object) => app.inject({ method: 'POST', url: '/v1/feedback', payload });
    expectInvalid(await feedback({ response_id: 'abc\u0000', score: 1 }), 'body.response_id');
    expectInvalid(await feedback({ response_id: id, label: 'a\u0000' }), 'body.label');
    expect((await feedback({ response_id: id, label: 'fine' })).statusCode).toBe(201);
  });

  it('drops an event the database refuses, alone, instead of blocking every later event', async () => {
    const before = await stored();
    // Past validation (a future field, a bug): the write-behind must not retry it forever.
    const bad = event({ experimentId: experiment.id, unit: 'bad\u0000unit' });
    platform.recorder.record(bad);
    for (let i = 0; i < 10; i++) expect((await chat({ body: { user: `u${i}` } })).statusCode).toBe(200);
    await platform.recorder.flush();
    expect(await stored()).toBe(before + 10);
    // Nothing is left buffered, so a shutdown now would lose nothing.
    expect(platform.recorder.stats()).toMatchObject({ buffered: 0, rejected: 1 });
    const metrics = await app.versus.metrics.metrics();
    expect(metrics).toMatch(/^experiment_events_rejected_total 1$/m);
    const warning = logs()
      .split('\n')
      .find((line) => line.includes('the database refused an experiment event'));
    expect(warning).toContain(bad.responseId);
    expect(warning).toContain('"sqlstate":"22021"');
    expect(warning).not.toContain('bad\\u0000unit');
    const exported = await app.inject({ url: `/v1/experiments/${experiment.id}/events` });
    expect(exported.body.trim().split('\n')).toHaveLength(before + 10);
  });
});

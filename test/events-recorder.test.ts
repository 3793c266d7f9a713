import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../src/perf/errors.ts';
import { createRecorder, type Recorder, submitFeedback } from '../src/platform/events/index.ts';
import { chaos, event, pgliteSql, type TestSql } from './helpers/experiments.ts';
import { waitFor } from './helpers/http.ts';

const until = (check: () => Promise<boolean> | boolean, ms = 10_000) => waitFor(check, ms, 10);

const silent = { warn: () => {}, error: () => {} };
let sql: TestSql;

beforeAll(async () => {
  sql = await pgliteSql();
});
afterAll(() => sql.close());
beforeEach(async () => {
  await sql.query('TRUNCATE experiment_events, experiment_feedback');
});

async function count(): Promise<number> {
  const r = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM experiment_events');
  return r.rows[0]!.n;
}

describe('recorder', () => {
  it('writes every recorded event, in batches', async () => {
    const recorder = createRecorder({ db: sql, log: silent, flushIntervalMs: 20, maxBatch: 500 });
    for (let i = 0; i < 2000; i++) recorder.record(event());
    await until(async () => (await count()) === 2000);
    expect(recorder.stats()).toMatchObject({ written: 2000, dropped: 0, buffered: 0 });
    await recorder.close();
  });

  it('keeps events while the database is down and writes them all after recovery', async () => {
    const db = chaos(sql);
    const warnings: unknown[] = [];
    const recorder = createRecorder({
      db,
      log: { warn: (o) => warnings.push(o), error: () => {} },
      flushIntervalMs: 10,
      maxBatch: 100,
      retryBaseMs: 10,
      retryMaxMs: 50,
    });
    db.down = true;
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const e = event();
      ids.push(e.responseId);
      recorder.record(e);
    }
    await until(() => db.failures >= 3);
    expect(await count()).toBe(0);
    expect(recorder.stats().buffered).toBe(1000);
    expect(warnings.length).toBeGreaterThan(0);
    db.down = false;
    await until(async () => (await count()) === 1000);
    const stored = await sql.query<{ response_id: string }>('SELECT response_id FROM experiment_events');
    expect(new Set(stored.rows.map((r) => r.response_id))).toEqual(new Set(ids));
    await recorder.close();
  });

  it('flushes what is buffered on close (graceful shutdown)', async () => {
    const recorder = createRecorder({ db: sql, log: silent, flushIntervalMs: 60_000, maxBatch: 10_000 });
    for (let i = 0; i < 777; i++) recorder.record(event());
    expect(await count()).toBe(0);
    expect(await recorder.close(5000)).toBe(0);
    expect(await count()).toBe(777);
  });

  it('drops an event the database refuses (a raw driver error) and writes the rest of its batch', async () => {
    const warnings: object[] = [];
    const recorder = createRecorder({
      db: sql,
      log: { warn: (o) => warnings.push(o), error: () => {} },
      flushIntervalMs: 60_000,
    });
    recorder.record(event());
    recorder.record(event({ variant: 'v\u0000' }));
    recorder.record(event());
    await recorder.flush();
    expect(await count()).toBe(2);
    expect(recorder.stats()).toMatchObject({ buffered: 0, written: 2, rejected: 1 });
    expect(warnings).toHaveLength(1);
    await recorder.close();
  });

  it('does not double-count a batch written again after a lost reply', async () => {
    const e = event();
    const recorder = createRecorder({ db: sql, log: silent, flushIntervalMs: 60_000 });
    recorder.record(e);
    recorder.record({ ...e });
    await recorder.flush();
    expect(await count()).toBe(1);
    await recorder.close();
  });
});

describe('feedback', () => {
  let recorder: Recorder;
  beforeEach(() => {
    recorder = createRecorder({ db: sql, log: silent, flushIntervalMs: 60_000 });
  });

  it('accepts feedback before the event is flushed, and it counts once the event lands', async () => {
    const e = event({ experimentId: 'exp_fb' });
    recorder.record(e);
    const f = await submitFeedback(sql, recorder, { response_id: e.responseId, score: 0.75 });
    expect(f).toEqual({ responseId: e.responseId, experimentId: 'exp_fb', score: 0.75, label: null });
    expect(await count()).toBe(0);
    await recorder.flush();
    const joined = await sql.query<{ score: number }>(
      'SELECT f.score FROM experiment_events e JOIN experiment_feedback f USING (response_id) WHERE e.response_id = $1',
      [e.responseId],
    );
    expect(joined.rows).toEqual([{ score: 0.75 }]);
    await recorder.close();
  });

  it('accepts feedback after the flush, and the last feedback wins', async () => {
    const e = event();
    recorder.record(e);
    await recorder.flush();
    await submitFeedback(sql, recorder, { response_id: e.responseId, score: 0.2 });
    await submitFeedback(sql, recorder, { response_id: e.responseId, score: 1, label: 'great' });
    const r = await sql.query('SELECT score, label FROM experiment_feedback WHERE response_id = $1', [
      e.responseId,
    ]);
    expect(r.rows).toEqual([{ score: 1, label: 'great' }]);
    await recorder.close();
  });

  it('answers RESPONSE_NOT_FOUND for an id nobody recorded', async () => {
    const err = await submitFeedback(sql, recorder, { response_id: 'never-seen', score: 1 }).catch((e) => e);
    expect(isAppError(err) && err.code).toBe('RESPONSE_NOT_FOUND');
    expect(isAppError(err) && err.status).toBe(404);
    await recorder.close();
  });

  it('finds an event buffered elsewhere once it is flushed within one interval', async () => {
    // Two recorders on one database stand for two instances without Redis.
    const other = createRecorder({ db: sql, log: silent, flushIntervalMs: 50 });
    const here = createRecorder({ db: sql, log: silent, flushIntervalMs: 50 });
    const e = event();
    other.record(e);
    const f = await submitFeedback(sql, here, { response_id: e.responseId, label: 'late' });
    expect(f.label).toBe('late');
    await other.close();
    await here.close();
    await recorder.close();
  });

  it.each([
    [{ score: 1 }, 'body.response_id'],
    [{ response_id: 'x' }, 'a score'],
    [{ response_id: 'x', score: 1.5 }, 'body.score must be a number from 0 to 1'],
    [{ response_id: 'x', score: '1' }, 'body.score must be a number from 0 to 1'],
    [{ response_id: 'x', label: '' }, 'body.label'],
    [{ response_id: 'x', score: 1, extra: true }, 'body.extra is not a known field'],
    [{ response_id: 'abc\u0000', score: 1 }, 'body.response_id must not contain the NUL character'],
    [{ response_id: 'x', label: 'a\u0000' }, 'body.label must not contain the NUL character'],
  ])('refuses %j', async (body, message) => {
    const err = await submitFeedback(sql, recorder, body).catch((e) => e);
    expect(isAppError(err) && err.code).toBe('INVALID_REQUEST');
    expect(String(err.message)).toContain(message);
    await recorder.close();
  });
});

/**
 * Experiments through the gateway: assignment and x-variant, one event per request, pausing,
 * feedback, export and results over HTTP (app.inject) with the in-process mock provider.
 */
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentsPlatform } from '../src/platform/experiments/index.ts';
import { NO_LOAD_SHEDDING, testApp } from './helpers/app.ts';
import type { TestSql } from './helpers/experiments.ts';

let app: FastifyInstance;
let sql: Pick<TestSql, 'query'>;
let platform: ExperimentsPlatform;
let fast: string;
let slow: string;

// A fresh app per test: no state carries from one scenario to the next.
beforeEach(async () => {
  // Test models are priced through an override (longest-prefix match).
  ({ app } = await testApp({
    MODEL_PRICES: '{"mock/exp-": {"input": 1, "output": 2}}',
    EVENTS_FLUSH_INTERVAL_MS: '20',
    ...NO_LOAD_SHEDDING,
  }));
  await app.ready();
  sql = app.versus.db;
  platform = app.versus.experiments;
  const mock = app.versus.providers.mock!;
  mock.configure('exp-fast', { latencyMs: 1, jitterMs: 0, ttftMs: 1, tokensPerSecond: 0 });
  mock.configure('exp-slow', { latencyMs: 3, jitterMs: 0, ttftMs: 1, tokensPerSecond: 0 });
  fast = 'mock/exp-fast';
  slow = 'mock/exp-slow';
});
afterEach(() => app.close());

async function create(name: string, extra: object = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/experiments',
    payload: {
      name,
      status: 'running',
      variants: [
        { name: 'control', model: fast, weight: 50 },
        { name: 'treatment', model: slow, weight: 50, system_prompt: 'Be brief.' },
      ],
      ...extra,
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; name: string };
}

function chat(experiment: string, user?: string) {
  return app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { 'x-experiment': experiment },
    payload: { model: 'mock/fast', messages: [{ role: 'user', content: 'hi' }], ...(user ? { user } : {}) },
  });
}

async function events(id: string): Promise<number> {
  const r = await sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM experiment_events WHERE experiment_id = $1',
    [id],
  );
  return r.rows[0]!.n;
}

describe('experiments through the gateway', () => {
  it('validates and serves the experiments API', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/experiments',
      payload: {
        name: 'bad',
        variants: [
          { name: 'a', model: 'mock/nope', weight: 1 },
          { name: 'b', model: fast, weight: 1 },
        ],
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('INVALID_REQUEST');
    expect(bad.json().error.message).toContain('body.variants[0].model "mock/nope" is not a known model');
    const e = await create('api-check');
    expect((await app.inject({ url: `/v1/experiments/${e.id}` })).json().name).toBe('api-check');
    expect((await app.inject({ url: '/v1/experiments/api-check' })).json().id).toBe(e.id);
    expect((await app.inject({ url: '/v1/experiments/missing' })).statusCode).toBe(404);
    const list = (await app.inject({ url: '/v1/experiments' })).json();
    expect(list.data.map((x: { id: string }) => x.id)).toContain(e.id);
    const illegal = await app.inject({
      method: 'PATCH',
      url: `/v1/experiments/${e.id}`,
      payload: { status: 'draft' },
    });
    expect(illegal.statusCode).toBe(409);
    expect(illegal.json().error.code).toBe('EXPERIMENT_TRANSITION_INVALID');
  });

  it('answers 404 for a request naming an unknown experiment', async () => {
    const res = await chat('no-such-experiment', 'u1');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('EXPERIMENT_NOT_FOUND');
  });

  it('assigns sticky variants, applies them, and answers with x-variant', async () => {
    const e = await create('sticky');
    const seen = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 40; u++) {
        const res = await chat(e.name, `user-${u}`);
        expect(res.statusCode, res.body).toBe(200);
        const variant = String(res.headers['x-variant']);
        expect(res.json().model).toBe(variant === 'control' ? fast : slow);
        if (round > 0) expect(variant).toBe(seen.get(`user-${u}`));
        seen.set(`user-${u}`, variant);
      }
    }
    expect(new Set(seen.values())).toEqual(new Set(['control', 'treatment']));
  });

  it('records one event per request: 10,000 requests give 10,000 events', async () => {
    const e = await create('ten-k');
    const total = 10_000;
    const concurrency = 100;
    let next = 0;
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < total) {
          const i = next++;
          const res = await chat(e.id, i % 10 === 0 ? undefined : `user-${i % 2000}`);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        }
      }),
    );
    expect(statuses.get(200)).toBe(total);
    await platform.recorder.flush();
    expect(await events(e.id)).toBe(total);
    const unsticky = await sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM experiment_events WHERE experiment_id = $1 AND NOT sticky',
      [e.id],
    );
    expect(unsticky.rows[0]!.n).toBe(total / 10);
  }, 240_000);

  it('paused experiments serve the baseline and record nothing', async () => {
    const e = await create('pausable');
    await chat(e.id, 'someone');
    await app.inject({ method: 'PATCH', url: `/v1/experiments/${e.id}`, payload: { status: 'paused' } });
    for (let u = 0; u < 20; u++) {
      const res = await chat(e.id, `user-${u}`);
      expect(res.headers['x-variant'], res.body).toBe('control');
      expect(res.json().model).toBe(fast);
    }
    await platform.recorder.flush();
    expect(await events(e.id)).toBe(1);
  });

  it('takes feedback, exports events and computes results over HTTP', async () => {
    const e = await create('full-loop');
    const ids: string[] = [];
    for (let u = 0; u < 60; u++) {
      const res = await chat(e.name, `user-${u}`);
      ids.push(String(res.headers['x-request-id']));
      expect(res.json().id).toBe(`chatcmpl-${ids.at(-1)}`);
    }
    // Feedback for the first response before its event is flushed, the rest after.
    const early = await app.inject({
      method: 'POST',
      url: '/v1/feedback',
      // Either the completion's id or the bare request id names the response.
      payload: { response_id: `chatcmpl-${ids[0]}`, score: 1 },
    });
    expect(early.statusCode).toBe(201);
    await platform.recorder.flush();
    for (const id of ids.slice(1, 30)) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/feedback',
        payload: { response_id: id, score: 0.5, label: 'ok' },
      });
      expect(res.statusCode).toBe(201);
    }
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/feedback',
      payload: { response_id: 'nope', score: 1 },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('RESPONSE_NOT_FOUND');
    // The completion prefix alone names nothing: a 400 that says what to send, not a 404 for "".
    const bare = await app.inject({
      method: 'POST',
      url: '/v1/feedback',
      payload: { response_id: 'chatcmpl-', score: 1 },
    });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().error.message).toContain('body.response_id must be the id of a chat completion');

    const csv = await app.inject({ url: `/v1/experiments/${e.id}/events?format=csv` });
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body.trim().split('\n')).toHaveLength(61);
    const nd = await app.inject({ url: `/v1/experiments/${e.name}/events` });
    const rows = nd.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(60);
    expect(rows.filter((r) => r.feedback_score !== null)).toHaveLength(30);
    expect(rows.every((r) => r.cost_usd > 0)).toBe(true);
    expect((await app.inject({ url: `/v1/experiments/${e.id}/events?format=xml` })).statusCode).toBe(400);
    // The export is compressed as it streams, when the client accepts a coding.
    const zipped = await app.inject({
      url: `/v1/experiments/${e.name}/events`,
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(nd.body);
    // HEAD answers the export's headers without reading it: fewer statements than a GET.
    const statements = async () => {
      const text = (await app.inject({ url: '/metrics' })).body;
      return [...text.matchAll(/^database_query_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    };
    const url = `/v1/experiments/${e.name}/events?format=csv`;
    let before = await statements();
    const head = await app.inject({ method: 'HEAD', url });
    // A drained stream would read after the reply: give it the time.
    await new Promise((r) => setTimeout(r, 300));
    const byHead = (await statements()) - before;
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toContain('text/csv');
    expect(head.headers['content-disposition']).toContain('full-loop-events.csv');
    expect(head.body).toBe('');
    before = await statements();
    await app.inject({ url });
    await new Promise((r) => setTimeout(r, 300));
    expect(byHead).toBeLessThan((await statements()) - before);

    const res = await app.inject({ url: `/v1/experiments/${e.id}/results` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.variants.map((v: { name: string }) => v.name)).toEqual(['control', 'treatment']);
    expect(body.variants.reduce((n: number, v: { requests: number }) => n + v.requests, 0)).toBe(60);
    expect(body.comparisons.map((c: { metric: string }) => c.metric)).toEqual([
      'latency_ms',
      'cost_usd',
      'feedback_score',
      'error_rate',
    ]);
    // Each experiment has a random salt, so the split itself varies from run to run: the SRM
    // block must describe the observed split, and flag it exactly when its p-value is below alpha.
    const observed = body.variants.map((v: { requests: number }) => v.requests);
    expect(body.srm.observed).toEqual(observed);
    expect(body.srm.expected_shares).toEqual([0.5, 0.5]);
    const chi2 = observed.reduce((sum: number, n: number) => sum + (n - 30) ** 2 / 30, 0);
    expect(body.srm.chi2).toBeCloseTo(chi2, 9);
    expect(body.srm.ok).toBe(body.srm.p_value >= body.srm.alpha);
    expect(body.srm.alpha).toBe(0.001);
  });

  it('keeps the results ETag while nothing new is recorded, so a poll gets 304 after a recompute', async () => {
    const e = await create('etag-loop');
    for (let u = 0; u < 6; u++) await chat(e.name, `user-${u}`);
    await platform.recorder.flush();
    const url = `/v1/experiments/${e.id}/results`;
    const first = await app.inject({ url });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\//);
    // Past the memo's 2 s the document is rebuilt (a new generated_at): same content, same tag.
    await new Promise((r) => setTimeout(r, 2_100));
    const again = await app.inject({ url, headers: { 'if-none-match': etag } });
    expect(again.headers['x-results-source']).not.toBe('memo');
    expect(again.statusCode).toBe(304);
    // A new event changes the content and the tag.
    await chat(e.name, 'user-new');
    await platform.recorder.flush();
    await new Promise((r) => setTimeout(r, 2_100));
    const changed = await app.inject({ url, headers: { 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect(changed.json().variants.reduce((n: number, v: { requests: number }) => n + v.requests, 0)).toBe(7);
  });

  it('gives a cache hit in an experiment its own id, so feedback lands on its event', async () => {
    const e = await create('cached-feedback', { cache: { ttl_s: 60 } });
    // One unit: the same variant, so the second and third requests are hits of the first's answer.
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await chat(e.name, 'same-user'));
    expect(answers.map((a) => a.headers['x-cache'])).toEqual(['MISS', 'HIT', 'HIT']);
    for (const a of answers) expect(a.json().id).toBe(`chatcmpl-${a.headers['x-request-id']}`);
    expect(answers[1]!.json().choices).toEqual(answers[0]!.json().choices);
    await platform.recorder.flush();
    const feedback = await app.inject({
      method: 'POST',
      url: '/v1/feedback',
      payload: { response_id: answers[2]!.json().id, score: 0.25 },
    });
    expect(feedback.statusCode, feedback.body).toBe(201);
    await platform.recorder.flush();
    const events = (await app.inject({ url: `/v1/experiments/${e.id}/events` })).body
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { response_id: string; feedback_score: number | null; cache_hit: boolean },
      );
    const scored = events.filter((ev) => ev.feedback_score !== null);
    expect(scored).toEqual([
      expect.objectContaining({
        response_id: answers[2]!.headers['x-request-id'],
        feedback_score: 0.25,
        cache_hit: true,
      }),
    ]);
  });
});

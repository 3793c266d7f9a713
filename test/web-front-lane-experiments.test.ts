/**
 * Experiment requests through the front lane, over real sockets (app.inject() never goes
 * through it). The lane reads a repeated body, asks the routing hook and hands the request to
 * Fastify: the exposure the hook files and the event recorded at the end must carry the one id
 * the client sees in x-request-id, as with FRONT_LANE=false.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';

import { NO_LOAD_SHEDDING, testApp } from './helpers/app.ts';

const KEY = 'lane-exp-key-0123456789abcdef';
const ADMIN = 'lane-exp-admin-key-0123456789';

interface Seen {
  status: number;
  id: string;
  variant: string | undefined;
  cache: string | undefined;
  code: string | undefined;
}

interface EventRow {
  response_id: string;
  variant: string;
  status: number;
  cache_hit: boolean;
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function listening(env: Record<string, string>): Promise<{ app: FastifyInstance; url: string }> {
  const { app } = await testApp({
    API_KEYS: KEY,
    EVENTS_FLUSH_INTERVAL_MS: '20',
    ...NO_LOAD_SHEDDING,
    ...env,
  });
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { app, url: `http://127.0.0.1:${address.port}` };
}

const auth = { authorization: `Bearer ${KEY}` };

async function createExperiment(
  app: FastifyInstance,
  name: string,
  cache: boolean,
  headers: Record<string, string> = auth,
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/experiments',
    headers,
    payload: {
      name,
      status: 'running',
      variants: [
        { name: 'control', model: 'mock/fast', weight: 50 },
        { name: 'treatment', model: 'mock/fast', weight: 50, system_prompt: 'Be brief.' },
      ],
      ...(cache ? { cache: { ttl_s: 60 } } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

/** The body of the fuzzer's report, sent the same each time. */
const BODY = JSON.stringify({
  model: 'mock/fast',
  user: 'alice',
  messages: [{ role: 'user', content: 'Hi' }],
});

async function send(url: string, experiment: string, headers: Record<string, string> = {}): Promise<Seen> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-experiment': experiment, ...auth, ...headers },
    body: BODY,
  });
  const text = await res.text();
  const code = res.ok ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code;
  return {
    status: res.status,
    id: res.headers.get('x-request-id') ?? '',
    variant: res.headers.get('x-variant') ?? undefined,
    cache: res.headers.get('x-cache') ?? undefined,
    code,
  };
}

async function eventsOf(
  app: FastifyInstance,
  experiment: string,
  headers: Record<string, string> = auth,
): Promise<EventRow[]> {
  await app.versus.experiments.recorder.flush();
  const res = await app.inject({ url: `/v1/experiments/${experiment}/events`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.body
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as EventRow);
}

describe('front lane in an experiment', () => {
  it.each([
    ['uncached', false],
    ['cached', true],
  ])(
    'records every repeated request under its x-request-id (%s experiment), as FRONT_LANE=false does',
    async (label, cache) => {
      const outcomes: Seen[][] = [];
      for (const env of [{}, { FRONT_LANE: 'false' }]) {
        const { app, url } = await listening(env);
        const experiment = await createExperiment(app, `lane-ids-${label}`, cache);
        const answers: Seen[] = [];
        for (let i = 0; i < 3; i++) answers.push(await send(url, experiment));
        // A caller's own id, sent twice, does not make two requests one event: each request has
        // an id of its own, through the lane and the route alike.
        answers.push(await send(url, experiment, { 'x-request-id': `own-${label}-id` }));
        answers.push(await send(url, experiment, { 'x-request-id': `own-${label}-id` }));
        for (const a of answers) {
          expect(a.status).toBe(200);
          expect(a.variant).toBeDefined();
        }
        expect(new Set(answers.map((a) => a.id)).size).toBe(answers.length);
        const events = await eventsOf(app, experiment);
        // One event per request, each under the id its response carried, with the variant it served.
        expect(events.map((e) => e.response_id).sort()).toEqual(answers.map((a) => a.id).sort());
        for (const a of answers) {
          const event = events.find((e) => e.response_id === a.id)!;
          expect(event).toMatchObject({ variant: a.variant, status: 200, cache_hit: a.cache === 'HIT' });
        }
        // Feedback names a repeated request by the id it was answered with.
        const feedback = await app.inject({
          method: 'POST',
          url: '/v1/feedback',
          headers: auth,
          payload: { response_id: answers[1]!.id, score: 1 },
        });
        expect(feedback.statusCode, feedback.body).toBe(201);
        outcomes.push(answers);
        if (env.FRONT_LANE === undefined) {
          // The lane read the repeated bodies, asked the hook and handed each request over.
          expect(app.versus.lane.stats()).toMatchObject({ answered: 0, handedOver: answers.length });
        }
      }
      // Each experiment has its own random salt: alice's variant may differ between the two apps,
      // but within each it is sticky, and both served the same cache outcomes.
      for (const answers of outcomes) {
        expect(new Set(answers.map((a) => a.variant)).size).toBe(1);
        expect(answers.map((a) => a.cache)).toEqual(
          cache ? ['MISS', 'HIT', 'HIT', 'HIT', 'HIT'] : Array(5).fill('BYPASS'),
        );
      }
    },
  );

  it('routes a rate-limited repeat in a running experiment nowhere: same answers and assignments as FRONT_LANE=false', async () => {
    const outcomes: { statuses: number[]; assignments: number; events: number }[] = [];
    for (const env of [{}, { FRONT_LANE: 'false' }]) {
      // The admin key is not rate limited: setting up and reading back do not use the client's requests.
      const admin = { authorization: `Bearer ${ADMIN}` };
      const { app, url } = await listening({ ...env, RATE_LIMIT_REQUESTS: '2', ADMIN_API_KEY: ADMIN });
      const experiment = await createExperiment(app, 'lane-limited', true, admin);
      const answers: Seen[] = [];
      for (let i = 0; i < 4; i++) answers.push(await send(url, experiment));
      const text = await app.versus.metrics.metrics();
      const assignments = text
        .split('\n')
        .filter((line) => line.startsWith('experiment_assignments_total{'))
        .reduce((n, line) => n + Number(line.split(' ').at(-1)), 0);
      outcomes.push({
        statuses: answers.map((a) => a.status),
        assignments,
        events: (await eventsOf(app, experiment, admin)).length,
      });
    }
    expect(outcomes[0]).toEqual({ statuses: [200, 200, 429, 429], assignments: 2, events: 2 });
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('answers a rate-limited repeat naming an unknown experiment 429, as FRONT_LANE=false does', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const statuses: string[][] = [];
      for (const env of [{}, { FRONT_LANE: 'false' }]) {
        const { url } = await listening({ ...env, RATE_LIMIT_REQUESTS: '2' });
        const seen: string[] = [];
        for (let i = 0; i < 3; i++) {
          const a = await send(url, 'no-such-experiment');
          seen.push(`${a.status} ${a.code}`);
        }
        statuses.push(seen);
      }
      const expected = ['404 EXPERIMENT_NOT_FOUND', '404 EXPERIMENT_NOT_FOUND', '429 RATE_LIMITED'];
      expect(statuses).toEqual([expected, expected]);
      // The 429 is decided before anything is routed: no routing rejection may surface for it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});

/**
 * Graceful shutdown flushes the event buffer: events recorded with a flush interval far longer
 * than the test are in the database after the app closes (read back by a second app on the same
 * PGlite directory).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gracefulClose } from '../src/lifecycle.ts';
import { NO_LOAD_SHEDDING, testApp } from './helpers/app.ts';

describe('shutdown', () => {
  let dir: string;
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes buffered events before the database closes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'versus-exp-'));
    const env = {
      DATA_DIR: dir,
      EVENTS_FLUSH_INTERVAL_MS: '60000',
      EVENTS_FLUSH_BATCH: '100000',
      ...NO_LOAD_SHEDDING,
    };
    const { app } = await testApp(env);
    await app.ready();
    const created = await app.inject({
      method: 'POST',
      url: '/v1/experiments',
      payload: {
        name: 'shutdown',
        status: 'running',
        variants: [
          { name: 'a', model: 'mock/fast', weight: 1 },
          { name: 'b', model: 'mock/fast', weight: 1 },
        ],
      },
    });
    expect(created.statusCode).toBe(201);
    for (let i = 0; i < 50; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { 'x-experiment': 'shutdown' },
        payload: { model: 'mock/fast', user: `u${i}`, messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(res.statusCode).toBe(200);
    }
    expect(app.versus.experiments.recorder.stats().buffered).toBe(50);
    await gracefulClose(app, 10_000);

    const { app: again } = await testApp(env);
    try {
      const r = await again.versus.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM experiment_events',
      );
      expect(r.rows[0]!.n).toBe(50);
    } finally {
      await again.close();
    }
  }, 120_000);
});

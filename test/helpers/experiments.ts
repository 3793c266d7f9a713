/**
 * The experiment tables in a real database for module tests: in-process PGlite (a real PostgreSQL
 * build), with the product migration applied.
 */
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

export const MIGRATION = readFileSync(
  new URL('../../src/platform/migrations/0100_experiments.sql', import.meta.url),
  'utf8',
);

export interface TestSql {
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>;
  close(): Promise<void>;
}

export async function pgliteSql(): Promise<TestSql> {
  const db = new PGlite();
  await db.exec(MIGRATION);
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      const r = await db.query<R>(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    close: () => db.close(),
  };
}

/** Wraps a client so a test can take the database "down" (every query fails) and back up. */
export function chaos(inner: Pick<TestSql, 'query'>) {
  const wrapped = {
    down: false,
    failures: 0,
    query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      if (wrapped.down) {
        wrapped.failures++;
        return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
      }
      return inner.query<R>(sql, params);
    },
  };
  return wrapped;
}

let seq = 0;
/** An event with sensible defaults. */
export function event(overrides: Partial<import('../../src/platform/events/index.ts').ExperimentEvent> = {}) {
  seq++;
  return {
    responseId: `resp-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`,
    experimentId: 'exp_test',
    variant: 'a',
    unit: `unit-${seq}`,
    sticky: true,
    createdAt: new Date(),
    model: 'mock/fast',
    status: 200,
    errorCode: null,
    latencyMs: 20,
    ttftMs: null,
    promptTokens: 10,
    completionTokens: 20,
    costUsd: 0.00001,
    cacheHit: false,
    fallback: false,
    fallbackModel: null,
    stream: false,
    ...overrides,
  };
}

/** Settings for installExperiments in tests: fast flushes, everything else at its default. */
export const TEST_SETTINGS = {
  eventsFlushIntervalMs: 20,
  eventsFlushBatch: 5000,
  eventsBufferMax: 200_000,
  resultsMinIntervalMs: 0,
  exportsMaxConcurrent: 4,
  modelPrices: {},
  shutdownTimeoutMs: 5000,
};

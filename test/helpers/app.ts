import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { testConfig } from '../../src/config.ts';
import { buildServer } from '../../src/server.ts';

export interface TestApp {
  app: FastifyInstance;
  /** Every log line written so far, as raw JSON text. */
  logs: () => string;
}

/**
 * Env that turns load shedding off, for tests that do not test it: neither a stalled event loop
 * (the embedded PGlite's first open blocks it for seconds) nor the test process's memory may turn
 * their requests away.
 */
export const NO_LOAD_SHEDDING = { LOAD_SHED_EVENT_LOOP_DELAY_MS: '0', LOAD_SHED_RSS_MB: '0' } as const;

/** Builds the app from an env map (embedded defaults below it) with logs captured in memory. */
export async function testApp(
  env: Record<string, string> = {},
  setup?: (app: FastifyInstance) => void | Promise<void>,
): Promise<TestApp> {
  const chunks: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const app = await buildServer(testConfig(env), { logStream });
  await setup?.(app);
  return { app, logs: () => chunks.join('') };
}

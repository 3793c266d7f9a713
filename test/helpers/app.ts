import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { testConfig } from '../../src/config.ts';
import { buildServer } from '../../src/server.ts';

export interface TestApp {
  app: FastifyInstance;
  /** Every log line written so far, as raw JSON text. */
  logs: () => string;
}

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

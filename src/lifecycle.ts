import type { FastifyInstance } from 'fastify';

export interface CloseResult {
  /** True when the deadline passed and open connections were cut. */
  forced: boolean;
  ms: number;
}

/**
 * Graceful close: stop accepting, answer new requests on open connections with 503, let in-flight
 * requests finish up to `timeoutMs`, then cut what is left. Every resource closes through the
 * app's onClose hooks. Safe to call twice (the second call waits for the first).
 */
export function gracefulClose(app: FastifyInstance, timeoutMs: number): Promise<CloseResult> {
  const existing = closing.get(app);
  if (existing) return existing;
  const started = performance.now();
  app.versus.closing = true;
  let forced = false;
  const deadline = setTimeout(() => {
    forced = true;
    app.log.warn({ timeoutMs }, 'shutdown deadline passed; closing open connections');
    app.server.closeAllConnections();
  }, timeoutMs);
  deadline.unref();
  const done = app.close().then(() => {
    clearTimeout(deadline);
    return { forced, ms: Math.round(performance.now() - started) };
  });
  closing.set(app, done);
  return done;
}

const closing = new WeakMap<FastifyInstance, Promise<CloseResult>>();

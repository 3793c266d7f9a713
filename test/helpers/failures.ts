/** For resilience tests: calls that succeed or fail with a given kind, and the policy they run under. */
import type { FailureKind } from '../../src/perf/resilience/index.ts';

export class Failure extends Error {
  readonly failureKind: FailureKind;
  readonly retryAfterMs: number | undefined;
  constructor(kind: FailureKind, retryAfterMs?: number) {
    super(`failed: ${kind}`);
    this.failureKind = kind;
    this.retryAfterMs = retryAfterMs;
  }
}

export const ok = async () => 'ok';

export const fail =
  (kind: FailureKind = 'server') =>
  async () => {
    throw new Failure(kind);
  };

/** No timeout, no retry, and a breaker that opens on half of at least 4 calls for 1 s, up to 8 s. */
export const TEST_POLICY = {
  timeoutMs: 0,
  retry: { maxAttempts: 1 },
  breaker: { threshold: 0.5, windowMs: 10_000, minimumVolume: 4, openMs: 1000, maxOpenMs: 8000 },
};

/** Calls for resilience tests: one that succeeds, and failures of a given kind. */
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

/** Per-model behaviour of the mock provider, changeable at run time through its admin route. */

export interface MockModelConfig {
  /** Mean time to a complete (non-streamed) answer, ms. */
  latencyMs: number;
  /** Uniform jitter applied to latency and TTFT: ± this many ms. */
  jitterMs: number;
  /** Streams: time to the first token, ms. */
  ttftMs: number;
  /** Streams: pace after the first token; 0 sends all tokens at once. */
  tokensPerSecond: number;
  /** Share of calls answered with one of `errorStatuses` (0..1). */
  errorRate: number;
  /** Share of calls that never answer (0..1): the caller's timeout must fire. */
  timeoutRate: number;
  /** Statuses used for injected errors, picked at random. */
  errorStatuses: number[];
  /** Retry-After seconds sent with injected errors (none when unset). */
  retryAfterS?: number | undefined;
  /** The next N calls fail with `errorStatuses[0]`, whatever the error rate (counts down). */
  failNext: number;
  /** Answer length in tokens, whatever the prompt (load runs use it for large bodies). @default 12-48, from the prompt */
  answerTokens?: number | undefined;
}

export const DEFAULT_MODELS: Record<string, MockModelConfig> = {
  fast: {
    latencyMs: 20,
    jitterMs: 5,
    ttftMs: 10,
    tokensPerSecond: 2000,
    errorRate: 0,
    timeoutRate: 0,
    errorStatuses: [500],
    failNext: 0,
  },
  slow: {
    latencyMs: 200,
    jitterMs: 40,
    ttftMs: 100,
    tokensPerSecond: 200,
    errorRate: 0,
    timeoutRate: 0,
    errorStatuses: [500],
    failNext: 0,
  },
  flaky: {
    latencyMs: 50,
    jitterMs: 10,
    ttftMs: 20,
    tokensPerSecond: 500,
    errorRate: 0.2,
    timeoutRate: 0,
    errorStatuses: [500, 502, 503],
    failNext: 0,
  },
};

const NUMBER_FIELDS = ['latencyMs', 'jitterMs', 'ttftMs', 'tokensPerSecond', 'failNext'] as const;
const RATE_FIELDS = ['errorRate', 'timeoutRate'] as const;

/** Applies a JSON patch to a config; returns the problem as a string when the patch is invalid. */
export function patchConfig(current: MockModelConfig, patch: unknown): MockModelConfig | string {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return 'expected a JSON object';
  const next: MockModelConfig = { ...current, errorStatuses: [...current.errorStatuses] };
  for (const [key, value] of Object.entries(patch)) {
    if ((NUMBER_FIELDS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
        return `${key} must be a number >= 0`;
      (next as unknown as Record<string, number>)[key] = value;
    } else if ((RATE_FIELDS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || value < 0 || value > 1) return `${key} must be a number from 0 to 1`;
      (next as unknown as Record<string, number>)[key] = value;
    } else if (key === 'errorStatuses') {
      if (
        !Array.isArray(value) ||
        value.length === 0 ||
        !value.every((s) => Number.isInteger(s) && s >= 400 && s <= 599)
      ) {
        return 'errorStatuses must be a non-empty array of statuses from 400 to 599';
      }
      next.errorStatuses = value as number[];
    } else if (key === 'answerTokens') {
      if (
        value !== null &&
        (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100_000)
      )
        return 'answerTokens must be an integer from 1 to 100000, or null';
      next.answerTokens = value === null ? undefined : (value as number);
    } else if (key === 'retryAfterS') {
      if (value !== null && (typeof value !== 'number' || value < 0))
        return 'retryAfterS must be a number >= 0 or null';
      next.retryAfterS = value === null ? undefined : (value as number);
    } else {
      return `${key} is not a known setting`;
    }
  }
  return next;
}

/** Service policy options: the friendly public shape, resolved once into `ResolvedOptions`. */
import { defineError } from '../errors.ts';
import type { FailureKind } from './failure.ts';

export type RetryableKind = Exclude<FailureKind, 'client' | 'other'>;

export interface RetryOptions {
  /** Attempts in total, the first included; 1 disables retries. @default 3 */
  maxAttempts?: number;
  /** First backoff delay in ms; it doubles per retry, with jitter. @default 100 */
  baseDelayMs?: number;
  /** Largest backoff delay in ms. @default 2000 */
  maxDelayMs?: number;
  /** A Retry-After longer than this gives up instead of waiting. @default 10000 */
  maxRetryAfterMs?: number;
  /** Which failure kinds are retried. @default all four true */
  on?: Partial<Record<RetryableKind, boolean>>;
}

export interface BreakerOptions {
  /** Failure share (0..1] over the window that opens the circuit. @default 0.5 */
  threshold?: number;
  /** Sliding window in ms. @default 10000 */
  windowMs?: number;
  /** Calls needed in the window before it may open. @default 10 */
  minimumVolume?: number;
  /** Open interval before the first half-open probe, in ms. @default 5000 */
  openMs?: number;
  /** The open interval doubles after each failed probe, up to this. @default 60000 */
  maxOpenMs?: number;
}

export interface BulkheadOptions {
  /** Calls in flight at once. @default 256 */
  maxConcurrent?: number;
  /** Calls waiting for a slot; beyond it calls fail with BULKHEAD_FULL. @default 256 */
  maxQueue?: number;
}

export interface ServiceOptions {
  /** Per-attempt timeout in ms; 0 disables it. @default 30000 */
  timeoutMs?: number;
  retry?: RetryOptions;
  breaker?: BreakerOptions;
  bulkhead?: BulkheadOptions;
}

export interface ResolvedOptions {
  timeoutMs: number;
  retry: Required<Omit<RetryOptions, 'on'>> & { on: Record<RetryableKind, boolean> };
  breaker: Required<BreakerOptions>;
  bulkhead: Required<BulkheadOptions>;
}

export const InvalidResilienceOptionError = defineError(
  'INVALID_RESILIENCE_OPTION',
  500,
  'A resilience option (timeout, retry, breaker or bulkhead setting) is out of range; raised at start-up.',
  'Correct the named option; docs/gateway.md lists the allowed ranges.',
);

function check(name: string, value: number, min: number, max: number, integer = false): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new InvalidResilienceOptionError(
      `${name}=${value} is out of range: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    );
  }
  return value;
}

/** Merges `options` over `base` (both friendly) and validates the result. */
export function resolveOptions(options: ServiceOptions = {}, base: ServiceOptions = {}): ResolvedOptions {
  const r = { ...base.retry, ...options.retry };
  const b = { ...base.breaker, ...options.breaker };
  const h = { ...base.bulkhead, ...options.bulkhead };
  const on = {
    connect: true,
    rate_limited: true,
    server: true,
    timeout: true,
    ...base.retry?.on,
    ...options.retry?.on,
  };
  const openMs = check('breaker.openMs', b.openMs ?? 5000, 1, 3_600_000);
  return {
    timeoutMs: check('timeoutMs', options.timeoutMs ?? base.timeoutMs ?? 30_000, 0, 3_600_000),
    retry: {
      maxAttempts: check('retry.maxAttempts', r.maxAttempts ?? 3, 1, 20, true),
      baseDelayMs: check('retry.baseDelayMs', r.baseDelayMs ?? 100, 0, 600_000),
      maxDelayMs: check('retry.maxDelayMs', r.maxDelayMs ?? 2000, 0, 600_000),
      maxRetryAfterMs: check('retry.maxRetryAfterMs', r.maxRetryAfterMs ?? 10_000, 0, 3_600_000),
      on,
    },
    breaker: {
      threshold: check('breaker.threshold', b.threshold ?? 0.5, 0.01, 1),
      windowMs: check('breaker.windowMs', b.windowMs ?? 10_000, 10, 3_600_000),
      minimumVolume: check('breaker.minimumVolume', b.minimumVolume ?? 10, 1, 1_000_000, true),
      openMs,
      maxOpenMs: check('breaker.maxOpenMs', b.maxOpenMs ?? Math.max(60_000, openMs), openMs, 86_400_000),
    },
    bulkhead: {
      maxConcurrent: check('bulkhead.maxConcurrent', h.maxConcurrent ?? 256, 1, 1_000_000, true),
      maxQueue: check('bulkhead.maxQueue', h.maxQueue ?? 256, 0, 1_000_000, true),
    },
  };
}

/**
 * How the resilience layer sees a failure. Callers' errors describe themselves through
 * `failureKind` (and `retryAfterMs` for 429/503 answers); anything else is `other`, which is
 * neither retried nor counted by the breaker.
 */
export type FailureKind =
  /** Connection refused or reset, DNS failure: the call never reached the service. */
  | 'connect'
  /** 429: the service is healthy but asks us to slow down. */
  | 'rate_limited'
  /** 5xx from the service. */
  | 'server'
  /** The per-attempt timeout fired. */
  | 'timeout'
  /** Other 4xx: our request is wrong; retrying cannot help. */
  | 'client'
  /** Cancelled by the caller, or not an upstream failure at all. */
  | 'other';

export interface DescribedFailure {
  failureKind: FailureKind;
  /** From a Retry-After header, in ms. */
  retryAfterMs?: number | undefined;
}

export function failureKind(error: unknown): FailureKind {
  const kind = (error as Partial<DescribedFailure> | null)?.failureKind;
  return typeof kind === 'string' ? kind : 'other';
}

export function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as Partial<DescribedFailure> | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Parses a Retry-After header (seconds or an HTTP date) into ms; undefined when absent or bad. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

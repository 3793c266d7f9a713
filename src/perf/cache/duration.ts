import { CacheInvalidOptionError } from './errors.ts';

/** A duration in milliseconds, or a string such as '250ms', '30s', '5m', '1h', '1d'. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/**
 * The longest duration any option takes: 100 years. A longer one (1e300) would reach Redis as an
 * expiry it refuses, which looked like an outage.
 */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;
/**
 * The longest duration of an option that runs a timer (timeouts, intervals): Node fires a longer
 * timer after 1 ms, so a 30-day timeout would fail at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parsed strings: per-call options like { ttl: '10m' } must not run a regex on every write. */
const parsed = new Map<string, number>();

/**
 * Parses a duration to milliseconds; `what` names the option in the error message, `max` is the
 * longest it may be (MAX_TIMER_MS for an option that runs a timer).
 */
export function toMs(value: Duration, what: string, max = MAX_DURATION_MS): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const known = parsed.get(value);
    if (known !== undefined && known <= max) return known;
    const m = PATTERN.exec(value);
    if (m === null) {
      throw new CacheInvalidOptionError(
        `${what} is ${JSON.stringify(value)}: expected milliseconds or a string like '500ms', '30s', '5m', '1h'`,
      );
    }
    ms = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  } else {
    throw new CacheInvalidOptionError(`${what} must be a number of milliseconds or a string like '5m'`);
  }
  if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY) {
    throw new CacheInvalidOptionError(`${what} is ${String(value)}: expected a finite duration of 0 or more`);
  }
  if (ms > max) {
    throw new CacheInvalidOptionError(
      max === MAX_TIMER_MS
        ? `${what} is ${String(value)}: at most ${max} ms (24.8 days), the longest timer Node runs`
        : `${what} is ${String(value)}: at most ${max} ms (100 years)`,
    );
  }
  if (typeof value === 'string' && parsed.size < 1000) parsed.set(value, ms);
  return ms;
}

/**
 * Upstream failures, described for the resilience layer (`failureKind`, `retryAfterMs`) and
 * mapped to stable codes when they reach a reply.
 */
import { defineError } from '../errors.ts';
import { type FailureKind, parseRetryAfter } from '../resilience/index.ts';

export const UpstreamUnreachableError = defineError(
  'UPSTREAM_UNREACHABLE',
  502,
  'The upstream service could not be reached (connection refused or reset, DNS failure), on every attempt.',
  'Check the provider base URL and the network; Versus retries and opens the breaker by itself.',
);
export const UpstreamFailedError = defineError(
  'UPSTREAM_FAILED',
  502,
  'The upstream service answered with a server error (5xx) on every attempt, or with an answer Versus could not read.',
  'Retry later; name a fallback model to keep serving while the provider recovers.',
);
export const UpstreamRateLimitedError = defineError(
  'UPSTREAM_RATE_LIMITED',
  429,
  'The upstream provider rate-limited the call (429) and retrying within the allowed wait did not help.',
  'Retry after `retry-after` seconds, or raise the rate limit of the provider account.',
);
export const UpstreamRejectedError = defineError(
  'UPSTREAM_REJECTED',
  400,
  'The upstream provider rejected the request as invalid (400, 404, 422); the message carries its reason.',
  'Correct the request (for instance a parameter the model does not support); it is not retried.',
);
export const UpstreamAuthError = defineError(
  'UPSTREAM_AUTH_FAILED',
  502,
  'The upstream provider refused the server-side credentials (401 or 403).',
  'Check OPENAI_API_KEY / ANTHROPIC_API_KEY on the server.',
);

type UpstreamErrorInstance = InstanceType<typeof UpstreamFailedError> & {
  failureKind: FailureKind;
  retryAfterMs: number | undefined;
  upstreamStatus: number | undefined;
};

function describe<E extends InstanceType<typeof UpstreamFailedError>>(
  error: E,
  kind: FailureKind,
  upstreamStatus?: number,
  retryAfterMs?: number,
): UpstreamErrorInstance {
  return Object.assign(error, { failureKind: kind, retryAfterMs, upstreamStatus });
}

/** An error for a non-2xx upstream answer. `detail` is the upstream's own message, if any. */
export function statusError(
  upstream: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  detail?: string,
): UpstreamErrorInstance {
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const suffix = detail ? `: ${detail.slice(0, 300)}` : '';
  if (status === 429) {
    const err = new UpstreamRateLimitedError(`${upstream} rate-limited the call (429)${suffix}`, {
      headers: { 'retry-after': String(Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000))) },
    });
    return describe(err, 'rate_limited', status, retryAfterMs);
  }
  if (status >= 500) {
    return describe(
      new UpstreamFailedError(`${upstream} answered ${status}${suffix}`),
      'server',
      status,
      retryAfterMs,
    );
  }
  if (status === 401 || status === 403) {
    return describe(
      new UpstreamAuthError(`${upstream} refused the server's credentials (${status})`),
      'client',
      status,
    );
  }
  return describe(
    new UpstreamRejectedError(`${upstream} rejected the request (${status})${suffix}`),
    'client',
    status,
  );
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Describes a transport error thrown by undici; aborts and unknown errors pass through unchanged. */
export function transportError(upstream: string, error: unknown): unknown {
  const code =
    (error as { code?: string } | null)?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return describe(
      new UpstreamUnreachableError(`${upstream} could not be reached (${code})`, { cause: error }),
      'connect',
    );
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return describe(
      new UpstreamFailedError(`${upstream} stopped answering (${code})`, { cause: error }),
      'timeout',
    );
  }
  return error;
}

/** Short kind label for metrics. */
export function errorKind(error: unknown): string {
  const kind = (error as { failureKind?: string } | null)?.failureKind;
  if (kind !== undefined) return kind;
  if ((error as { name?: string } | null)?.name === 'AbortError') return 'aborted';
  return 'other';
}

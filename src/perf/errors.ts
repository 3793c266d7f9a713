/**
 * One registry of error classes with stable codes.
 *
 * Every error that can reach a caller is defined once with `defineError`: a stable `code` that
 * callers branch on, the HTTP status it maps to when it reaches a reply, and the two sentences
 * `docs/errors.md` carries (what it means, how to fix it). A test checks that every registered
 * code is documented there.
 */

export interface ErrorSpec {
  /** Stable, upper-snake-case code. Never change it once published. */
  readonly code: string;
  /** HTTP status used when the error reaches a reply. */
  readonly status: number;
  /** One sentence: what happened. */
  readonly meaning: string;
  /** One sentence: what the caller or operator should do. */
  readonly fix: string;
}

export interface AppErrorOptions {
  cause?: unknown;
  /** Extra machine-readable fields, returned beside `code` and `message` in HTTP replies. */
  details?: Record<string, unknown>;
  /** Extra response headers (`retry-after`, say) for HTTP replies. */
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(spec: ErrorSpec, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = spec.code;
    this.status = spec.status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export type AppErrorClass = {
  new (message: string, options?: AppErrorOptions): AppError;
  readonly spec: ErrorSpec;
};

const registry = new Map<string, ErrorSpec>();

/**
 * Defines an error class for one stable code. Defining the same code twice with a different
 * status is a programming error and throws at import time.
 */
export function defineError(code: string, status: number, meaning: string, fix: string): AppErrorClass {
  const existing = registry.get(code);
  if (existing !== undefined && existing.status !== status) {
    throw new Error(`error code ${code} is already defined with status ${existing.status}`);
  }
  const spec: ErrorSpec = Object.freeze({ code, status, meaning, fix });
  registry.set(code, spec);
  const name = `${code
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Error`;
  const cls = class extends AppError {
    static readonly spec = spec;
    constructor(message: string, options?: AppErrorOptions) {
      super(spec, message, options);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  return cls;
}

/** Every error spec defined so far (in definition order). */
export function registeredErrors(): ErrorSpec[] {
  return [...registry.values()];
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

// Generic request errors, shared by every HTTP surface.
export const InvalidJsonError = defineError(
  'INVALID_JSON',
  400,
  'The request body is not valid JSON.',
  'Send a well-formed JSON document with `content-type: application/json`.',
);
export const InvalidRequestError = defineError(
  'INVALID_REQUEST',
  400,
  'The request is well-formed JSON but a field is missing, has the wrong type or is out of range; the message names the field.',
  'Correct the named field; the allowed values are in docs/operations.md.',
);
export const UnauthorizedError = defineError(
  'UNAUTHORIZED',
  401,
  'The route needs an API key and none, or a wrong one, was sent.',
  'Send `Authorization: Bearer <key>` with a key from API_KEYS (or ADMIN_API_KEY for /admin and /metrics).',
);
export const ForbiddenError = defineError(
  'FORBIDDEN',
  403,
  'The key is valid but not allowed on this route (a client key on an admin route).',
  'Use the admin key (ADMIN_API_KEY) for /admin/* and /metrics.',
);
export const NotFoundError = defineError(
  'NOT_FOUND',
  404,
  'No route matches the method and path.',
  'Check the method and path against docs/operations.md.',
);
export const MalformedRequestError = defineError(
  'MALFORMED_REQUEST',
  400,
  'The request is not valid HTTP/1.1 (a malformed request line or header, a bad Content-Length or chunk size, both Content-Length and Transfer-Encoding), or its path is not valid percent-encoding; the connection is closed after the answer.',
  'Fix the client or proxy that sends it; the message names what the HTTP parser refused.',
);
export const UriTooLongError = defineError(
  'URI_TOO_LONG',
  414,
  'A path segment (an id or name in the URL) is longer than the server accepts (200 characters).',
  'Use the id or name as the API returned it; names are at most 100 characters.',
);
export const HeadersTooLargeError = defineError(
  'HEADERS_TOO_LARGE',
  431,
  "The request line and headers together are larger than Node's limit (16 KiB unless --max-http-header-size says otherwise); the connection is closed after the answer.",
  'Send fewer or shorter headers (large cookies are the usual cause), or a shorter URL.',
);
export const RequestTimeoutError = defineError(
  'REQUEST_TIMEOUT',
  408,
  "The request's headers or body did not arrive within the server's request timeout; the connection is closed after the answer.",
  'Send the whole request promptly; check the network between the client and the server.',
);
export const PayloadTooLargeError = defineError(
  'PAYLOAD_TOO_LARGE',
  413,
  'The request body is larger than the configured limit.',
  'Send a smaller body, or raise BODY_LIMIT_BYTES on the server.',
);
export const UnsupportedMediaTypeError = defineError(
  'UNSUPPORTED_MEDIA_TYPE',
  415,
  'The request body has a content type other than JSON, or is sent compressed (content-encoding).',
  'Send the body as uncompressed JSON with `content-type: application/json`.',
);
export const InternalError = defineError(
  'INTERNAL_ERROR',
  500,
  'An unexpected error; it is logged on the server with the request id.',
  'Retry; if it persists, report it with the `x-request-id` of the failed request.',
);
export const DependencyUnavailableError = defineError(
  'DEPENDENCY_UNAVAILABLE',
  503,
  'A dependency the service needs (Redis, the database) did not answer its readiness check.',
  'Check the named dependency; the service keeps serving what it can without it.',
);
export const ShuttingDownError = defineError(
  'SHUTTING_DOWN',
  503,
  'The instance is shutting down and takes no new requests.',
  'Retry; a load balancer sends the retry to another instance.',
);

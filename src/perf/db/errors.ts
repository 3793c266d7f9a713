/**
 * Database errors. SQL errors reach callers as one of these codes; the message carries the
 * SQLSTATE and the server's message, never parameter values, row data or the statement (messages
 * reach HTTP clients). The normalised statement travels on the cause, as `statement`, for logs.
 */
import { type AppError, defineError } from '../errors.ts';

export const DbPoolTimeoutError = defineError(
  'DB_POOL_TIMEOUT',
  503,
  'No database connection became free within DATABASE_POOL_TIMEOUT.',
  'Retry; if it persists, raise DATABASE_POOL_SIZE or DATABASE_MAX_OVERFLOW, or find the slow statements holding connections (GET /admin/performance).',
);
export const DbUnavailableError = defineError(
  'DB_UNAVAILABLE',
  503,
  'The database could not be reached or dropped the connection.',
  'Check that PostgreSQL at DATABASE_URL is up and reachable; requests that need it fail until it is back.',
);
export const DbClosedError = defineError(
  'DB_CLOSED',
  503,
  'The database layer is closed (the instance is shutting down).',
  'Retry on another instance.',
);
export const DbQueryError = defineError(
  'DB_QUERY_FAILED',
  500,
  'The database rejected a statement (syntax, unknown table or column, bad value); the message has the SQLSTATE and the server message, never the statement.',
  'Fix the statement or its parameters; the server log has the normalised statement.',
);
export const DbConstraintError = defineError(
  'DB_CONSTRAINT_VIOLATION',
  409,
  'A write broke a constraint (unique, foreign key, not null, check); `constraint` names it.',
  'Change the values so they satisfy the named constraint, or update the existing row instead.',
);
export const DbTransactionConflictError = defineError(
  'DB_TRANSACTION_CONFLICT',
  503,
  'A transaction was aborted by a serialization failure or a deadlock.',
  'Retry the request; the transaction had no effect.',
);
export const DbMigrationError = defineError(
  'DB_MIGRATION_FAILED',
  500,
  'A migration file could not be applied, or the migrations directory holds a badly named file; nothing from the failed run was applied.',
  'Fix the named file (names are NNNN_name.sql, applied in order) and start again.',
);
export const DbNotCacheableError = defineError(
  'DB_NOT_CACHEABLE',
  500,
  'cachedQuery was given a statement that writes (INSERT, UPDATE, DELETE, DDL) or could not be parsed.',
  'Use query() for writes; cachedQuery only caches plain reads.',
);
export const DbInvalidOptionError = defineError(
  'DB_INVALID_OPTION',
  500,
  'A database layer option is invalid (raised when the layer is created); the message names it.',
  'Correct the named option where createDatabase is called.',
);

interface PgErrorLike {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);

/**
 * A PostgreSQL error as a typed error. `statement` is the normalised text (constants replaced by
 * $n); it goes on the cause, not in the message, which an HTTP client may read. The cause is a
 * copy without `detail`/`where`, which can hold row values.
 */
export function toDbError(err: unknown, statement: string): AppError {
  if (err !== null && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const e = err as PgErrorLike & { code: string };
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (CONNECTION_CODES.has(e.code) || /^08/.test(e.code) || e.code === '57P01' || e.code === '57P03') {
      return new DbUnavailableError(`the database is unreachable (${e.code})`, {
        cause: sanitised(e, message, statement),
      });
    }
    const safe = /^22/.test(e.code) ? withoutQuotedValues(message) : message;
    const cause = sanitised(e, safe, statement);
    if (/^23/.test(e.code)) {
      return new DbConstraintError(`the write breaks a constraint (SQLSTATE ${e.code}): ${safe}`, {
        cause,
        details: typeof e.constraint === 'string' ? { constraint: e.constraint } : {},
      });
    }
    if (e.code === '40001' || e.code === '40P01') {
      return new DbTransactionConflictError(`the transaction was aborted (SQLSTATE ${e.code}): ${safe}`, {
        cause,
      });
    }
    return new DbQueryError(`the database rejected the statement (SQLSTATE ${e.code}): ${safe}`, {
      cause,
      details: { sqlstate: e.code },
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/Connection terminated|connection is closed|Client was closed|not queryable/i.test(message)) {
    return new DbUnavailableError(`the database connection was lost: ${message}`, { cause: err });
  }
  // Not a server error (the driver refused a parameter, say): the original is the cause, with the
  // statement beside it for the log.
  const cause = Object.assign(new Error('the statement failed', { cause: err }), { statement });
  return new DbQueryError(`the statement failed: ${message}`, { cause });
}

/**
 * A server message with its quoted parts (`invalid input syntax for type integer: "abc"`) elided:
 * they can be the row's values, which may be personal data.
 */
export function withoutQuotedValues(message: string): string {
  return message.replace(/"[^"]*"/g, '"…"');
}

/**
 * The SQLSTATE of a database error: raw from a driver (`code`), or one of ours (in `details` or on
 * the cause); undefined for errors that did not come from the server.
 */
export function sqlstateOf(err: unknown): string | undefined {
  const state = (v: unknown): string | undefined =>
    typeof v === 'string' && /^[0-9A-Z]{5}$/.test(v) && !CONNECTION_CODES.has(v) ? v : undefined;
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; details?: { sqlstate?: unknown }; cause?: { code?: unknown } };
  return state(e.details?.sqlstate) ?? state(e.cause?.code) ?? state(e.code);
}

function sanitised(e: PgErrorLike & { code: string }, message: string, statement: string): Error {
  const copy = new Error(message);
  copy.name = 'PostgresError';
  Object.assign(copy, {
    code: e.code,
    statement,
    ...(typeof e.constraint === 'string' ? { constraint: e.constraint } : {}),
    ...(typeof e.table === 'string' ? { table: e.table } : {}),
    ...(typeof e.column === 'string' ? { column: e.column } : {}),
  });
  return copy;
}

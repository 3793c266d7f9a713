/**
 * Which JavaScript strings PostgreSQL stores exactly. A `text` value cannot hold U+0000 (the
 * statement fails with SQLSTATE 22021); `jsonb` also refuses the `\u0000` escape (22P05) and an
 * unpaired surrogate, which JSON.stringify writes as `\ud800` (22P02). In a `text` column an
 * unpaired surrogate does not fail but is silently stored as U+FFFD, a different value. Client
 * input bound for the database is checked with these first, so a bad value is answered 400 with
 * the field's name instead of failing a statement (or, written behind, a whole batch).
 */
import { InvalidRequestError } from '../errors.ts';

/** True when PostgreSQL stores `s` unchanged in `text` and in `jsonb`. */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}

/**
 * The path (`body.variants[1].params.stop[0]`) of the first string in `value`, an object key
 * included, that `isStorableText` refuses; undefined when there is none. JSON values only: depth
 * is bounded by the body parser, so the recursion is too.
 */
export function unstorableTextPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorableTextPath(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      const where = `${path}.${key}`;
      if (!isStorableText(key)) return where;
      const found = unstorableTextPath(v, where);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Throws INVALID_REQUEST naming the first unstorable string in `value` (see unstorableTextPath). */
export function assertStorableText(value: unknown, path: string): void {
  const found = unstorableTextPath(value, path);
  if (found !== undefined) {
    throw new InvalidRequestError(
      `${found} must not contain the NUL character (U+0000) or an unpaired surrogate: the database cannot store them`,
    );
  }
}

/**
 * A JSON body parser that remembers recent bodies by their exact text.
 *
 * Identical request bodies are what a response cache hit is made of: the same prompt, the same
 * parameters, sent again. Parsing, prototype-poisoning checks and everything a route derives from
 * the body (validation, cache keys) are then repeated work. This parser keeps the last
 * `maxEntries` bodies of at most `maxBodyBytes` characters, keyed by their text, and hands every
 * request with the same text the same parsed object, deeply frozen so no request can change what
 * another one sees. Misses go to Fastify's own JSON parser, so what it accepts and refuses
 * (invalid JSON, poisoning, empty body) is exactly Fastify's; refusals are explained as
 * installJsonParser explains them.
 *
 * Install it only in a scope whose routes treat the body as read-only: a frozen body makes
 * writes fail (and, in sloppy-mode code such as schema coercion, fail silently).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidJsonError, InvalidRequestError, UnsupportedMediaTypeError } from '../errors.ts';

type Done = (err: Error | null, body?: unknown) => void;
type Parse = (request: FastifyRequest, body: string, done: Done) => void;

/**
 * Fastify's parser answers every refusal with one generic error; this says which it was. Called
 * only when parsing failed, so the success path pays nothing for it.
 */
function explained(err: Error, text: string): Error {
  if ((err as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return err;
  try {
    JSON.parse(text);
  } catch (syntax) {
    return new InvalidJsonError(`the request body is not valid JSON: ${(syntax as Error).message}`, {
      cause: err,
    });
  }
  // Valid JSON that Fastify's parser refused: prototype poisoning.
  return new InvalidRequestError(
    'the request body has a "__proto__" key or a "constructor" key with a "prototype", which are refused (prototype poisoning)',
    { cause: err },
  );
}

/** A JSON body sent compressed (Content-Encoding) is refused: Versus reads JSON as sent. */
function encodingRefusal(request: FastifyRequest): Error | undefined {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined || encoding.trim().toLowerCase() === 'identity') return undefined;
  return new UnsupportedMediaTypeError(
    `the request body is sent with content-encoding: ${encoding.slice(0, 40)}; send the JSON uncompressed (response compression is negotiated with accept-encoding)`,
  );
}

/** Parses with `parse` (Fastify's JSON parser), with the refusals explained. */
function parseExplained(parse: Parse, request: FastifyRequest, text: string, done: Done): void {
  const refused = encodingRefusal(request);
  if (refused !== undefined) done(refused);
  else
    parse(request, text, (err, parsed) => (err === null ? done(null, parsed) : done(explained(err, text))));
}

/**
 * Replaces the `application/json` parser of `scope` with Fastify's own plus clearer refusals: a
 * syntax error names what is wrong and where (JSON.parse's message), prototype poisoning is an
 * INVALID_REQUEST that says so, and a content-encoded body is a 415.
 */
export function installJsonParser(scope: FastifyInstance): void {
  const parse = scope.getDefaultJsonParser('error', 'error') as Parse;
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, text: string | Buffer, done: Done) =>
      parseExplained(parse, request, typeof text === 'string' ? text : text.toString('utf8'), done),
  );
}

export interface JsonBodyMemoOptions {
  /** Distinct bodies remembered; the oldest is forgotten first. @default 1000 */
  maxEntries?: number;
  /** Longer bodies are parsed every time and not remembered. @default 8192 */
  maxBodyBytes?: number;
}

export interface JsonBodyMemoStats {
  hits: number;
  misses: number;
  entries: number;
}

/** Freezes `value` and everything reachable from it (JSON values only: no cycles). */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

export class JsonBodyMemo {
  readonly #maxEntries: number;
  readonly #maxBodyBytes: number;
  readonly #bodies = new Map<string, unknown>();
  #hits = 0;
  #misses = 0;

  constructor(options: JsonBodyMemoOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 8192;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new TypeError(`maxEntries must be a positive integer, got ${this.#maxEntries}`);
    }
  }

  /** The remembered body for `text`, or undefined. */
  get(text: string): unknown {
    if (text.length > this.#maxBodyBytes) return undefined;
    const found = this.#bodies.get(text);
    if (found === undefined) this.#misses++;
    else this.#hits++;
    return found;
  }

  /** Remembers `parsed` (deeply frozen) for `text`; returns the frozen value. */
  remember(text: string, parsed: unknown): unknown {
    if (text.length > this.#maxBodyBytes || typeof parsed !== 'object' || parsed === null) return parsed;
    if (this.#bodies.size >= this.#maxEntries) this.#bodies.delete(this.#bodies.keys().next().value!);
    this.#bodies.set(text, deepFreeze(parsed));
    return parsed;
  }

  stats(): JsonBodyMemoStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#bodies.size };
  }
}

/**
 * Replaces the `application/json` parser of `scope` (an encapsulated plugin scope) with the
 * memoising one, on a new memo or on `options` when it is one. Returns the memo.
 */
export function installJsonBodyMemo(
  scope: FastifyInstance,
  options: JsonBodyMemoOptions | JsonBodyMemo = {},
): JsonBodyMemo {
  const memo = options instanceof JsonBodyMemo ? options : new JsonBodyMemo(options);
  const parse = scope.getDefaultJsonParser('error', 'error') as Parse;
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, text: string | Buffer, done: Done) => {
      const body = typeof text === 'string' ? text : text.toString('utf8');
      const known = memo.get(body);
      // A remembered body was read uncompressed; the same text with a content-encoding was not.
      if (known !== undefined && request.headers['content-encoding'] === undefined) return done(null, known);
      parseExplained(parse, request, body, (err, parsed) =>
        err === null ? done(null, memo.remember(body, parsed)) : done(err),
      );
    },
  );
  return memo;
}

/**
 * Request batching: `runBatch` runs items with bounded concurrency, coalescing identical ones, and
 * returns one result per item in input order; `installBatch` exposes it as a route that replays
 * each item against another route of the same app (through `app.inject`, so every item passes
 * the same auth, rate limits, experiment assignment and caches as a direct call would).
 */
import type { FastifyInstance } from 'fastify';
import { defineError, InvalidRequestError } from '../errors.ts';

export const BatchTooLargeError = defineError(
  'BATCH_TOO_LARGE',
  400,
  'The batch holds more requests than the server accepts in one call.',
  'Split it into batches of at most BATCH_MAX_ITEMS requests (the message says the limit).',
);

export interface BatchRunOptions<T, R> {
  /** Items run at the same time, at most. */
  concurrency: number;
  /** Items with the same key run once and share the result. @default no coalescing */
  key?: (item: T, index: number) => string;
  /** Stops starting new items once aborted; items not started get `onSkip`'s result. */
  signal?: AbortSignal;
  run: (item: T, index: number) => Promise<R>;
  /** The result of an item that threw. */
  onError: (error: unknown, item: T, index: number) => R;
  /** The result of an item not started because the signal aborted. */
  onSkip: (item: T, index: number) => R;
}

export interface BatchRun<R> {
  results: R[];
  /** Distinct items run (items minus coalesced duplicates). */
  executed: number;
}

/** Runs `items` with at most `concurrency` in flight; results come back in input order. */
export async function runBatch<T, R>(
  items: readonly T[],
  options: BatchRunOptions<T, R>,
): Promise<BatchRun<R>> {
  const { concurrency, key, signal, run, onError, onSkip } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`batch concurrency must be a positive integer, got ${concurrency}`);
  }
  // Distinct work units and, per item, which unit answers it.
  const units: number[] = [];
  const unitOf = new Array<number>(items.length);
  const seen = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const k = key?.(items[i]!, i);
    const found = k === undefined ? undefined : seen.get(k);
    if (found !== undefined) {
      unitOf[i] = found;
      continue;
    }
    unitOf[i] = units.length;
    if (k !== undefined) seen.set(k, units.length);
    units.push(i);
  }
  const unitResults = new Array<R>(units.length);
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const u = next++;
      const index = units[u]!;
      const item = items[index]!;
      if (signal?.aborted) {
        unitResults[u] = onSkip(item, index);
        continue;
      }
      try {
        unitResults[u] = await run(item, index);
      } catch (error) {
        unitResults[u] = onError(error, item, index);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, units.length) }, worker));
  return { results: items.map((_, i) => unitResults[unitOf[i]!]!), executed: units.length };
}

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` coalesce. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value as Record<string, unknown>).sort();
    return `{${keys
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface BatchRouteOptions {
  /** Route path. @default '/v1/batch' */
  path?: string;
  /** The POST route each item is sent to. @default '/v1/chat/completions' */
  target?: string;
  /** Most items per batch. @default 100 */
  maxItems?: number;
  /** Items in flight per batch. @default 8 */
  concurrency?: number;
}

/** Request headers copied from the batch onto each item. */
const FORWARDED = ['authorization', 'x-api-key', 'x-experiment', 'x-unit-id'] as const;

interface ItemOutcome {
  status: number;
  /** The item's reply body, as JSON text. */
  json: string;
  cache: string | undefined;
}

function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export function installBatch(app: FastifyInstance, options: BatchRouteOptions = {}): void {
  const path = options.path ?? '/v1/batch';
  const target = options.target ?? '/v1/chat/completions';
  const maxItems = options.maxItems ?? 100;
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(maxItems) || maxItems < 1)
    throw new TypeError(`batch maxItems must be >= 1, got ${maxItems}`);

  app.post(
    path,
    {
      schema: {
        body: {
          type: 'object',
          required: ['requests'],
          additionalProperties: false,
          // `requests` is checked in the handler: typed `array` here, Fastify's validator would
          // turn a string into a one-item array. Items are not typed either: one that is not an
          // object gets its own 400 in the results, and the rest of the batch still runs.
          properties: { requests: {} },
        },
      },
    },
    async (request, reply) => {
      const items = (request.body as { requests: unknown }).requests;
      if (!Array.isArray(items) || items.length === 0) {
        throw new InvalidRequestError('body.requests must be a non-empty array of chat completion requests');
      }
      if (items.length > maxItems) {
        throw new BatchTooLargeError(
          `body.requests has ${items.length} requests; at most ${maxItems} are accepted per batch`,
          { details: { max_items: maxItems } },
        );
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const name of FORWARDED) {
        const v = request.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      // A client that hangs up gets no answer: stop starting items for it.
      const aborted = new AbortController();
      // (The response's 'close', not the request's: the request closes as soon as its body is read.)
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) aborted.abort();
      });

      const { results, executed } = await runBatch<unknown, ItemOutcome>(items, {
        concurrency,
        signal: aborted.signal,
        key: (item) => canonicalJson(item),
        async run(item, index) {
          if (typeof item !== 'object' || item === null || Array.isArray(item)) {
            return {
              status: 400,
              json: errorJson(
                'INVALID_REQUEST',
                `requests[${index}] must be a chat completion request (a JSON object), got ${item === null ? 'null' : Array.isArray(item) ? 'an array' : typeof item}`,
              ),
              cache: undefined,
            };
          }
          if ((item as { stream?: unknown }).stream === true) {
            return {
              status: 400,
              json: errorJson(
                'INVALID_REQUEST',
                `requests[${index}].stream: streaming is not available in a batch`,
              ),
              cache: undefined,
            };
          }
          const res = await app.inject({
            method: 'POST',
            url: target,
            headers: { ...headers, 'x-request-id': `${request.id}.${index}` },
            payload: item,
          });
          const type = String(res.headers['content-type'] ?? '');
          const cache = res.headers['x-cache'];
          return {
            status: res.statusCode,
            // Our routes answer JSON; anything else is wrapped so the batch stays valid JSON.
            json: type.startsWith('application/json') ? res.payload : JSON.stringify(res.payload),
            cache: typeof cache === 'string' ? cache : undefined,
          };
        },
        onError(error, _item, index) {
          request.log.error({ err: error, index }, 'batch item failed');
          return {
            status: 500,
            json: errorJson('INTERNAL_ERROR', `requests[${index}] failed; the server log has the details`),
            cache: undefined,
          };
        },
        onSkip: () => ({
          status: 499,
          json: errorJson('CLIENT_CLOSED', 'the client closed the connection'),
          cache: undefined,
        }),
      });

      let succeeded = 0;
      const parts = results.map((r, index) => {
        if (r.status < 400) succeeded++;
        const cache = r.cache === undefined ? '' : `,"cache":${JSON.stringify(r.cache)}`;
        return `{"index":${index},"status":${r.status}${cache},"body":${r.json}}`;
      });
      // Spliced, not re-serialised: each item's body is already JSON text.
      const body =
        `{"object":"batch","data":[${parts.join(',')}],"summary":{"total":${items.length},` +
        `"succeeded":${succeeded},"failed":${items.length - succeeded},"executed":${executed}}}`;
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );
}

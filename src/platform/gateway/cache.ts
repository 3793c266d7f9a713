/**
 * Response cache and request coalescing.
 *
 * A request is cacheable when it is deterministic (temperature 0) or opts in (the experiment, or
 * the `x-versus-cache: on` header). The key hashes the tenant (the API key's principal id), the
 * model, the messages and every sampling parameter, so two API keys never share an entry.
 * Identical cacheable requests in flight share one upstream call.
 */
import { hash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CompletionParams, FinishReason, Usage } from '../providers/index.ts';
import type { RouteDecision } from './hooks.ts';

/** What the cache stores: enough to answer as JSON or to replay as a stream. */
export interface CachedCompletion {
  /**
   * The response id the answer was first sent with; hits repeat it, so every hit is the same
   * bytes and is served precompressed. Absent in entries written before it existed.
   */
  id?: string;
  /** The model that served (`provider/model`). */
  model: string;
  content: string;
  finishReason: FinishReason;
  usage: Usage;
  /** Streamed pieces, so a replay streams like the original; absent for non-streamed answers. */
  deltas?: string[];
  /** Epoch seconds of the original answer. */
  created: number;
}

/** The slice of the tiered cache (`src/perf/cache`) the gateway uses. */
export interface ResponseStore {
  get(key: string): Promise<unknown>;
  /** A fresh value in memory, synchronously (the tiered cache's peek); absent: every read awaits get. */
  peek?(key: string): unknown;
  set(key: string, value: unknown, options: { ttl: number; tags?: string[] }): Promise<unknown>;
}

export type CacheMode = 'bypass' | 'use' | 'refresh';

/** `x-versus-cache: on|off`, `cache-control: no-store|no-cache`, temperature 0 or the experiment's opt-in. */
export function cacheModeOf(
  headers: FastifyRequest['headers'],
  params: CompletionParams,
  decision: RouteDecision | undefined,
): CacheMode {
  const optIn = headers['x-versus-cache'];
  if (optIn === 'off') return 'bypass';
  const control = headers['cache-control'];
  if (typeof control === 'string' && control.includes('no-store')) return 'bypass';
  const deterministic = params.temperature === 0 || decision?.cacheable === true || optIn === 'on';
  if (!deterministic) return 'bypass';
  return typeof control === 'string' && control.includes('no-cache') ? 'refresh' : 'use';
}

export function cacheKey(
  tenant: string,
  model: string,
  messages: readonly { role: string; content: unknown; name?: string }[],
  params: CompletionParams,
): string {
  // Separators cannot occur in the JSON parts, so distinct inputs never hash the same text.
  // One string and one hash call: incremental updates cost a native call each.
  let text = `${tenant}\u0000${model}\u0000${JSON.stringify(messages)}\u0000`;
  const keys = Object.keys(params).sort();
  for (const k of keys) text += `${k}=${JSON.stringify(params[k as keyof CompletionParams])};`;
  return `chat:${hash('sha256', text, 'base64url')}`;
}

export function isCachedCompletion(value: unknown): value is CachedCompletion {
  const v = value as CachedCompletion | null | undefined;
  return typeof v?.content === 'string' && typeof v.model === 'string' && typeof v.usage === 'object';
}

/** Raised to followers when the leader's own client went away: they make their own call. */
export class LeaderGone extends Error {}

export class Coalescer {
  readonly #inFlight = new Map<string, Promise<CachedCompletion>>();

  get size(): number {
    return this.#inFlight.size;
  }

  /** The in-flight result for `key`, if a leader is already calling upstream. */
  follow(key: string): Promise<CachedCompletion> | undefined {
    return this.#inFlight.get(key);
  }

  /** Registers the caller as the leader for `key`; settle the returned handle exactly once. */
  lead(key: string): { resolve(value: CachedCompletion): void; reject(err: unknown): void } {
    let resolve!: (value: CachedCompletion) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<CachedCompletion>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Followers attach their own handlers; this one keeps a leader-only failure from being unhandled.
    promise.catch(() => {});
    this.#inFlight.set(key, promise);
    const done = () => {
      if (this.#inFlight.get(key) === promise) this.#inFlight.delete(key);
    };
    return {
      resolve: (value) => {
        done();
        resolve(value);
      },
      reject: (err) => {
        done();
        reject(err);
      },
    };
  }
}

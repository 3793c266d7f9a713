/**
 * One undici Pool per upstream origin: keep-alive connections reused across requests, bounded
 * connection count, connect/headers/body timeouts, and per-upstream metrics.
 */

import { createRequire } from 'node:module';
import type { Dispatcher, Pool as UndiciPool } from 'undici';
import type { MetricsRegistry } from '../metrics/index.ts';
import { errorKind, transportError } from './errors.ts';

/**
 * undici's Pool and its request API, loaded from their own modules. undici's entry point loads all
 * of undici (fetch, WebSocket, the HTTP caches, the mock agents: 110 modules, 5.7 MB of heap) and
 * mixes the request API into every dispatcher's prototype; these two need about 25 modules and
 * 2.3 MB. undici has no exports map, so the files are part of what it publishes; the version is
 * pinned by the lockfile and every provider test goes through them.
 */
const require = createRequire(import.meta.url);
const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;
const poolRequest = require('undici/lib/api/api-request.js') as (
  this: Pool,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

export interface UpstreamOptions {
  /** Connections per origin. @default 128 */
  connections?: number;
  /** Requests pipelined per connection; 1 is plain keep-alive. @default 1 */
  pipelining?: number;
  /** Idle keep-alive time before a connection is closed, in ms. @default 30000 */
  keepAliveTimeoutMs?: number;
  /** TCP + TLS connect timeout in ms. @default 5000 */
  connectTimeoutMs?: number;
  /** Wait for response headers in ms (0 disables; the resilience timeout usually fires first). @default 300000 */
  headersTimeoutMs?: number;
  /** Longest silence between body chunks in ms (0 disables). @default 300000 */
  bodyTimeoutMs?: number;
}

export interface UpstreamRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** Path and query, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

export type UpstreamResponse = Dispatcher.ResponseData<null>;

export interface Upstream {
  readonly name: string;
  readonly origin: string;
  /** Sends a request; transport failures are described for the resilience layer. */
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
}

export interface HttpClients {
  /** The client of `origin` (e.g. `https://api.openai.com`), created on first use. `name` labels metrics. */
  upstream(name: string, origin: string, options?: UpstreamOptions): Upstream;
  stats(): Record<
    string,
    { origin: string; connected: number; free: number; pending: number; running: number }
  >;
  close(): Promise<void>;
}

export interface HttpClientsOptions {
  metrics?: MetricsRegistry;
  defaults?: UpstreamOptions;
}

export function createHttpClients(options: HttpClientsOptions = {}): HttpClients {
  const pools = new Map<string, { name: string; pool: Pool; upstream: Upstream }>();
  const m = options.metrics;
  const duration = m?.histogram({
    name: 'upstream_request_duration_seconds',
    help: 'Time from sending an upstream request to its response headers.',
    labelNames: ['upstream', 'status'] as const,
  });
  const inFlight = m?.gauge({
    name: 'upstream_requests_in_flight',
    help: 'Upstream requests sent and not yet answered with headers.',
    labelNames: ['upstream'] as const,
  });
  const queued = m?.gauge({
    name: 'upstream_requests_queued',
    help: 'Upstream requests waiting for a connection.',
    labelNames: ['upstream'] as const,
  });
  const open = m?.gauge({
    name: 'upstream_connections_open',
    help: 'Open connections per upstream.',
    labelNames: ['upstream'] as const,
  });
  const errors = m?.counter({
    name: 'upstream_errors_total',
    help: 'Upstream transport errors and non-2xx answers by kind.',
    labelNames: ['upstream', 'kind'] as const,
  });
  const removeHooks: (() => void)[] = [];
  if (m !== undefined && queued !== undefined && open !== undefined) {
    removeHooks.push(
      m.onCollect(queued, () => {
        for (const { name, pool } of pools.values()) queued.set({ upstream: name }, pool.stats.pending);
      }),
      m.onCollect(open, () => {
        for (const { name, pool } of pools.values()) open.set({ upstream: name }, pool.stats.connected);
      }),
    );
  }

  function create(name: string, origin: string, o: UpstreamOptions): Upstream {
    const pool = new Pool(origin, {
      connections: o.connections ?? 128,
      pipelining: o.pipelining ?? 1,
      keepAliveTimeout: o.keepAliveTimeoutMs ?? 30_000,
      connectTimeout: o.connectTimeoutMs ?? 5000,
      headersTimeout: o.headersTimeoutMs ?? 300_000,
      bodyTimeout: o.bodyTimeoutMs ?? 300_000,
    });
    const upstream: Upstream = {
      name,
      origin,
      async request(req) {
        const started = performance.now();
        inFlight?.inc({ upstream: name });
        try {
          const res = await poolRequest.call(pool, {
            method: req.method ?? 'GET',
            path: req.path,
            headers: req.headers ?? {},
            body: req.body ?? null,
            signal: req.signal ?? null,
          });
          duration?.observe(
            { upstream: name, status: String(res.statusCode) },
            (performance.now() - started) / 1000,
          );
          if (res.statusCode >= 400) errors?.inc({ upstream: name, kind: `http_${res.statusCode}` });
          return res;
        } catch (err) {
          const described = transportError(name, err);
          errors?.inc({ upstream: name, kind: errorKind(described) });
          throw described;
        } finally {
          inFlight?.dec({ upstream: name });
        }
      },
    };
    pools.set(origin, { name, pool, upstream });
    return upstream;
  }

  return {
    upstream(name, origin, upstreamOptions) {
      const normalised = new URL(origin).origin;
      return (
        pools.get(normalised)?.upstream ??
        create(name, normalised, { ...options.defaults, ...upstreamOptions })
      );
    },
    stats() {
      const out: ReturnType<HttpClients['stats']> = {};
      for (const [origin, { name, pool }] of pools) {
        const s = pool.stats;
        out[name] = { origin, connected: s.connected, free: s.free, pending: s.pending, running: s.running };
      }
      return out;
    },
    async close() {
      for (const remove of removeHooks) remove();
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map(({ pool }) => pool.close().catch(() => pool.destroy())));
    },
  };
}

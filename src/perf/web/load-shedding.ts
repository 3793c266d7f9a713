/**
 * Load shedding: while the process is past its event-loop-delay or memory limit, new requests get
 * 503 OVERLOADED with Retry-After instead of joining a queue that would time out anyway. Shedding
 * early keeps the requests already admitted fast and leaves headroom for the process to recover;
 * a load balancer retries the shed requests elsewhere.
 *
 * The state is sampled on a timer (not per request): a request pays one property read. Liveness
 * and metrics routes are never shed, so an overloaded instance still reports why.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { defineError } from '../errors.ts';
import type { MetricsRegistry } from '../metrics/index.ts';
import { sendError } from './errors.ts';

export const OverloadedError = defineError(
  'OVERLOADED',
  503,
  'The instance is past its event-loop-delay or memory limit and sheds new requests until it recovers.',
  'Retry after the Retry-After seconds (another instance may take it); if it persists, add instances or raise LOAD_SHED_EVENT_LOOP_DELAY_MS / LOAD_SHED_RSS_MB.',
);

export interface LoadSheddingOptions {
  /** Shed while the p99 event-loop delay exceeds this in two intervals in a row; 0 disables. @default 1000 */
  maxEventLoopDelayMs?: number;
  /** Shed while the resident set size exceeds this many bytes; 0 disables. @default 0 */
  maxRssBytes?: number;
  /** How often the state is sampled. @default 1000 */
  sampleIntervalMs?: number;
  /** Seconds sent in Retry-After. @default 2 */
  retryAfterS?: number;
  /** Paths never shed. @default path starts with /health or is /metrics */
  exempt?: (url: string) => boolean;
  metrics?: MetricsRegistry;
}

export type LoadState =
  | { overloaded: false }
  | { overloaded: true; reason: 'event_loop_delay' | 'memory'; value: number; limit: number };

export interface LoadShedder {
  readonly state: LoadState;
  /** Takes a sample now (the timer does this every sampleIntervalMs). */
  sample(): LoadState;
}

const OK: LoadState = Object.freeze({ overloaded: false });

function defaultExempt(url: string): boolean {
  return url.startsWith('/health') || url === '/metrics' || url.startsWith('/metrics?');
}

export function installLoadShedding(app: FastifyInstance, options: LoadSheddingOptions = {}): LoadShedder {
  const maxDelayMs = options.maxEventLoopDelayMs ?? 1000;
  const maxRss = options.maxRssBytes ?? 0;
  const interval = options.sampleIntervalMs ?? 1000;
  const retryAfter = String(options.retryAfterS ?? 2);
  const exempt = options.exempt ?? defaultExempt;
  if (!(maxDelayMs >= 0) || !(maxRss >= 0) || !(interval > 0)) {
    throw new TypeError('load shedding limits must be >= 0 and the sample interval > 0');
  }

  const shed = options.metrics?.counter({
    name: 'http_requests_shed_total',
    help: 'Requests answered 503 OVERLOADED by load shedding, by reason.',
    labelNames: ['reason'] as const,
  });
  // 10 ms resolution: finer sampling costs timer wake-ups and tells nothing at a 1 s limit.
  const delay = maxDelayMs > 0 ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
  delay?.enable();

  let state: LoadState = OK;
  /** Samples in a row whose p99 delay was over the limit. */
  let lagging = 0;
  const shedder: LoadShedder = {
    get state() {
      return state;
    },
    sample() {
      let next: LoadState = OK;
      if (delay !== undefined) {
        const p99 = delay.count > 0 ? delay.percentile(99) / 1e6 : 0;
        delay.reset();
        lagging = p99 > maxDelayMs ? lagging + 1 : 0;
        // One interval over the limit is a stall that is already over by the time it is sampled
        // (the embedded database opening, a large synchronous parse): shedding then would only turn
        // away the requests that queued during it, which the loop is free to serve. Two in a row
        // is a loop that stays behind.
        if (lagging >= 2) {
          next = { overloaded: true, reason: 'event_loop_delay', value: Math.round(p99), limit: maxDelayMs };
        }
      }
      if (!next.overloaded && maxRss > 0) {
        const rss = process.memoryUsage.rss();
        if (rss > maxRss) next = { overloaded: true, reason: 'memory', value: rss, limit: maxRss };
      }
      if (next.overloaded !== state.overloaded) {
        if (next.overloaded) app.log.warn({ load: next }, 'overloaded: shedding new requests');
        else app.log.info('load back under the limits: no longer shedding');
      }
      state = next;
      return state;
    },
  };
  if (maxDelayMs === 0 && maxRss === 0) return shedder;

  const timer = setInterval(() => shedder.sample(), interval);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    delay?.disable();
  });

  app.addHook('onRequest', (request, reply, done) => {
    const current = state;
    if (!current.overloaded || exempt(request.url)) return done();
    shed?.inc({ reason: current.reason });
    const what =
      current.reason === 'memory'
        ? `memory (${Math.round(current.value / 2 ** 20)} MB resident, limit ${Math.round(current.limit / 2 ** 20)} MB)`
        : `event-loop delay (${current.value} ms, limit ${current.limit} ms)`;
    sendError(
      reply,
      new OverloadedError(`the server is overloaded by ${what}; retry in ${retryAfter} s`, {
        headers: { 'retry-after': retryAfter },
        details: { reason: current.reason },
      }),
    );
  });
  return shedder;
}

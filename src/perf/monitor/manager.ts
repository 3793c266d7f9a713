/**
 * The PerformanceManager: one object that composes whatever performance parts exist (caches,
 * database, breakers, HTTP clients, pools), the memory monitor, windowed latency, alerts, trends
 * and recommendations, and offers the operator actions. Parts plug in through the small source
 * interfaces of sources.ts, so the manager depends on none of them.
 */
import {
  createMemoryMonitor,
  type GcResult,
  type MemoryMonitor,
  type MemoryMonitorOptions,
} from '../memory/index.ts';
import type { MetricsRegistry } from '../metrics/index.ts';
import { ALERT_RULES } from './alert-rules.ts';
import { type AlertEngine, type AlertLogger, type AlertRule, createAlertEngine } from './alerts.ts';
import { type ContextTimer, createContextTimer, type OperationContext } from './context.ts';
import { declareSeedMetrics, type MonitorMetrics, registerMonitorMetrics } from './metrics.ts';
import {
  RECOMMENDATION_RULES,
  type Recommendation,
  type RecommendationRule,
  recommend,
} from './recommendations.ts';
import { buildReport, type PerformanceReport } from './report.ts';
import type { CacheLayerView, PerformanceSnapshot, PoolView, Targets } from './snapshot.ts';
import type {
  BreakerSource,
  BreakerStats,
  CacheLayerStats,
  CacheSource,
  DatabaseSource,
  DatabaseStats,
  HttpClientsSource,
  PoolSource,
} from './sources.ts';
import { evaluateTargets, type PerformanceHealth } from './targets.ts';
import { Series, trend } from './trends.ts';
import { createWindowedHistogram, type WindowedHistogram } from './window.ts';

export interface PerformanceLogger extends AlertLogger {
  error(obj: object, msg: string): void;
}

export interface PerformanceManagerOptions {
  /** The seed's targets; dbQueryMs defaults to 50 and errorRate to 0.01. */
  targets: Pick<Targets, 'responseTimeMs' | 'cacheHitRate' | 'memoryMb'> & Partial<Targets>;
  logger: PerformanceLogger;
  /** Registers the seed and monitor metrics. @default none */
  metrics?: MetricsRegistry;
  /** Memory monitor options, or false for none. @default {} */
  memory?: MemoryMonitorOptions | false;
  /** Window of health, percentiles and cache rates, ms. @default 300000 */
  windowMs?: number;
  /** How often snapshots are evaluated (alerts, trends, metrics), ms. @default 10000 */
  evaluateIntervalMs?: number;
  alertRules?: readonly AlertRule[];
  recommendationRules?: readonly RecommendationRule[];
  /** Epoch-ms clock (tests). @default Date.now */
  now?: () => number;
}

export interface ActionResult {
  action: string;
  ok: boolean;
  message: string;
  details?: Record<string, unknown>;
}

const TREND_POINTS = 60;

export class PerformanceManager {
  readonly targets: Targets;
  readonly memory: MemoryMonitor | undefined;
  #o: PerformanceManagerOptions;
  #now: () => number;
  #windowMs: number;
  #http: WindowedHistogram;
  #db: WindowedHistogram | undefined;
  #contexts: ContextTimer;
  #alerts: AlertEngine;
  #metrics: MonitorMetrics | undefined;
  #caches: CacheSource[] = [];
  #pools: PoolSource[] = [];
  #clients: HttpClientsSource[] = [];
  #database: DatabaseSource | undefined;
  #breakers: BreakerSource | undefined;
  #cacheHistory: { at: number; stats: Map<string, CacheLayerStats> }[] = [];
  #series = { p95: new Series(TREND_POINTS), rss: new Series(TREND_POINTS), heap: new Series(TREND_POINTS) };
  #last: PerformanceSnapshot | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sourceErrors = new Set<string>();
  #initialized = false;

  constructor(options: PerformanceManagerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.windowMs ?? 300_000;
    this.targets = { dbQueryMs: 50, errorRate: 0.01, ...options.targets };
    this.#http = createWindowedHistogram({ windowMs: this.#windowMs });
    this.#alerts = createAlertEngine(options.alertRules ?? ALERT_RULES, options.logger);
    if (options.metrics !== undefined) {
      this.#metrics = registerMonitorMetrics(options.metrics, () => this.#last, this.#alerts);
    }
    this.#contexts = createContextTimer(this.#metrics?.contextHistogram, this.#windowMs);
    if (options.memory !== false) {
      this.memory = createMemoryMonitor({
        budgetMb: this.targets.memoryMb,
        ...(options.memory ?? {}),
        ...(options.now ? { now: options.now } : {}),
      });
    }
  }

  addCache(source: CacheSource): void {
    this.#caches.push(source);
  }
  addPool(source: PoolSource): void {
    this.#pools.push(source);
  }
  addHttpClients(source: HttpClientsSource): void {
    this.#clients.push(source);
  }
  setDatabase(source: DatabaseSource): void {
    this.#database = source;
    this.#db ??= createWindowedHistogram({ windowMs: this.#windowMs });
  }
  setBreakers(source: BreakerSource): void {
    this.#breakers = source;
  }

  /** Starts sampling and evaluation. */
  async initialize(): Promise<void> {
    if (this.#initialized) return;
    this.#initialized = true;
    if (this.#o.metrics !== undefined) declareSeedMetrics(this.#o.metrics);
    this.memory?.start();
    await this.evaluate();
    this.#timer = setInterval(() => {
      this.evaluate().catch((err) => this.#o.logger.error({ err }, 'performance evaluation failed'));
    }, this.#o.evaluateIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.memory?.stop();
    this.#metrics?.detach();
    this.#http.close();
    this.#db?.close();
    this.#contexts.close();
  }

  /** One HTTP request (the onResponse hook calls this). */
  recordRequest(ms: number, status: number): void {
    this.#http.record(ms, status >= 500);
  }

  /** One database query (the database layer calls this). */
  recordQuery(ms: number, failed = false): void {
    this.#db?.record(ms, failed);
  }

  /** Times `fn` as operation `name`; nested calls see their parents through `currentContext()`. */
  context<R>(name: string, fn: () => R, attributes?: Record<string, string>): R {
    return this.#contexts.run(name, fn, attributes);
  }

  currentContext(): OperationContext | undefined {
    return this.#contexts.current();
  }

  /** Collects the live figures now. */
  async snapshot(): Promise<PerformanceSnapshot> {
    const at = this.#now();
    const [caches, database, breakers] = await Promise.all([
      this.#cacheViews(at),
      this.#read('database', () => this.#database?.stats()),
      this.#read('breakers', () => this.#breakers?.states()),
    ]);
    const db = database as DatabaseStats | undefined;
    const pools: PoolView[] = this.#pools.map((p) => {
      const s = p.stats();
      return {
        name: p.name,
        kind: 'object',
        size: s.size,
        max: s.max,
        idle: s.idle,
        inUse: s.inUse,
        waiting: s.waiting,
        waitMs: s.waitMsMax,
        timeouts: s.timeouts,
      };
    });
    if (db?.pool !== undefined) {
      const p = db.pool;
      pools.push({
        name: this.#database!.name,
        kind: 'database',
        size: p.size,
        max: p.max,
        idle: p.idle,
        inUse: p.inUse,
        waiting: p.waiting,
        waitMs: p.waitMs ?? 0,
        timeouts: p.timeouts ?? 0,
      });
    }
    const m = this.memory;
    const latest = m?.latest();
    return {
      at,
      windowMs: this.#windowMs,
      targets: this.targets,
      http: this.#http.summary(),
      http1m: this.#http.summary(60_000),
      db: this.#db?.summary() ?? null,
      caches,
      pools,
      breakers: (breakers as BreakerStats[] | undefined) ?? [],
      slowQueries: db?.slowQueries ?? [],
      dbPool: db?.pool ?? null,
      memory:
        m === undefined || latest === undefined
          ? null
          : {
              rssBytes: latest.rss,
              heapUsedBytes: latest.heapUsed,
              heapTotalBytes: latest.heapTotal,
              externalBytes: latest.external,
              budget: m.budget(),
              leak: m.leak(),
              gc: m.gc(),
              eventLoop: m.eventLoop(),
            },
      trends: [
        trend('p95', 'ms', this.#series.p95.points, this.targets.responseTimeMs),
        trend('rss', 'MB', this.#series.rss.points, this.targets.memoryMb),
        trend('heap_used', 'MB', this.#series.heap.points, null),
      ],
    };
  }

  /** Takes a snapshot, runs the alert rules and extends the trend series. Called on the interval. */
  async evaluate(): Promise<PerformanceSnapshot> {
    const s = await this.snapshot();
    if (s.http1m.count > 0) this.#series.p95.push(s.at, s.http1m.p95);
    if (s.memory !== null) {
      this.#series.rss.push(s.at, s.memory.rssBytes / 1024 / 1024);
      this.#series.heap.push(s.at, s.memory.heapUsedBytes / 1024 / 1024);
    }
    this.#alerts.evaluate(s);
    this.#last = s;
    return s;
  }

  async health(): Promise<PerformanceHealth> {
    return evaluateTargets(await this.snapshot());
  }

  async recommendations(): Promise<Recommendation[]> {
    return recommend(await this.snapshot(), this.#o.recommendationRules ?? RECOMMENDATION_RULES);
  }

  alerts() {
    return { active: this.#alerts.active(), history: this.#alerts.history() };
  }

  /** The admin view: everything the dashboard shows, as JSON. */
  async report(): Promise<PerformanceReport> {
    const s = await this.snapshot();
    const clients: { name: string; stats: Record<string, number | string | boolean> }[] = [];
    for (const source of this.#clients) {
      const all = (await this.#read('http clients', () => source.stats())) ?? {};
      for (const [name, stats] of Object.entries(all)) clients.push({ name, stats });
    }
    return buildReport({
      snapshot: s,
      health: evaluateTargets(s),
      recommendations: recommend(s, this.#o.recommendationRules ?? RECOMMENDATION_RULES),
      alerts: this.alerts(),
      contexts: this.#contexts.summaries(),
      clients,
      memory: this.memory,
    });
  }

  forceGc(): GcResult {
    if (this.memory === undefined) return { performed: false, message: 'the memory monitor is off' };
    const result = this.memory.forceGc();
    this.#o.logger.info({ action: 'gc', ...result }, result.message);
    return result;
  }

  async clearExpired(): Promise<ActionResult> {
    const cleared: Record<string, number> = {};
    for (const c of this.#caches) {
      if (c.clearExpired === undefined) continue;
      const n = await this.#read(`cache ${c.name}`, () => c.clearExpired!());
      if (typeof n === 'number') cleared[c.name] = n;
    }
    const names = Object.keys(cleared);
    const total = Object.values(cleared).reduce((a, b) => a + b, 0);
    const message =
      names.length === 0
        ? 'no cache that can clear expired entries is configured'
        : `cleared ${total} expired entries from ${names.join(', ')}`;
    this.#o.logger.info({ action: 'clear-expired', cleared }, message);
    return { action: 'clear-expired', ok: names.length > 0, message, details: { cleared } };
  }

  async resetBreakers(): Promise<ActionResult> {
    if (this.#breakers === undefined) {
      return { action: 'reset-breakers', ok: false, message: 'no circuit breakers are configured' };
    }
    const before = await this.#breakers.states();
    await this.#breakers.reset();
    const reset = before.filter((b) => b.state !== 'closed').map((b) => b.name);
    const message = `reset ${before.length} circuit breakers (${reset.length} were not closed${reset.length ? `: ${reset.join(', ')}` : ''})`;
    this.#o.logger.info({ action: 'reset-breakers', reset }, message);
    return { action: 'reset-breakers', ok: true, message, details: { breakers: before.length, reset } };
  }

  async heapSnapshot(): Promise<ActionResult> {
    if (this.memory === undefined)
      return { action: 'heap-snapshot', ok: false, message: 'the memory monitor is off' };
    const path = await this.memory.heapSnapshot();
    this.#o.logger.info({ action: 'heap-snapshot', path }, 'heap snapshot written');
    return {
      action: 'heap-snapshot',
      ok: true,
      message: `heap snapshot written to ${path}`,
      details: { path },
    };
  }

  /** Reads a source; a failing source is logged once per distinct error and left out. */
  async #read<T>(what: string, fn: () => T | Promise<T> | undefined): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      const key = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      if (!this.#sourceErrors.has(key)) {
        this.#sourceErrors.add(key);
        this.#o.logger.warn(
          { source: what, err: { message: (err as Error)?.message } },
          'performance source failed',
        );
      }
      return undefined;
    }
  }

  /** Cache figures over the window: differences of the cumulative counters. */
  async #cacheViews(at: number): Promise<CacheLayerView[]> {
    const stats = new Map<string, CacheLayerStats>();
    const sources = new Map<string, string>();
    await Promise.all(
      this.#caches.map(async (c) => {
        for (const l of (await this.#read(`cache ${c.name}`, () => c.stats())) ?? []) {
          stats.set(`${c.name}\u0000${l.layer}`, l);
          sources.set(`${c.name}\u0000${l.layer}`, c.name);
        }
      }),
    );
    const history = this.#cacheHistory;
    // At most one baseline per 5 s however often the admin view is polled.
    if (history.length === 0 || at - history[history.length - 1]!.at >= 5000) history.push({ at, stats });
    while (history.length > 1 && at - history[1]!.at >= this.#windowMs) history.shift();
    // The oldest entry within the window is the baseline; a fresh process reports since start.
    const base = history[0]!.at < at ? history[0]!.stats : undefined;
    const views: CacheLayerView[] = [];
    for (const [key, l] of stats) {
      const b = base?.get(key);
      const d = (f: 'hits' | 'misses' | 'evictions' | 'sets') => Math.max(0, (l[f] ?? 0) - (b?.[f] ?? 0));
      const hits = d('hits');
      const misses = d('misses');
      views.push({
        source: sources.get(key)!,
        layer: l.layer,
        hitRate: hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1000) / 1000,
        hits,
        misses,
        evictions: d('evictions'),
        sets: d('sets'),
        size: l.size ?? null,
        maxSize: l.maxSize ?? null,
        ttlMs: l.ttlMs ?? null,
      });
    }
    return views;
  }
}

export function createPerformanceManager(options: PerformanceManagerOptions): PerformanceManager {
  return new PerformanceManager(options);
}

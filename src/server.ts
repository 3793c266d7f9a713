/**
 * Builds the Fastify app from a config. Used by `main.ts` and by tests (through `app.inject()`).
 * The app owns every resource it opens and closes them in its `onClose` hooks.
 */

import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { DestinationStream } from 'pino';
import { type Config, redactUrl } from './config.ts';
import { type Cache, createCache } from './perf/cache/index.ts';
import { createDatabase, type Database, IN_MEMORY } from './perf/db/index.ts';
import { ShuttingDownError } from './perf/errors.ts';
import { createHealthChecks, type HealthChecks } from './perf/health/index.ts';
import { createHttpClients, type HttpClients } from './perf/http/index.ts';
import {
  type ClusterMetrics,
  createClusterMetrics,
  createMetricsRegistry,
  type MetricsRegistry,
} from './perf/metrics/index.ts';
import {
  breakerSource,
  cacheSource,
  createPerformanceManager,
  createTransitionLog,
  type DatabaseSource,
  installRequestTiming,
  type PerformanceManager,
} from './perf/monitor/index.ts';
import type { Redis } from './perf/redis/index.ts';
import { createResilience, type Resilience } from './perf/resilience/index.ts';
import {
  clientErrorHandler,
  clientRequestId,
  createFrontLane,
  type FrontLane,
  frameworkErrors,
  genRequestId,
  installAuth,
  installBatch,
  installCompression,
  installErrorHandling,
  installHttpCache,
  installHttpMetrics,
  installJsonParser,
  installLoadShedding,
  installRateLimit,
  lazyChildLogger,
  MAX_PATH_PARAM_LENGTH,
  sendError,
} from './perf/web/index.ts';
import { registerPerformanceRoutes, registerSystemRoutes } from './platform/api/index.ts';
import { type ExperimentsPlatform, installExperiments } from './platform/experiments/index.ts';
import { type GatewayHooks, registerGatewayRoutes } from './platform/gateway/index.ts';
import { createProviders, type ProviderSet } from './platform/providers/index.ts';

export const VERSION = '0.1.0';

/** SQL migrations of the product tables, applied at start-up (a missing directory is fine). */
const MIGRATIONS_DIR = fileURLToPath(new URL('./platform/migrations', import.meta.url));

/** What runs where, for the start-up banner and the admin view. */
export interface Part {
  name: string;
  summary: string;
}

export interface Versus {
  config: Config;
  metrics: MetricsRegistry;
  clusterMetrics: ClusterMetrics;
  health: HealthChecks;
  redis: Redis | undefined;
  /** The tiered cache (L1 memory, plus Redis L2 and the bus when REDIS_URL is set). */
  cache: Cache;
  /** PostgreSQL pool (DATABASE_URL) or embedded PGlite, with the query cache. See docs/database.md. */
  db: Database;
  /** Experiments, event recording, feedback and results (set once the routes are installed). */
  experiments: ExperimentsPlatform;
  /** Monitoring, alerts and operator actions; undefined when ENABLE_PERFORMANCE_MONITORING=false. */
  performance: PerformanceManager | undefined;
  parts: Part[];
  /** True once shutdown has begun: new requests get 503 SHUTTING_DOWN. */
  closing: boolean;
  /** Upstream HTTP pools, one per provider origin. */
  http: HttpClients;
  /** Circuit breakers, retries, timeouts and bulkheads per model. */
  resilience: Resilience;
  providers: ProviderSet;
  /** The gateway's extension points; set `route`/`record` here to plug in experiments. */
  gatewayHooks: GatewayHooks;
  /** The listener ahead of Fastify that answers chat cache hits (docs/gateway.md, "The front lane"). */
  lane: FrontLane;
}

declare module 'fastify' {
  interface FastifyInstance {
    versus: Versus;
  }
}

export interface BuildOptions {
  /** Where logs go (tests capture them). @default stdout */
  logStream?: DestinationStream;
  /** Metrics registry to register into. @default a new one */
  metrics?: MetricsRegistry;
  /** Gateway hooks (experiments). @default none; they can also be set on `app.versus.gatewayHooks` */
  gatewayHooks?: GatewayHooks;
}

/** Paths pino must never print: keys and credentials in headers or in logged objects. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.authorization',
];

/** Request logs at debug: at info, two lines per request cost more than the request itself. */
class QuietLogController extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | undefined,
    _req: unknown,
    reply: { log: FastifyBaseLogger; statusCode: number; elapsedTime: number },
  ): void {
    if (error !== undefined) return; // the error handler logged it with context
    reply.log.debug({ status: reply.statusCode, ms: reply.elapsedTime }, 'request completed');
  }
  override routeNotFound(): void {}
}

export async function buildServer(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // Debug and trace log every request, which only Fastify's path does.
  const lane = createFrontLane({
    enabled: config.web.frontLane && config.server.logLevel !== 'debug' && config.server.logLevel !== 'trace',
  });
  const app = Fastify({
    logger: {
      level: config.server.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    logController: new QuietLogController(),
    genReqId: genRequestId,
    childLoggerFactory: lazyChildLogger,
    requestIdHeader: false,
    bodyLimit: config.server.bodyLimitBytes,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 72_000,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PATH_PARAM_LENGTH },
    // The router's and Node's HTTP parser's refusals get the error envelope too.
    frameworkErrors,
    clientErrorHandler,
    ...(lane.enabled ? { serverFactory: lane.serverFactory } : {}),
  });
  // JSON only: text/plain bodies get 415 like every other non-JSON type.
  app.removeContentTypeParser('text/plain');
  installJsonParser(app);

  const metrics = options.metrics ?? createMetricsRegistry();
  const health = createHealthChecks();
  const http = createHttpClients({ metrics });
  const g = config.gateway;
  const breakerTransitions = createTransitionLog();
  const resilience = createResilience({
    metrics,
    logger: app.log,
    onTransition: breakerTransitions.record,
    defaults: {
      timeoutMs: g.timeoutMs,
      retry: { maxAttempts: g.maxRetries + 1 },
      bulkhead: { maxConcurrent: g.maxConcurrency, maxQueue: g.queueSize },
      breaker: {
        threshold: g.breakerThreshold,
        windowMs: g.breakerWindowMs,
        minimumVolume: g.breakerMinRequests,
        openMs: g.breakerOpenMs,
        maxOpenMs: g.breakerMaxOpenMs,
      },
    },
  });
  const providers = await createProviders({ http, ...config.providers });
  app.addHook('onClose', async () => {
    resilience.close();
    await http.close();
    await providers.close();
  });
  const versus: Versus = {
    config,
    metrics,
    clusterMetrics: createClusterMetrics(metrics.registry),
    health,
    redis: undefined,
    cache: undefined as unknown as Cache,
    db: undefined as unknown as Database,
    experiments: undefined as unknown as ExperimentsPlatform,
    performance: undefined,
    parts: [],
    closing: false,
    http,
    resilience,
    providers,
    gatewayHooks: options.gatewayHooks ?? {},
    lane,
  };
  app.decorate('versus', versus);

  installErrorHandling(app);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const client = clientRequestId(request.raw);
    if (client !== undefined) reply.header('x-client-request-id', client);
    if (versus.closing && !request.url.startsWith('/health')) {
      reply.header('connection', 'close');
      sendError(reply, new ShuttingDownError('the server is shutting down; retry on another instance'));
      return;
    }
    done();
  });
  // Before auth: an overloaded instance should not spend CPU hashing keys for requests it sheds.
  const shedder = installLoadShedding(app, {
    maxEventLoopDelayMs: config.web.loadShedEventLoopDelayMs,
    maxRssBytes: config.web.loadShedRssMb * 2 ** 20,
    metrics,
  });
  const authenticate = installAuth(app, {
    clientKeys: config.auth.apiKeys,
    adminKey: config.auth.adminApiKey,
  });
  const observeReply = installHttpMetrics(app, metrics);
  if (config.monitoring.performanceMonitoring) {
    const performance = createPerformanceManager({
      targets: {
        responseTimeMs: config.targets.responseTimeMs,
        cacheHitRate: config.targets.cacheHitRate,
        memoryMb: config.targets.memoryUsageMb,
      },
      logger: app.log.child({ component: 'performance' }),
      metrics,
    });
    versus.performance = performance;
    performance.setBreakers(breakerSource(resilience, breakerTransitions));
    performance.addHttpClients(http);
    installRequestTiming(app, performance);
    app.addHook('onReady', () => performance.initialize());
    app.addHook('onClose', () => performance.close());
  }
  versus.parts.push({
    name: 'monitor',
    summary: config.monitoring.performanceMonitoring
      ? `GET /health/performance, /admin/performance (p95 target ${config.targets.responseTimeMs} ms, hit rate ${config.targets.cacheHitRate}, ${config.targets.memoryUsageMb} MB per worker)`
      : 'off (ENABLE_PERFORMANCE_MONITORING=false)',
  });

  if (config.redis.url !== undefined) {
    // Loaded only when configured: a worker without REDIS_URL does not carry the client.
    const { closeRedis, createRedisClient, pingRedis } = await import('./perf/redis/index.ts');
    const redis = createRedisClient(config.redis.url, {
      name: 'versus',
      onError: (err) =>
        app.log.warn({ err: { message: err.message } }, 'redis connection problem; serving without it'),
    });
    versus.redis = redis;
    health.add('redis', () => pingRedis(redis));
    app.addHook('onClose', () => closeRedis(redis));
  }
  const rateLimiter = installRateLimit(app, {
    limit: config.web.rateLimitRequests,
    windowMs: config.web.rateLimitWindowMs,
    redis: versus.redis,
    metrics,
  });
  // ETag before compression: onSend hooks run in registration order and the ETag is computed on
  // the identity body.
  installHttpCache(app);
  const compression = installCompression(app, {
    enabled: config.monitoring.performanceOptimization,
    threshold: config.web.compressionThresholdBytes,
    metrics,
  });
  // The lane's answers pass the same checks and feed the same metrics as Fastify's replies.
  lane.use({
    admit: () => !versus.closing && !shedder.state.overloaded,
    authenticate,
    rateLimiter,
    compression,
    observe(route, method, status, ms) {
      observeReply(route, method, status, ms);
      versus.performance?.recordRequest(ms, status);
    },
    warn: (context, message) => app.log.warn(context, message),
  });
  const cache = createCache({
    l1: { maxEntries: config.cache.memoryMaxSize },
    redis: versus.redis,
    l2: { timeout: config.cache.l2TimeoutMs },
    compression: { enabled: config.cache.compressionEnabled },
    metrics,
    logger: app.log,
  });
  versus.cache = cache;
  versus.performance?.addCache(cacheSource(cache));
  // Registered after the Redis hook: onClose hooks run in reverse, so the cache closes first.
  app.addHook('onClose', () => cache.close());
  versus.parts.push({ name: 'cache', summary: describeCache(cache, config) });

  const d = config.database;
  const db = await createDatabase({
    url: d.url,
    dataDir: d.dataDir,
    pgliteSharedBuffersMb: d.pgliteSharedBuffersMb,
    pgliteAnalyzeIntervalMs: d.pgliteAnalyzeIntervalMs,
    poolSize: d.poolSize,
    maxOverflow: d.maxOverflow,
    poolTimeoutMs: d.poolTimeoutMs,
    poolRecycleMs: d.poolRecycleMs,
    migrationsDir: MIGRATIONS_DIR,
    // Embedded PGlite takes seconds of CPU to start: it opens on first use (main.ts starts it in
    // the background right after listening), so liveness answers at once and readiness reports
    // the database until it is open. Most test apps never query it at all.
    lazy: d.url === undefined,
    cache: cache.namespace('db'),
    cacheEnabled: config.monitoring.performanceOptimization,
    metrics,
    logger: app.log,
    onQuery: (ms, failed) => versus.performance?.recordQuery(ms, failed),
  });
  versus.db = db;
  versus.performance?.setDatabase(databaseSource(db));
  health.add('database', () => db.ping());
  // Registered after the cache's hook: onClose hooks run in reverse, so the database closes first.
  app.addHook('onClose', () => db.close());
  versus.parts.push({
    name: 'database',
    summary:
      d.url !== undefined
        ? `PostgreSQL at ${redactUrl(d.url)}, pool ${d.poolSize} + ${d.maxOverflow} overflow, query cache on the tiered cache`
        : `PGlite ${d.dataDir === IN_MEMORY ? 'in memory' : `under ${d.dataDir}`}, query cache on the tiered cache; set DATABASE_URL for PostgreSQL`,
  });
  versus.parts.push({ name: 'providers', summary: providers.summary });

  registerSystemRoutes(app);
  registerGatewayRoutes(app, {
    catalogue: providers.catalogue,
    resilience,
    hooks: versus.gatewayHooks,
    cache: cache.namespace('gateway'),
    cacheTtlMs: g.cacheTtlMs,
    cacheEnabled: config.monitoring.performanceOptimization,
    fallbacks: g.fallbacks,
    metrics,
    lane,
  });
  versus.experiments = installExperiments(app, {
    db,
    cache,
    isKnownModel: (model) => providers.catalogue.resolve(model) !== undefined,
    markers: versus.redis,
    settings: { ...config.experiments, shutdownTimeoutMs: config.server.shutdownTimeoutMs },
  });
  installBatch(app, { maxItems: config.web.batchMaxItems, concurrency: config.web.batchConcurrency });
  registerPerformanceRoutes(app);
  return app;
}

/** The database layer as the monitor sees it: pool figures and the slowest statements. */
function databaseSource(db: Database): DatabaseSource {
  return {
    name: 'database',
    stats() {
      const p = db.stats().pool;
      const suggestions = new Map<string, string>();
      for (const r of db.slowQueries()) {
        const index = r.suggestions.find((x) => x.kind === 'index');
        if (index !== undefined && 'sql' in index) suggestions.set(r.fingerprint, index.sql);
      }
      return {
        pool: {
          size: p.size,
          max: p.size + p.maxOverflow,
          idle: p.idle,
          inUse: p.inUse,
          waiting: p.waiting,
          timeouts: p.timeouts,
        },
        slowQueries: db.worstStatements(10).map((w) => ({
          statement: w.statement,
          count: w.count,
          meanMs: w.meanMs,
          maxMs: w.maxMs,
          ...(suggestions.has(w.fingerprint) ? { suggestedIndex: suggestions.get(w.fingerprint)! } : {}),
        })),
      };
    },
  };
}

function describeCache(cache: Cache, config: Config): string {
  const l1 = `L1 memory (${config.cache.memoryMaxSize} entries)`;
  if (config.redis.url === undefined) return `${l1}; set REDIS_URL to add the Redis tier and bus`;
  const l2 = cache.stats().l2.enabled ? 'L2 Redis + invalidation bus' : 'Redis tier not yet available';
  return `${l1} + ${l2} at ${redactUrl(config.redis.url)}`;
}

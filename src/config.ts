/**
 * Environment -> one typed, validated configuration object.
 *
 * Every variable is declared once in `VARIABLES` with its default, its parser and a one-line
 * meaning; `loadConfig` parses them all, collects every problem, and throws one `ConfigError`
 * whose message has one line per bad variable. `docs/operations.md` lists the same variables (a
 * test keeps the two in step).
 */

import { readFileSync } from 'node:fs';
import { type PriceTable, parsePriceTable } from './platform/events/index.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  server: {
    host: string;
    port: number;
    webConcurrency: number;
    bodyLimitBytes: number;
    /** Listen backlog (LISTEN_BACKLOG). */
    listenBacklog: number;
    shutdownTimeoutMs: number;
    logLevel: LogLevel;
  };
  auth: {
    /** Client keys (API_KEYS). Empty: auth is off unless an admin key is set. */
    apiKeys: string[];
    adminApiKey: string | undefined;
  };
  redis: { url: string | undefined };
  cache: {
    memoryMaxSize: number;
    compressionEnabled: boolean;
    l2TimeoutMs: number;
  };
  database: {
    url: string | undefined;
    poolSize: number;
    maxOverflow: number;
    poolTimeoutMs: number;
    poolRecycleMs: number;
    /** Where the embedded PGlite database lives when DATABASE_URL is not set. */
    dataDir: string;
    /** PostgreSQL shared_buffers of the embedded PGlite database, MB. */
    pgliteSharedBuffersMb: number;
    /** How often the embedded PGlite database analyzes its changed tables, ms; 0: never. */
    pgliteAnalyzeIntervalMs: number;
  };
  targets: {
    responseTimeMs: number;
    cacheHitRate: number;
    memoryUsageMb: number;
  };
  monitoring: {
    prometheusEnabled: boolean;
    prometheusPort: number;
    performanceMonitoring: boolean;
    performanceOptimization: boolean;
  };
  web: {
    /** Response bodies below this size are sent uncompressed. */
    compressionThresholdBytes: number;
    /** Requests per window per client key; 0: no limit. */
    rateLimitRequests: number;
    rateLimitWindowMs: number;
    /** 0: no event-loop-delay shedding. */
    loadShedEventLoopDelayMs: number;
    /** 0: no memory shedding. */
    loadShedRssMb: number;
    batchMaxItems: number;
    batchConcurrency: number;
    /** Cache hits of the chat route answered ahead of Fastify (docs/gateway.md, "The front lane"). */
    frontLane: boolean;
  };
  experiments: {
    eventsFlushIntervalMs: number;
    eventsFlushBatch: number;
    eventsBufferMax: number;
    resultsMinIntervalMs: number;
    /** Event exports streaming at once per instance; more get 503 EXPORTS_BUSY. */
    exportsMaxConcurrent: number;
    /** Overrides and additions to the built-in price table (USD per million tokens). */
    modelPrices: PriceTable;
  };
  providers: {
    openai: { apiKey: string | undefined; baseUrl: string; models: string[]; enabled: boolean };
    anthropic: { apiKey: string | undefined; baseUrl: string; models: string[]; enabled: boolean };
    /** External mock provider (OpenAI API base URL); undefined starts one in-process. */
    mockUrl: string | undefined;
  };
  gateway: {
    /** Per model, the models tried in order when it is unavailable. */
    fallbacks: Record<string, string[]>;
    timeoutMs: number;
    maxRetries: number;
    maxConcurrency: number;
    queueSize: number;
    breakerThreshold: number;
    breakerWindowMs: number;
    breakerMinRequests: number;
    breakerOpenMs: number;
    breakerMaxOpenMs: number;
    cacheTtlMs: number;
  };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** A parser returns the value or throws a string that says what is allowed. */
type Parser<T> = (raw: string) => T;

interface Variable<T> {
  name: string;
  /** Default as the user would write it; undefined means "not set". */
  default: string | undefined;
  parse: Parser<T>;
  secret?: boolean;
  /** One line for docs/operations.md. */
  doc: string;
}

function int(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw)) throw `expected an integer from ${min} to ${max}`;
    const n = Number(raw);
    if (n < min || n > max) throw `expected an integer from ${min} to ${max}`;
    return n;
  };
}

function num(min: number, max: number, what = 'a number'): Parser<number> {
  return (raw) => {
    const n = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw `expected ${what} from ${min} to ${max}`;
    return n;
  };
}

function seconds(min: number, max: number): Parser<number> {
  const parse = num(min, max, 'a number of seconds');
  return (raw) => Math.round(parse(raw) * 1000);
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw 'expected true or false';
};

function url(protocols: string[]): Parser<string> {
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
    }
    if (!protocols.includes(parsed.protocol)) {
      throw `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
    }
    return raw;
  };
}

const MIN_KEY_LENGTH = 16;
const keyPattern = /^[\x21-\x7e]+$/;

function key(raw: string): string {
  const k = raw.trim();
  if (k.length < MIN_KEY_LENGTH || !keyPattern.test(k)) {
    throw `expected a key of at least ${MIN_KEY_LENGTH} printable characters without spaces`;
  }
  return k;
}

const keyList: Parser<string[]> = (raw) => {
  const keys = raw
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (keys.length === 0) throw 'expected a comma-separated list of keys';
  return keys.map(key);
};

const optional =
  <T>(p: Parser<T>): Parser<T | undefined> =>
  (raw) =>
    raw.trim() === '' ? undefined : p(raw);

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const logLevel: Parser<LogLevel> = (raw) => {
  const v = raw.trim().toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(v)) throw `expected one of ${LOG_LEVELS.join(', ')}`;
  return v;
};

const host: Parser<string> = (raw) => {
  const v = raw.trim();
  if (v === '' || /\s|\//.test(v)) throw 'expected a host name or IP address such as 127.0.0.1 or 0.0.0.0';
  return v;
};

const path: Parser<string> = (raw) => {
  if (raw.trim() === '') throw 'expected a directory path';
  return raw;
};

/** MODEL_PRICES: inline JSON, or the path of a JSON file. */
const priceTable: Parser<PriceTable> = (raw) => {
  const text = raw.trim();
  if (text.startsWith('{')) return parsePriceTable(text);
  let content: string;
  try {
    content = readFileSync(text, 'utf8');
  } catch {
    throw 'expected inline JSON or the path of a readable JSON file';
  }
  return parsePriceTable(content);
};

const modelList: Parser<string[]> = (raw) => {
  const models = raw
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (models.length === 0 || models.some((m) => /\s/.test(m)))
    throw 'expected a comma-separated list of model ids';
  return models;
};

const MODEL_ID = /^[\w.-]+\/[\w.:@/-]+$/;
const fallbackMap: Parser<Record<string, string[]>> = (raw) => {
  const map: Record<string, string[]> = {};
  for (const entry of raw
    .split(';')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const [model, chain, extra] = entry.split('=').map((p) => p.trim());
    const fallbacks = (chain ?? '')
      .split('|')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    if (
      extra !== undefined ||
      !MODEL_ID.test(model ?? '') ||
      fallbacks.length === 0 ||
      !fallbacks.every((m) => MODEL_ID.test(m))
    ) {
      throw 'expected entries like provider/model=provider/fallback1|provider/fallback2, separated by ;';
    }
    map[model!] = fallbacks;
  }
  return map;
};

/** The variables, in the order docs/operations.md lists them. */
export const VARIABLES = {
  PORT: { name: 'PORT', default: '3000', parse: int(0, 65535), doc: 'HTTP port (0 picks a free one).' },
  HOST: {
    name: 'HOST',
    default: undefined,
    parse: optional(host),
    doc: 'Interface to listen on. Default 127.0.0.1 when no API keys are configured, 0.0.0.0 otherwise, so an unauthenticated server is never exposed by accident.',
  },
  WEB_CONCURRENCY: {
    name: 'WEB_CONCURRENCY',
    default: '1',
    parse: int(1, 64),
    doc: 'Worker processes (node:cluster). Above 1 needs DATABASE_URL: the embedded database belongs to one process.',
  },
  LOG_LEVEL: { name: 'LOG_LEVEL', default: 'info', parse: logLevel, doc: 'pino log level.' },
  BODY_LIMIT_BYTES: {
    name: 'BODY_LIMIT_BYTES',
    default: '1048576',
    parse: int(1024, 100 * 1024 * 1024),
    doc: 'Largest request body accepted; larger bodies get 413 PAYLOAD_TOO_LARGE.',
  },
  LISTEN_BACKLOG: {
    name: 'LISTEN_BACKLOG',
    default: '2048',
    parse: int(1, 65_535),
    doc: "Connections the kernel queues for the server to accept (capped by the kernel's somaxconn). Node's default of 511 leaves clients beyond it retrying their connection for seconds when many connect at once.",
  },
  SHUTDOWN_TIMEOUT_MS: {
    name: 'SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    parse: int(0, 600_000),
    doc: 'On SIGTERM/SIGINT, how long in-flight requests may run before connections are cut.',
  },
  API_KEYS: {
    name: 'API_KEYS',
    default: undefined,
    parse: optional(keyList),
    secret: true,
    doc: `Comma-separated client keys (each at least ${MIN_KEY_LENGTH} characters). When set, /v1/* needs one of them or the admin key.`,
  },
  ADMIN_API_KEY: {
    name: 'ADMIN_API_KEY',
    default: undefined,
    parse: optional(key),
    secret: true,
    doc: 'Admin key for /admin/* and /metrics (and every /v1 route).',
  },
  REDIS_URL: {
    name: 'REDIS_URL',
    default: undefined,
    parse: optional(url(['redis:', 'rediss:'])),
    secret: true,
    doc: 'Redis for the L2 cache tier, the invalidation bus and shared rate limits. Unset: memory-only.',
  },
  CACHE_MEMORY_MAX_SIZE: {
    name: 'CACHE_MEMORY_MAX_SIZE',
    default: '10000',
    parse: int(1, 100_000_000),
    doc: 'Entries kept in the in-memory L1 cache tier.',
  },
  CACHE_COMPRESSION_ENABLED: {
    name: 'CACHE_COMPRESSION_ENABLED',
    default: 'true',
    parse: bool,
    doc: 'Compress L2 (Redis) values above the compression threshold.',
  },
  CACHE_L2_TIMEOUT_MS: {
    name: 'CACHE_L2_TIMEOUT_MS',
    default: '50',
    parse: int(1, 60_000),
    doc: 'Time allowed to each Redis (L2) cache call before it counts as a failure and the request is served from memory or the source.',
  },
  DATABASE_URL: {
    name: 'DATABASE_URL',
    default: undefined,
    parse: optional(url(['postgres:', 'postgresql:'])),
    secret: true,
    doc: 'PostgreSQL connection URL. Unset: embedded PGlite under DATA_DIR.',
  },
  DATA_DIR: {
    name: 'DATA_DIR',
    default: './data',
    parse: path,
    doc: "Directory for the embedded PGlite database (in `<DATA_DIR>/pglite`); ':memory:' keeps it in memory (tests).",
  },
  PGLITE_SHARED_BUFFERS_MB: {
    name: 'PGLITE_SHARED_BUFFERS_MB',
    default: '16',
    parse: int(1, 4096),
    doc: "PostgreSQL's shared_buffers for the embedded PGlite database, MB. Its pages are also in PGlite's file system, so a larger pool mostly holds the same data twice (docs/database.md).",
  },
  PGLITE_ANALYZE_INTERVAL_MS: {
    name: 'PGLITE_ANALYZE_INTERVAL_MS',
    default: '60000',
    parse: int(0, 86_400_000),
    doc: 'How often the embedded PGlite database analyzes the tables that changed since their last ANALYZE, ms (it has no autovacuum); 0 turns it off.',
  },
  DATABASE_POOL_SIZE: {
    name: 'DATABASE_POOL_SIZE',
    default: '20',
    parse: int(1, 1000),
    doc: 'PostgreSQL connections kept open.',
  },
  DATABASE_MAX_OVERFLOW: {
    name: 'DATABASE_MAX_OVERFLOW',
    default: '30',
    parse: int(0, 1000),
    doc: 'Extra connections opened under load and closed again when idle.',
  },
  DATABASE_POOL_TIMEOUT: {
    name: 'DATABASE_POOL_TIMEOUT',
    default: '30',
    parse: seconds(0.001, 3600),
    doc: 'Seconds to wait for a free connection before failing with DB_POOL_TIMEOUT (503).',
  },
  DATABASE_POOL_RECYCLE: {
    name: 'DATABASE_POOL_RECYCLE',
    default: '3600',
    parse: seconds(1, 86400 * 7),
    doc: 'Seconds a connection may live before it is replaced.',
  },
  TARGET_RESPONSE_TIME_MS: {
    name: 'TARGET_RESPONSE_TIME_MS',
    default: '200',
    parse: num(1, 600_000),
    doc: 'p95 response-time target used by /health/performance, alerts and recommendations.',
  },
  TARGET_CACHE_HIT_RATE: {
    name: 'TARGET_CACHE_HIT_RATE',
    default: '0.8',
    parse: num(0, 1),
    doc: 'Cache hit-rate target (0 to 1).',
  },
  TARGET_MEMORY_USAGE_MB: {
    name: 'TARGET_MEMORY_USAGE_MB',
    default: '512',
    parse: num(16, 1_048_576),
    doc: 'Memory budget per worker in MB; a warning fires at 80%.',
  },
  ENABLE_PROMETHEUS: {
    name: 'ENABLE_PROMETHEUS',
    default: 'false',
    parse: bool,
    doc: 'Also serve /metrics, without auth, on PROMETHEUS_PORT.',
  },
  PROMETHEUS_PORT: {
    name: 'PROMETHEUS_PORT',
    default: '8000',
    parse: int(0, 65535),
    doc: 'Port of the separate metrics listener.',
  },
  ENABLE_PERFORMANCE_MONITORING: {
    name: 'ENABLE_PERFORMANCE_MONITORING',
    default: 'true',
    parse: bool,
    doc: 'Memory monitor, windowed latency histograms, alerts and trends.',
  },
  ENABLE_PERFORMANCE_OPTIMIZATION: {
    name: 'ENABLE_PERFORMANCE_OPTIMIZATION',
    default: 'true',
    parse: bool,
    doc: 'Response caching, compression and query caching; false runs Versus without them (to measure their effect).',
  },
  COMPRESSION_THRESHOLD_BYTES: {
    name: 'COMPRESSION_THRESHOLD_BYTES',
    default: '1024',
    parse: int(0, 100 * 1024 * 1024),
    doc: 'Response bodies smaller than this are sent uncompressed (compression is off with ENABLE_PERFORMANCE_OPTIMIZATION=false).',
  },
  RATE_LIMIT_REQUESTS: {
    name: 'RATE_LIMIT_REQUESTS',
    default: '0',
    parse: int(0, 1_000_000_000),
    doc: 'Requests per RATE_LIMIT_WINDOW_S per client key on /v1/* (429 RATE_LIMITED past it); 0: no limit. Shared across instances through REDIS_URL.',
  },
  RATE_LIMIT_WINDOW_S: {
    name: 'RATE_LIMIT_WINDOW_S',
    default: '60',
    parse: int(1, 86_400),
    doc: 'Length of the sliding rate-limit window in seconds.',
  },
  LOAD_SHED_EVENT_LOOP_DELAY_MS: {
    name: 'LOAD_SHED_EVENT_LOOP_DELAY_MS',
    default: '1000',
    parse: int(0, 600_000),
    doc: 'Answer new requests 503 OVERLOADED while the p99 event-loop delay exceeds this in two seconds in a row (one stalled second is not shed); 0: off. /health and /metrics are never shed.',
  },
  LOAD_SHED_RSS_MB: {
    name: 'LOAD_SHED_RSS_MB',
    default: '1024',
    parse: int(0, 1_048_576),
    doc: 'Answer new requests 503 OVERLOADED while the resident memory exceeds this many MB (twice the seed budget of 512 MB per worker); 0: off.',
  },
  BATCH_MAX_ITEMS: {
    name: 'BATCH_MAX_ITEMS',
    default: '100',
    parse: int(1, 10_000),
    doc: 'Most chat-completion requests in one POST /v1/batch (400 BATCH_TOO_LARGE past it).',
  },
  BATCH_CONCURRENCY: {
    name: 'BATCH_CONCURRENCY',
    default: '8',
    parse: int(1, 1000),
    doc: 'Items of one batch run at the same time.',
  },
  FRONT_LANE: {
    name: 'FRONT_LANE',
    default: 'true',
    parse: bool,
    doc: 'Answer response-cache hits of POST /v1/chat/completions ahead of Fastify, with the same checks and headers; false sends every request through Fastify (off at LOG_LEVEL debug and trace, which log every request).',
  },
  OPENAI_API_KEY: {
    name: 'OPENAI_API_KEY',
    default: undefined,
    parse: optional((raw) => raw.trim()),
    secret: true,
    doc: 'Key for the OpenAI-compatible provider (`openai/...` models).',
  },
  OPENAI_BASE_URL: {
    name: 'OPENAI_BASE_URL',
    default: 'https://api.openai.com/v1',
    parse: url(['http:', 'https:']),
    doc: 'Base URL of the OpenAI-compatible provider (OpenAI, vLLM, Ollama, ...).',
  },
  ANTHROPIC_API_KEY: {
    name: 'ANTHROPIC_API_KEY',
    default: undefined,
    parse: optional((raw) => raw.trim()),
    secret: true,
    doc: 'Key for the Anthropic Messages API (`anthropic/...` models).',
  },
  EVENTS_FLUSH_INTERVAL_MS: {
    name: 'EVENTS_FLUSH_INTERVAL_MS',
    default: '200',
    parse: int(1, 60_000),
    doc: 'Experiment events are written to the database at least this often (write-behind).',
  },
  EVENTS_FLUSH_BATCH: {
    name: 'EVENTS_FLUSH_BATCH',
    default: '5000',
    parse: int(1, 100_000),
    doc: 'Events per database write; a full batch is written at once.',
  },
  EVENTS_BUFFER_MAX: {
    name: 'EVENTS_BUFFER_MAX',
    default: '200000',
    parse: int(100, 10_000_000),
    doc: 'Events held in memory while the database is slow or down; beyond it new events are dropped and counted.',
  },
  RESULTS_MIN_INTERVAL_MS: {
    name: 'RESULTS_MIN_INTERVAL_MS',
    default: '2000',
    parse: int(0, 600_000),
    doc: 'Experiment results are recomputed at most this often per instance under write load.',
  },
  EXPORTS_MAX_CONCURRENT: {
    name: 'EXPORTS_MAX_CONCURRENT',
    default: '4',
    parse: int(1, 256),
    doc: 'Event exports (GET /v1/experiments/:id/events) streaming at once per instance; more are answered 503 EXPORTS_BUSY with Retry-After. Each holds pages of rows in memory while it streams.',
  },
  MODEL_PRICES: {
    name: 'MODEL_PRICES',
    default: undefined,
    parse: optional(priceTable),
    doc: 'Price overrides for cost_usd: JSON (or a JSON file path) of model to {"input", "output"} USD per million tokens.',
  },
  ANTHROPIC_BASE_URL: {
    name: 'ANTHROPIC_BASE_URL',
    default: 'https://api.anthropic.com',
    parse: url(['http:', 'https:']),
    doc: 'Base URL of the Anthropic API.',
  },
  OPENAI_MODELS: {
    name: 'OPENAI_MODELS',
    default: 'gpt-4o-mini,gpt-4o,gpt-4.1-mini',
    parse: modelList,
    doc: 'Models routable as `openai/<id>` (when OPENAI_API_KEY is set or OPENAI_BASE_URL is changed).',
  },
  ANTHROPIC_MODELS: {
    name: 'ANTHROPIC_MODELS',
    default: 'claude-sonnet-4-5,claude-haiku-4-5',
    parse: modelList,
    doc: 'Models routable as `anthropic/<id>` (when ANTHROPIC_API_KEY is set or ANTHROPIC_BASE_URL is changed).',
  },
  MOCK_PROVIDER_URL: {
    name: 'MOCK_PROVIDER_URL',
    default: undefined,
    parse: optional(url(['http:', 'https:'])),
    doc: 'OpenAI API base URL of a separately run mock provider (`npm run mock-provider`). Unset: one starts in-process on a free port.',
  },
  MODEL_FALLBACKS: {
    name: 'MODEL_FALLBACKS',
    default: undefined,
    parse: optional(fallbackMap),
    doc: 'Fallback chains: `provider/model=provider/fb1|provider/fb2;...`. A fallback serves when the model is open-circuited or out of retries.',
  },
  PROVIDER_TIMEOUT_MS: {
    name: 'PROVIDER_TIMEOUT_MS',
    default: '30000',
    parse: int(0, 3_600_000),
    doc: 'Per-attempt timeout to the first byte of a provider answer (0: none).',
  },
  PROVIDER_MAX_RETRIES: {
    name: 'PROVIDER_MAX_RETRIES',
    default: '2',
    parse: int(0, 10),
    doc: 'Retries after a failed attempt (connect error, 429, 5xx, timeout); never for other 4xx.',
  },
  PROVIDER_MAX_CONCURRENCY: {
    name: 'PROVIDER_MAX_CONCURRENCY',
    default: '256',
    parse: int(1, 100_000),
    doc: 'Calls in flight per model (bulkhead).',
  },
  PROVIDER_QUEUE_SIZE: {
    name: 'PROVIDER_QUEUE_SIZE',
    default: '2048',
    parse: int(0, 100_000),
    doc: 'Calls waiting per model when the bulkhead is full; beyond it 503 BULKHEAD_FULL.',
  },
  BREAKER_FAILURE_THRESHOLD: {
    name: 'BREAKER_FAILURE_THRESHOLD',
    default: '0.5',
    parse: num(0.01, 1),
    doc: "Failure share over the window that opens a model's circuit breaker.",
  },
  BREAKER_WINDOW_MS: {
    name: 'BREAKER_WINDOW_MS',
    default: '10000',
    parse: int(100, 3_600_000),
    doc: "Sliding window of the breaker's failure rate.",
  },
  BREAKER_MIN_REQUESTS: {
    name: 'BREAKER_MIN_REQUESTS',
    default: '10',
    parse: int(1, 1_000_000),
    doc: 'Calls needed in the window before the breaker may open.',
  },
  BREAKER_OPEN_MS: {
    name: 'BREAKER_OPEN_MS',
    default: '5000',
    parse: int(1, 3_600_000),
    doc: 'Open interval before the first half-open probe; doubles after each failed probe.',
  },
  BREAKER_MAX_OPEN_MS: {
    name: 'BREAKER_MAX_OPEN_MS',
    default: '60000',
    parse: int(1, 86_400_000),
    doc: 'Longest open interval.',
  },
  RESPONSE_CACHE_TTL_S: {
    name: 'RESPONSE_CACHE_TTL_S',
    default: '3600',
    parse: seconds(1, 30 * 86400),
    doc: 'Seconds a cached chat completion is served.',
  },
} satisfies Record<string, Variable<unknown>>;

type Vars = typeof VARIABLES;
type Parsed = { [K in keyof Vars]: ReturnType<Vars[K]['parse']> };

/** Shows a value in an error message without leaking secrets. */
function show(variable: Variable<unknown>, raw: string): string {
  if (variable.secret) return `(${raw.length} characters, not shown)`;
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
}

/** Parses and validates the environment. Throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const variable of Object.values(VARIABLES) as Variable<unknown>[]) {
    const given = env[variable.name];
    const raw = given ?? variable.default;
    if (raw === undefined) {
      values[variable.name] = undefined;
      continue;
    }
    try {
      values[variable.name] = variable.parse(raw);
    } catch (allowed) {
      const what = typeof allowed === 'string' ? allowed : String(allowed);
      problems.push(`${variable.name}=${show(variable, raw)} is not valid: ${what}`);
    }
  }
  const v = values as Parsed;
  if (problems.length === 0) {
    if (v.WEB_CONCURRENCY > 1 && v.DATABASE_URL === undefined) {
      problems.push(
        `WEB_CONCURRENCY=${v.WEB_CONCURRENCY} needs DATABASE_URL: the embedded PGlite database belongs to one process; set DATABASE_URL or use WEB_CONCURRENCY=1`,
      );
    }
    if (v.BREAKER_MAX_OPEN_MS < v.BREAKER_OPEN_MS) {
      problems.push(
        `BREAKER_MAX_OPEN_MS=${v.BREAKER_MAX_OPEN_MS} is not valid: it must be at least BREAKER_OPEN_MS (${v.BREAKER_OPEN_MS})`,
      );
    }
    if (v.ENABLE_PROMETHEUS && v.PROMETHEUS_PORT !== 0 && v.PROMETHEUS_PORT === v.PORT) {
      problems.push(`PROMETHEUS_PORT=${v.PROMETHEUS_PORT} is not valid: it must differ from PORT`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const apiKeys = v.API_KEYS ?? [];
  const authOn = apiKeys.length > 0 || v.ADMIN_API_KEY !== undefined;
  return {
    server: {
      host: v.HOST ?? (authOn ? '0.0.0.0' : '127.0.0.1'),
      port: v.PORT,
      webConcurrency: v.WEB_CONCURRENCY,
      bodyLimitBytes: v.BODY_LIMIT_BYTES,
      listenBacklog: v.LISTEN_BACKLOG,
      shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
      logLevel: v.LOG_LEVEL,
    },
    auth: { apiKeys, adminApiKey: v.ADMIN_API_KEY },
    redis: { url: v.REDIS_URL },
    cache: {
      memoryMaxSize: v.CACHE_MEMORY_MAX_SIZE,
      compressionEnabled: v.CACHE_COMPRESSION_ENABLED,
      l2TimeoutMs: v.CACHE_L2_TIMEOUT_MS,
    },
    database: {
      url: v.DATABASE_URL,
      poolSize: v.DATABASE_POOL_SIZE,
      maxOverflow: v.DATABASE_MAX_OVERFLOW,
      poolTimeoutMs: v.DATABASE_POOL_TIMEOUT,
      poolRecycleMs: v.DATABASE_POOL_RECYCLE,
      dataDir: v.DATA_DIR,
      pgliteSharedBuffersMb: v.PGLITE_SHARED_BUFFERS_MB,
      pgliteAnalyzeIntervalMs: v.PGLITE_ANALYZE_INTERVAL_MS,
    },
    targets: {
      responseTimeMs: v.TARGET_RESPONSE_TIME_MS,
      cacheHitRate: v.TARGET_CACHE_HIT_RATE,
      memoryUsageMb: v.TARGET_MEMORY_USAGE_MB,
    },
    monitoring: {
      prometheusEnabled: v.ENABLE_PROMETHEUS,
      prometheusPort: v.PROMETHEUS_PORT,
      performanceMonitoring: v.ENABLE_PERFORMANCE_MONITORING,
      performanceOptimization: v.ENABLE_PERFORMANCE_OPTIMIZATION,
    },
    web: {
      compressionThresholdBytes: v.COMPRESSION_THRESHOLD_BYTES,
      rateLimitRequests: v.RATE_LIMIT_REQUESTS,
      rateLimitWindowMs: v.RATE_LIMIT_WINDOW_S * 1000,
      loadShedEventLoopDelayMs: v.LOAD_SHED_EVENT_LOOP_DELAY_MS,
      loadShedRssMb: v.LOAD_SHED_RSS_MB,
      batchMaxItems: v.BATCH_MAX_ITEMS,
      batchConcurrency: v.BATCH_CONCURRENCY,
      frontLane: v.FRONT_LANE,
    },
    experiments: {
      eventsFlushIntervalMs: v.EVENTS_FLUSH_INTERVAL_MS,
      eventsFlushBatch: v.EVENTS_FLUSH_BATCH,
      eventsBufferMax: v.EVENTS_BUFFER_MAX,
      resultsMinIntervalMs: v.RESULTS_MIN_INTERVAL_MS,
      exportsMaxConcurrent: v.EXPORTS_MAX_CONCURRENT,
      modelPrices: v.MODEL_PRICES ?? {},
    },
    providers: {
      openai: {
        apiKey: v.OPENAI_API_KEY,
        baseUrl: v.OPENAI_BASE_URL,
        models: v.OPENAI_MODELS,
        enabled: v.OPENAI_API_KEY !== undefined || v.OPENAI_BASE_URL !== VARIABLES.OPENAI_BASE_URL.default,
      },
      anthropic: {
        apiKey: v.ANTHROPIC_API_KEY,
        baseUrl: v.ANTHROPIC_BASE_URL,
        models: v.ANTHROPIC_MODELS,
        enabled:
          v.ANTHROPIC_API_KEY !== undefined || v.ANTHROPIC_BASE_URL !== VARIABLES.ANTHROPIC_BASE_URL.default,
      },
      mockUrl: v.MOCK_PROVIDER_URL,
    },
    gateway: {
      fallbacks: v.MODEL_FALLBACKS ?? {},
      timeoutMs: v.PROVIDER_TIMEOUT_MS,
      maxRetries: v.PROVIDER_MAX_RETRIES,
      maxConcurrency: v.PROVIDER_MAX_CONCURRENCY,
      queueSize: v.PROVIDER_QUEUE_SIZE,
      breakerThreshold: v.BREAKER_FAILURE_THRESHOLD,
      breakerWindowMs: v.BREAKER_WINDOW_MS,
      breakerMinRequests: v.BREAKER_MIN_REQUESTS,
      breakerOpenMs: v.BREAKER_OPEN_MS,
      breakerMaxOpenMs: v.BREAKER_MAX_OPEN_MS,
      cacheTtlMs: v.RESPONSE_CACHE_TTL_S,
    },
  };
}

/** A config for tests: embedded defaults with overrides applied on top of an env map. */
export function testConfig(env: Env = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: ':memory:', ...env });
}

/**
 * Query parameters of a connection URL that carry a secret: node-postgres reads `password`,
 * `sslpassword` and `sslkey` from the query string as well as from the URL's user part.
 */
const SECRET_PARAMS = ['password', 'sslpassword', 'sslkey', 'pass', 'token'];

/** Strips the password (in the user part or the query string) from a connection URL so it can be printed. */
export function redactUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const u = new URL(raw);
    if (u.password !== '') u.password = '***';
    for (const name of [...u.searchParams.keys()]) {
      if (SECRET_PARAMS.includes(name.toLowerCase())) u.searchParams.set(name, '***');
    }
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

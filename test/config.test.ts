import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactUrl, VARIABLES } from '../src/config.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config', () => {
  it('has the documented defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.server).toEqual({
      host: '127.0.0.1',
      port: 3000,
      webConcurrency: 1,
      bodyLimitBytes: 1024 * 1024,
      listenBacklog: 2048,
      shutdownTimeoutMs: 10_000,
      logLevel: 'info',
    });
    expect(c.cache).toEqual({ memoryMaxSize: 10_000, compressionEnabled: true, l2TimeoutMs: 50 });
    expect(c.database).toMatchObject({
      url: undefined,
      poolSize: 20,
      maxOverflow: 30,
      poolTimeoutMs: 30_000,
      poolRecycleMs: 3_600_000,
      dataDir: './data',
      pgliteSharedBuffersMb: 16,
      pgliteAnalyzeIntervalMs: 60_000,
    });
    expect(c.targets).toEqual({ responseTimeMs: 200, cacheHitRate: 0.8, memoryUsageMb: 512 });
    expect(c.monitoring).toEqual({
      prometheusEnabled: false,
      prometheusPort: 8000,
      performanceMonitoring: true,
      performanceOptimization: true,
    });
    expect(c.redis.url).toBeUndefined();
    expect(c.auth).toEqual({ apiKeys: [], adminApiKey: undefined });
    expect(c.providers.openai.baseUrl).toBe('https://api.openai.com/v1');
  });

  it('parses valid values of every kind', () => {
    const c = loadConfig({
      PORT: '8080',
      WEB_CONCURRENCY: '4',
      DATABASE_URL: 'postgres://u:p@db:5432/versus',
      REDIS_URL: 'redis://cache:6379/1',
      CACHE_COMPRESSION_ENABLED: 'FALSE',
      ENABLE_PROMETHEUS: 'yes',
      DATABASE_POOL_TIMEOUT: '2.5',
      TARGET_CACHE_HIT_RATE: '0.95',
      API_KEYS: ' client-key-0123456789 , other-key-0123456789 ',
      ADMIN_API_KEY: 'admin-key-0123456789',
      LOG_LEVEL: 'DEBUG',
      LISTEN_BACKLOG: '4096',
    });
    expect(c.server.port).toBe(8080);
    expect(c.server.listenBacklog).toBe(4096);
    expect(c.server.webConcurrency).toBe(4);
    expect(c.server.logLevel).toBe('debug');
    expect(c.cache.compressionEnabled).toBe(false);
    expect(c.monitoring.prometheusEnabled).toBe(true);
    expect(c.database.poolTimeoutMs).toBe(2500);
    expect(c.targets.cacheHitRate).toBe(0.95);
    expect(c.auth.apiKeys).toEqual(['client-key-0123456789', 'other-key-0123456789']);
    // With keys configured the default host opens up to every interface.
    expect(c.server.host).toBe('0.0.0.0');
  });

  it.each([
    ['PORT', 'abc', 'PORT="abc" is not valid: expected an integer from 0 to 65535'],
    ['PORT', '70000', 'PORT="70000" is not valid: expected an integer from 0 to 65535'],
    ['PORT', '3.5', 'expected an integer'],
    ['WEB_CONCURRENCY', '0', 'WEB_CONCURRENCY="0" is not valid: expected an integer from 1 to 64'],
    ['LISTEN_BACKLOG', '0', 'LISTEN_BACKLOG="0" is not valid: expected an integer from 1 to 65535'],
    [
      'CACHE_COMPRESSION_ENABLED',
      'maybe',
      'CACHE_COMPRESSION_ENABLED="maybe" is not valid: expected true or false',
    ],
    [
      'TARGET_CACHE_HIT_RATE',
      '1.5',
      'TARGET_CACHE_HIT_RATE="1.5" is not valid: expected a number from 0 to 1',
    ],
    ['TARGET_RESPONSE_TIME_MS', '', 'expected a number'],
    ['DATABASE_POOL_TIMEOUT', '-1', 'expected a number of seconds'],
    [
      'LOG_LEVEL',
      'loud',
      'LOG_LEVEL="loud" is not valid: expected one of fatal, error, warn, info, debug, trace, silent',
    ],
    ['HOST', 'a b', 'HOST="a b" is not valid: expected a host name'],
    [
      'OPENAI_BASE_URL',
      'ftp://x',
      'OPENAI_BASE_URL="ftp://x" is not valid: expected a URL starting with http:// or https://',
    ],
    ['BODY_LIMIT_BYTES', '10', 'expected an integer from 1024'],
  ])('rejects %s=%j with one line naming it', (name, value, expected) => {
    const found = problems({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
    expect(found[0]).not.toContain('\n');
  });

  it('never shows a secret value in an error', () => {
    const found = problems({
      REDIS_URL: 'http://user:hunter2-secret@host',
      API_KEYS: 'short',
      DATABASE_URL: 'mysql://root:hunter2-secret@db',
    });
    expect(found).toHaveLength(3);
    for (const line of found) {
      expect(line).not.toContain('hunter2');
      expect(line).toContain('not shown');
    }
    expect(found.join('\n')).toContain(
      'API_KEYS=(5 characters, not shown) is not valid: expected a key of at least 16',
    );
  });

  it('refuses a PGlite shared_buffers outside 1-4096 MB, naming the variable', () => {
    expect(loadConfig({ PGLITE_SHARED_BUFFERS_MB: '64' }).database.pgliteSharedBuffersMb).toBe(64);
    const [line] = problems({ PGLITE_SHARED_BUFFERS_MB: '0' });
    expect(line).toBe('PGLITE_SHARED_BUFFERS_MB="0" is not valid: expected an integer from 1 to 4096');
    expect(problems({ PGLITE_SHARED_BUFFERS_MB: '16MB' })).toHaveLength(1);
  });

  it('takes 0 to turn the PGlite analyze rounds off and refuses a negative interval', () => {
    expect(loadConfig({ PGLITE_ANALYZE_INTERVAL_MS: '0' }).database.pgliteAnalyzeIntervalMs).toBe(0);
    expect(problems({ PGLITE_ANALYZE_INTERVAL_MS: '-1' })).toEqual([
      'PGLITE_ANALYZE_INTERVAL_MS="-1" is not valid: expected an integer from 0 to 86400000',
    ]);
  });

  it('reports every bad variable at once', () => {
    expect(problems({ PORT: 'x', LOG_LEVEL: 'y', WEB_CONCURRENCY: 'z' })).toHaveLength(3);
  });

  it('needs DATABASE_URL for more than one worker', () => {
    const [line] = problems({ WEB_CONCURRENCY: '2' });
    expect(line).toMatch(/^WEB_CONCURRENCY=2 needs DATABASE_URL/);
    expect(problems({ WEB_CONCURRENCY: '2', DATABASE_URL: 'postgres://localhost/x' })).toEqual([]);
  });

  it('refuses a metrics port equal to the main port', () => {
    expect(problems({ ENABLE_PROMETHEUS: 'true', PORT: '9000', PROMETHEUS_PORT: '9000' })[0]).toContain(
      'PROMETHEUS_PORT=9000 is not valid',
    );
  });

  it('redacts passwords in URLs it prints', () => {
    expect(redactUrl('postgres://user:secret@db:5432/x')).toBe('postgres://user:***@db:5432/x');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    // node-postgres takes the password from the query string too.
    const withQuery = redactUrl('postgres://u:a@db/x?password=s3cret&sslmode=require&SSLPassword=k3y')!;
    expect(withQuery).not.toMatch(/s3cret|k3y/);
    expect(withQuery).toBe('postgres://u:***@db/x?password=***&sslmode=require&SSLPassword=***');
  });

  it('declares every variable DESIGN.md names', () => {
    const names = Object.keys(VARIABLES);
    for (const n of [
      'REDIS_URL',
      'CACHE_MEMORY_MAX_SIZE',
      'CACHE_COMPRESSION_ENABLED',
      'DATABASE_URL',
      'DATABASE_POOL_SIZE',
      'DATABASE_MAX_OVERFLOW',
      'DATABASE_POOL_TIMEOUT',
      'DATABASE_POOL_RECYCLE',
      'TARGET_RESPONSE_TIME_MS',
      'TARGET_CACHE_HIT_RATE',
      'TARGET_MEMORY_USAGE_MB',
      'ENABLE_PROMETHEUS',
      'PROMETHEUS_PORT',
      'ENABLE_PERFORMANCE_MONITORING',
      'ENABLE_PERFORMANCE_OPTIMIZATION',
      'PORT',
      'HOST',
      'WEB_CONCURRENCY',
      'API_KEYS',
      'ADMIN_API_KEY',
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
      'ANTHROPIC_API_KEY',
      'LOG_LEVEL',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('stops the process with exit code 2 and one line per problem, no stack trace', () => {
    const result = spawnSync(process.execPath, ['bin/versus.js'], {
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty', LOG_LEVEL: 'loud' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      'versus: PORT="eighty" is not valid: expected an integer from 0 to 65535',
      'versus: LOG_LEVEL="loud" is not valid: expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
    expect(result.stdout).toBe('');
  });
});

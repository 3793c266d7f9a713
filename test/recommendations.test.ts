import { describe, expect, it } from 'vitest';
import { RECOMMENDATION_RULES, recommend } from '../src/perf/monitor/index.ts';
import { healthySnapshot, latency } from './helpers/snapshot.ts';

const MiB = 1024 * 1024;
const ruleIds = (s: ReturnType<typeof healthySnapshot>) => recommend(s).map((r) => r.rule);

describe('recommendation rules', () => {
  it('say nothing on healthy figures', () => {
    expect(recommend(healthySnapshot())).toEqual([]);
  });

  it('every rule has a test below', () => {
    expect(RECOMMENDATION_RULES.map((r) => r.id).sort()).toEqual(
      [
        'breaker_flapping',
        'cache_too_small',
        'cache_ttl_too_short',
        'cpu_bound',
        'db_pool_too_small',
        'memory_budget',
        'memory_leak',
        'object_pool_too_small',
        'slow_query_index',
      ].sort(),
    );
  });

  it('cache_too_small: low hit rate with many evictions -> raise CACHE_MEMORY_MAX_SIZE', () => {
    const s = healthySnapshot();
    Object.assign(s.caches[0]!, { hitRate: 0.4, hits: 400, misses: 600, evictions: 500, sets: 600 });
    const recs = recommend(s);
    expect(recs.map((r) => r.rule)).toEqual(['cache_too_small']);
    expect(recs[0]!.change).toBe('raise CACHE_MEMORY_MAX_SIZE from 10000 to 20000');
    expect(recs[0]!.why).toMatch(/40\.0%.*83\.3% of inserts evict/);
  });

  it('cache_ttl_too_short: low hit rate with few evictions -> longer TTL', () => {
    const s = healthySnapshot();
    Object.assign(s.caches[0]!, { hitRate: 0.4, hits: 400, misses: 600, evictions: 3, sets: 600 });
    const recs = recommend(s);
    expect(recs.map((r) => r.rule)).toEqual(['cache_ttl_too_short']);
    expect(recs[0]!.change).toMatch(/lengthen the TTL of cache\/memory \(now 300 s; try 600 s\)/);
  });

  it('cache rules stay quiet when there are too few lookups to judge', () => {
    const s = healthySnapshot();
    Object.assign(s.caches[0]!, { hitRate: 0.1, hits: 5, misses: 45, evictions: 40, sets: 45 });
    expect(recommend(s)).toEqual([]);
  });

  it('db_pool_too_small: queries waiting for a connection -> raise DATABASE_POOL_SIZE', () => {
    const s = healthySnapshot();
    s.dbPool = { size: 20, max: 20, idle: 0, inUse: 20, waiting: 7, waitMs: 240, timeouts: 0 };
    const recs = recommend(s);
    expect(recs.map((r) => r.rule)).toEqual(['db_pool_too_small']);
    expect(recs[0]!.change).toMatch(/raise DATABASE_POOL_SIZE \(pool max 20 now; try 40\)/);
    expect(recs[0]!.severity).toBe('warning');
  });

  it('object_pool_too_small: borrowers waiting for an object pool -> raise its max', () => {
    const s = healthySnapshot();
    Object.assign(s.pools[0]!, { waiting: 3, inUse: 4, idle: 0, waitMs: 50 });
    expect(recommend(s).map((r) => [r.rule, r.change])).toEqual([
      ['object_pool_too_small', 'raise max of pool gzip from 4 to 8'],
    ]);
  });

  it('slow_query_index: a slow statement with a sequential scan -> the suggested index', () => {
    const s = healthySnapshot();
    s.slowQueries = [
      {
        statement: 'SELECT * FROM events WHERE experiment_id = $1',
        count: 40,
        meanMs: 180,
        seqScanTables: ['events'],
        suggestedIndex: 'CREATE INDEX CONCURRENTLY ON events (experiment_id)',
      },
      { statement: 'SELECT * FROM runs WHERE name = $1', count: 9, meanMs: 90, seqScanTables: ['runs'] },
    ];
    const recs = recommend(s);
    expect(recs.map((r) => r.change)).toEqual([
      'create the index: CREATE INDEX CONCURRENTLY ON events (experiment_id)',
      'add an index on the filtered columns of runs',
    ]);
  });

  it('breaker_flapping: three openings in ten minutes -> thresholds', () => {
    const s = healthySnapshot();
    const t = (minAgo: number, to: 'open' | 'half-open' | 'closed') => ({
      from: 'closed' as const,
      to,
      at: s.at - minAgo * 60_000,
    });
    s.breakers = [
      {
        name: 'openai',
        state: 'half-open',
        transitions: [t(9, 'open'), t(8, 'half-open'), t(6, 'open'), t(1, 'open')],
      },
      { name: 'anthropic', state: 'closed', transitions: [t(30, 'open'), t(25, 'open'), t(2, 'open')] },
    ];
    const recs = recommend(s);
    expect(recs.map((r) => r.id)).toEqual(['breaker_flapping:openai']);
    expect(recs[0]!.change).toMatch(/raise the failure threshold/);
  });

  it('memory_leak: a rising heap floor -> likely leak, take heap snapshots', () => {
    const s = healthySnapshot();
    Object.assign(s.memory!.leak, { suspected: true, reason: 'heap after GC rises steadily: 12.0 MiB/min' });
    const recs = recommend(s);
    expect(recs.map((r) => r.rule)).toEqual(['memory_leak']);
    expect(recs[0]!.why).toMatch(/likely leak/);
    expect(recs[0]!.change).toMatch(/heap-snapshot/);
  });

  it('memory_budget: near the budget without a leak -> lower the cache or raise the budget', () => {
    const s = healthySnapshot();
    s.memory!.budget = { budgetBytes: 512 * MiB, usedBytes: 450 * MiB, ratio: 0.879, status: 'warning' };
    expect(ruleIds(s)).toEqual(['memory_budget']);
  });

  it('cpu_bound: slow p95 with a blocked event loop -> more workers', () => {
    const s = healthySnapshot();
    s.http = latency({ p95: 480 });
    s.memory!.eventLoop = { p50Ms: 30, p99Ms: 140, maxMs: 300 };
    expect(recommend(s).map((r) => [r.rule, r.change])).toEqual([
      ['cpu_bound', expect.stringMatching(/WEB_CONCURRENCY/)],
    ]);
    // Slow but with a free event loop: the time goes elsewhere (upstream), not CPU.
    s.memory!.eventLoop = { p50Ms: 10, p99Ms: 12, maxMs: 20 };
    expect(recommend(s)).toEqual([]);
  });
});

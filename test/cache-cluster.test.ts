/**
 * The tiered cache on a real Redis Cluster (three masters; .ci/run starts them): the contract,
 * and what the cluster changes: reads, deletes and clears spread over slots and nodes, tag keys
 * sharing a hash tag, the bus through the cluster.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../src/perf/cache/index.ts';
import { cacheContract } from './cache/contract.ts';
import { sharedCaches, TEST_L2_TIMEOUT } from './cache/instances.ts';
import { waitFor } from './helpers/http.ts';
import { hasRedisCluster, REDIS_CLUSTER_NODES } from './helpers/services.ts';

let cluster: Cluster;

beforeAll(async () => {
  if (!hasRedisCluster) return;
  const nodes = REDIS_CLUSTER_NODES!.split(',').map((hostPort) => {
    const [host, port] = hostPort.trim().split(':');
    return { host: host!, port: Number(port) };
  });
  cluster = new Cluster(nodes, { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 1 } });
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('error', reject);
  });
});
afterAll(async () => {
  if (cluster) await cluster.quit();
});

/** Every key of a cache name, from every master (entries, namespaces, tag keys, locks). */
async function keysOf(name: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of cluster.nodes('master')) {
    for (const pattern of [`${name}[:/#!]*`, `{${name}[/#]*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        found.push(...keys);
      } while (cursor !== '0');
    }
  }
  return found;
}

async function dropKeys(name: string): Promise<void> {
  for (const key of await keysOf(name)) await cluster.unlink(key);
}

describe.runIf(hasRedisCluster)('with Redis Cluster', () => {
  cacheContract(
    'L1 + L2 Redis Cluster',
    () => ({ redis: cluster, l2: { timeout: TEST_L2_TIMEOUT } }),
    dropKeys,
  );

  const { open, instances } = sharedCaches(() => cluster, 'cl', dropKeys);

  it('reads 200 keys spread over every master in one tick, and B drops its copy when A writes', async () => {
    const [a, b] = await instances(2, { l1: { maxEntries: 1000 } });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k, i) => a!.set(k, { i })));
    const name = a!.stats().name;
    // The keys really are on different nodes.
    const perNode = await Promise.all(cluster.nodes('master').map((n) => n.dbsize()));
    expect(perNode.filter((n) => n > 0).length).toBe(cluster.nodes('master').length);
    expect(await Promise.all(keys.map((k) => b!.get(k)))).toEqual(keys.map((_, i) => ({ i })));
    expect(b!.stats().counts.l2Hits).toBe(200);
    expect(b!.stats().counts.l2Errors).toBe(0);
    await a!.set('k7', 'changed');
    await waitFor(async () => (await b!.get('k7')) === 'changed', 2000, 5);
    // A delete of many keys across slots.
    await a!.delete(keys);
    expect((await keysOf(name)).filter((k) => k.includes('::'))).toEqual([]);
    await waitFor(async () => (await b!.get('k3')) === undefined, 2000, 5);
  });

  it('clearing a namespace on A clears it on every master and leaves the others alone', async () => {
    const [a, b] = await instances(2);
    const x = a!.namespace('x');
    await Promise.all(Array.from({ length: 50 }, (_, i) => x.set(`k${i}`, i, { tags: ['t'] })));
    await a!.namespace('y').set('k', 'y', { tags: ['t'] });
    await a!.set('root', 'r');
    await x.deleteByTag('t');
    expect(await b!.namespace('y').get('k')).toBe('y');
    await x.set('after', 1, { tags: ['t'] });
    const name = a!.stats().name;
    await x.clear();
    const left = await keysOf(name);
    expect(left.filter((k) => k.startsWith(`${name}/x`) || k.startsWith(`{${name}/x`))).toEqual([]);
    expect(left).toContain(`${name}/y::k`);
    expect(left).toContain(`${name}::root`);
    expect(left).toContain(`{${name}/y#t}!l`);
    expect(await b!.namespace('y').get('k')).toBe('y');
    expect(await b!.get('root')).toBe('r');
  });

  it('tags: a tag keeps its keys in one slot, invalidations hold across instances and for late ones', async () => {
    const [a, b] = await instances(2, { grace: '1h' });
    await a!.set('gone', 1, { tags: ['t', 'u'], ttl: '10m' });
    await a!.set('stale', 2, { tags: ['v'], ttl: '10m' });
    expect(await b!.get('gone')).toBe(1);
    await a!.deleteByTag(['t', 'w']);
    await a!.expireByTag('v');
    const name = a!.stats().name;
    const tagKeys = (await keysOf(name)).filter((k) => k.startsWith('{')).sort();
    expect(tagKeys).toEqual(
      [
        `{${name}#t}!d`,
        `{${name}#t}!l`,
        `{${name}#u}!l`,
        `{${name}#v}!e`,
        `{${name}#v}!l`,
        `{${name}#w}!d`,
      ].sort(),
    );
    // The record of t lives as long as t's entries (twice their ttl), w's at least a minute.
    expect(await cluster.pttl(`{${name}#t}!d`)).toBeGreaterThan(19 * 60_000);
    const w = await cluster.pttl(`{${name}#w}!d`);
    expect(w).toBeGreaterThan(55_000);
    expect(w).toBeLessThanOrEqual(61_000);
    await waitFor(async () => (await b!.get('gone')) === undefined, 2000, 5);
    expect(await b!.get('stale')).toBeUndefined();
    // An instance started after the invalidations reads the records from their slots.
    const late = createCache({ redis: cluster, name, grace: '1h', l2: { timeout: TEST_L2_TIMEOUT } });
    open.push(late);
    await late.ready();
    expect(await late.get('gone')).toBeUndefined();
    expect(await late.get('stale')).toBeUndefined();
    expect(await late.getOrSet('stale', async () => 'new')).toBe(2);
    expect(late.stats().counts.l2Errors).toBe(0);
  });

  it('100 concurrent getOrSet across two instances run the factory once with the lock on', async () => {
    const [a, b] = await instances(2, { lock: { enabled: true, ttl: '2s' } });
    let calls = 0;
    const factory = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 50));
      return 'v';
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a! : b!).getOrSet('hot', factory)),
    );
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['v']));
  });
});

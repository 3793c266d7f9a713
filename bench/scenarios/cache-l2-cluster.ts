/**
 * L1 miss -> L2 hit with 100 reads in flight on a Redis Cluster (REDIS_CLUSTER_NODES): Versus
 * against raw ioredis Cluster GETs of the same keys (auto-pipelined per node) and bentocache on
 * a Cluster client with the same options, in one process, alternating. The cluster's nodes run on this machine,
 * so they share its cores with the client.
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import { Cluster } from 'ioredis';
import { createCache } from '../../src/perf/cache/index.ts';
import { alsoInCacheDoc } from '../lib/cache-doc.ts';
import { hitRateRow, KEYS, N, seedBoth, versusReads, WINDOW, windows } from '../lib/l2-reads.ts';
import { alternate } from '../lib/micro.ts';
import { median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

/** Keys starting with `prefix`, on every master. */
async function keysOf(cluster: Cluster, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of cluster.nodes('master')) {
    for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
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

/** Deletes every key starting with `prefix`; answers how many are left. */
async function dropPrefix(cluster: Cluster, prefix: string): Promise<number> {
  await Promise.all((await keysOf(cluster, prefix)).map((key) => cluster.unlink(key)));
  return (await keysOf(cluster, prefix)).length;
}

export const scenario: Scenario = {
  id: 'cache-l2-cluster',
  title: 'Cache: L1 miss -> L2 hit on a Redis Cluster, 100 in flight, vs raw ioredis and bentocache',
  async run({ runs, log }) {
    const spec = process.env.REDIS_CLUSTER_NODES;
    if (!spec) {
      return 'Not measured: set REDIS_CLUSTER_NODES (`host:port,…`; `bash .ci/run` starts three masters on 7000-7002).';
    }
    const nodes = spec.split(',').map((hostPort) => {
      const [host, port] = hostPort.trim().split(':');
      return { host: host!, port: Number(port) };
    });
    const cluster = new Cluster(nodes, {
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 1 },
    });
    await new Promise<void>((resolve, reject) => {
      cluster.once('ready', resolve);
      cluster.once('error', reject);
    });
    // bentocache closes the connection it is given: its own, on the same nodes and options.
    const bentoCluster = cluster.duplicate();
    const name = `bench-l2c-${process.pid}-${Date.now().toString(36)}`;
    const versus = createCache({ name, redis: cluster, l1: { maxEntries: WINDOW }, l2: { timeout: 1000 } });
    const bento = new BentoCache({
      default: 'c',
      prefix: `${name}-bento`,
      stores: {
        c: bentostore()
          .useL1Layer(memoryDriver({ maxItems: WINDOW }))
          .useL2Layer(redisDriver({ connection: bentoCluster }))
          .useBus(redisBusDriver({ connection: { host: nodes[0]!.host, port: nodes[0]!.port } })),
      },
    });
    const rows: string[][] = [];
    try {
      await versus.ready();
      await seedBoth(versus, bento);
      const redisKeys = KEYS.map((k) => `${name}::${k}`);
      const written = (await Promise.all(redisKeys.map((k) => cluster.exists(k)))).reduce((a, b) => a + b, 0);
      if (written !== N) throw new Error(`seeding wrote ${written} of ${N} keys to the cluster`);
      const windowOf = windows();
      const targets: Record<string, [() => unknown, number]> = {
        'raw ioredis Cluster GET ×100 (auto-pipelined)': [
          () => Promise.all(windowOf(redisKeys).map((k) => cluster.getBuffer(k))),
          WINDOW,
        ],
        'bentocache get ×100 on the Cluster': [
          () => Promise.all(windowOf(KEYS).map((k) => bento.get({ key: k }))),
          WINDOW,
        ],
        ...versusReads(versus, windowOf),
      };
      const results = await alternate(targets, runs, log, 1000);
      const anchors = ['raw ioredis Cluster GET ×100 (auto-pipelined)', 'bentocache get ×100 on the Cluster'];
      for (const label of Object.keys(targets)) rows.push(results.row(label, anchors, median));
      rows.push(hitRateRow(versus, 4));
    } finally {
      await versus.close();
      await bento.disconnectAll();
      const left = await dropPrefix(cluster, name);
      await cluster.quit();
      if (left > 0) log(`  ${left} keys of ${name} could not be deleted from the cluster`);
    }
    const markdown = [
      preamble('npm run bench -- cache-l2-cluster', runs),
      `Reads per second (median) of ${N.toLocaleString('en')} keys in 100-key windows on the Redis Cluster of REDIS_CLUSTER_NODES (${nodes.length} masters on this machine, sharing its cores with the client); each cache's L1 holds 100 entries, so every window misses L1. Versus sends one MGET per hash slot (about one per key here), auto-pipelined per node; bentocache has a Cluster client of its own with the same options (it closes the client it is given). Ratios are medians of the per-run ratios.`,
      '',
      table(['target', 'reads/s', 'vs raw ioredis Cluster', 'vs bentocache'], rows),
    ].join('\n');
    return alsoInCacheDoc(scenario.id, scenario.title, markdown);
  },
};

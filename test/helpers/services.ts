/**
 * Real services for integration tests. A suite that needs Redis, a Redis Cluster or PostgreSQL
 * runs whenever REDIS_URL / REDIS_CLUSTER_NODES / DATABASE_URL is set; under CI=true a missing
 * variable fails the run instead of skipping silently.
 */
export const REDIS_URL = process.env.REDIS_URL || undefined;
/** Redis Cluster nodes, `host:port,host:port,…` (.ci/run starts three masters on 7000-7002). */
export const REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES || undefined;
export const DATABASE_URL = process.env.DATABASE_URL || undefined;

function required(name: string, value: string | undefined): boolean {
  if (value !== undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(`${name} is not set but CI=true: integration tests must run against the real service`);
  }
  return false;
}

export const hasRedis = required('REDIS_URL', REDIS_URL);
export const hasRedisCluster = required('REDIS_CLUSTER_NODES', REDIS_CLUSTER_NODES);
export const hasPostgres = required('DATABASE_URL', DATABASE_URL);

/** A key prefix / schema name unique to this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

export {
  type Coding,
  type CompressorPool,
  type CompressorPoolOptions,
  createCompressorPool,
} from './compressor.ts';
export {
  PoolClosedError,
  PoolCreateError,
  PoolOptionsError,
  PoolQueueFullError,
  PoolReleaseError,
  PoolTimeoutError,
} from './errors.ts';
export type { PoolOptions } from './options.ts';
export { createPool, type Lease, type Pool, type PoolStats } from './pool.ts';

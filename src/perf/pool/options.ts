import type { MetricsRegistry } from '../metrics/index.ts';
import { PoolOptionsError } from './errors.ts';

export interface PoolOptions<T> {
  /** Names the pool in stats, metrics (`pool` label) and error messages. */
  name: string;
  /** Makes a new object; may be async. */
  create: () => T | Promise<T>;
  /** Frees an object the pool drops (idle too long, failed validation, pool closed). @default none */
  destroy?: (obj: T) => void | Promise<void>;
  /** Returns a released object to a clean state before it is lent again; a throw destroys it. @default none */
  reset?: (obj: T) => void | Promise<void>;
  /** Checked on every borrow; false destroys the object and the next one is tried. @default none */
  validate?: (obj: T) => boolean | Promise<boolean>;
  /** Most objects alive at once (lent, idle and being created). @default 10 */
  max?: number;
  /** Objects kept alive even when idle; created by `ready()` and refilled in the background. @default 0 */
  min?: number;
  /** Milliseconds an idle object above `min` may stay before it is destroyed; 0 keeps them. @default 30000 */
  idleTimeout?: number;
  /** Milliseconds a borrower waits for an object before POOL_ACQUIRE_TIMEOUT. @default 30000 */
  acquireTimeout?: number;
  /** Borrowers allowed to wait at once; one more gets POOL_QUEUE_FULL at once. @default 1000 */
  maxWaiting?: number;
  /** Registers pool_* metrics with a `pool` label. @default no metrics */
  metrics?: MetricsRegistry;
}

export interface ResolvedPoolOptions<T> {
  name: string;
  create: () => T | Promise<T>;
  destroy: ((obj: T) => void | Promise<void>) | undefined;
  reset: ((obj: T) => void | Promise<void>) | undefined;
  validate: ((obj: T) => boolean | Promise<boolean>) | undefined;
  max: number;
  min: number;
  idleTimeout: number;
  acquireTimeout: number;
  maxWaiting: number;
  metrics: MetricsRegistry | undefined;
}

const NAME = /^[a-zA-Z_][\w.-]{0,63}$/;

function count(name: string, option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new PoolOptionsError(
      `pool ${name}: ${option} must be an integer of at least ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function resolvePoolOptions<T>(options: PoolOptions<T>): ResolvedPoolOptions<T> {
  const name = options.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new PoolOptionsError(
      `pool name must be 1-64 characters of letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`,
    );
  }
  if (typeof options.create !== 'function')
    throw new PoolOptionsError(`pool ${name}: create must be a function`);
  for (const fn of ['destroy', 'reset', 'validate'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') {
      throw new PoolOptionsError(`pool ${name}: ${fn} must be a function when given`);
    }
  }
  const max = count(name, 'max', options.max, 10, 1);
  const min = count(name, 'min', options.min, 0, 0);
  if (min > max) throw new PoolOptionsError(`pool ${name}: min (${min}) must not exceed max (${max})`);
  return {
    name,
    create: options.create,
    destroy: options.destroy,
    reset: options.reset,
    validate: options.validate,
    max,
    min,
    idleTimeout: count(name, 'idleTimeout', options.idleTimeout, 30_000, 0),
    acquireTimeout: count(name, 'acquireTimeout', options.acquireTimeout, 30_000, 1),
    maxWaiting: count(name, 'maxWaiting', options.maxWaiting, 1000, 0),
    metrics: options.metrics,
  };
}

/**
 * The tiered cache: memory L1 (Map, CLOCK eviction) in front of an optional Redis L2, with an invalidation
 * bus, stampede protection, grace, tags, warmers, metrics and events. See docs/cache.md.
 */
import { CacheView } from './cache.ts';
import { CacheCore } from './core.ts';
import { type CacheOptions, resolveOptions } from './options.ts';
import type { Cache } from './types.ts';
import { checkWarmer } from './warmers.ts';

export function createCache(options: CacheOptions = {}): Cache {
  const resolved = resolveOptions(options);
  // Every warmer is checked before anything starts: a bad one must not leave a connection open
  // and the good ones running behind a throw.
  for (const warmer of resolved.warmers) checkWarmer(warmer);
  const core = new CacheCore(resolved);
  const root = new CacheView(core, '');
  for (const warmer of resolved.warmers) root.addWarmer(warmer);
  return root;
}

export type { Duration } from './duration.ts';
export {
  CacheClosedError,
  CacheFactoryTimeoutError,
  CacheInvalidOptionError,
  CacheL2UnavailableError,
} from './errors.ts';
export type { CacheLogger, CacheOptions } from './options.ts';
export type {
  Cache,
  CacheEventName,
  CacheEvents,
  CacheLayer,
  CacheStats,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  SetOptions,
  Warmer,
} from './types.ts';

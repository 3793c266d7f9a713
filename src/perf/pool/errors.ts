import { defineError } from '../errors.ts';

export const PoolTimeoutError = defineError(
  'POOL_ACQUIRE_TIMEOUT',
  503,
  'No pooled object became free within the pool acquire timeout.',
  'Retry later; if it persists, raise the pool `max` (or the matching setting, such as DATABASE_POOL_SIZE) or make borrowers return objects sooner.',
);
export const PoolQueueFullError = defineError(
  'POOL_QUEUE_FULL',
  503,
  'The pool is at its maximum size and its wait queue is full, so the request was turned away at once.',
  'Retry later; raise the pool `max` or `maxWaiting` if the load is expected.',
);
export const PoolClosedError = defineError(
  'POOL_CLOSED',
  503,
  'The pool was closed (the service is shutting down) while an object was requested or awaited.',
  'Retry on another instance; a closed pool does not reopen.',
);
export const PoolCreateError = defineError(
  'POOL_CREATE_FAILED',
  503,
  "The pool's factory failed to create a new object; the cause is logged.",
  'Check the resource the factory opens (the cause names it); the pool retries on the next request.',
);
export const PoolOptionsError = defineError(
  'POOL_INVALID_OPTIONS',
  500,
  'A pool was configured with invalid options (the message names the option and what is allowed).',
  'Fix the named option where the pool is created.',
);
export const PoolReleaseError = defineError(
  'POOL_INVALID_RELEASE',
  500,
  'An object was returned to a pool that did not lend it, or returned twice.',
  'Release each borrowed object exactly once, to the pool it came from (a `using` lease does this).',
);

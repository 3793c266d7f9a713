import { defineError } from '../errors.ts';

export const CircuitOpenError = defineError(
  'CIRCUIT_OPEN',
  503,
  'The circuit breaker of the upstream service is open after repeated failures, and no fallback could serve.',
  'Retry after the `retry-after` seconds; configure a fallback model to keep serving while the service recovers.',
);
export const BulkheadFullError = defineError(
  'BULKHEAD_FULL',
  503,
  'The upstream service already has its maximum of concurrent calls and its wait queue is full.',
  'Retry shortly; raise PROVIDER_MAX_CONCURRENCY or PROVIDER_QUEUE_SIZE if the upstream can take more.',
);
export const UpstreamTimeoutError = defineError(
  'UPSTREAM_TIMEOUT',
  504,
  'The upstream service did not answer within the per-attempt timeout, on every attempt.',
  'Retry; raise PROVIDER_TIMEOUT_MS if the model is slow to start answering.',
);

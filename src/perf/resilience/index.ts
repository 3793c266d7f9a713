export type { BreakerState, Transition } from './circuit.ts';
export { type CorrelatorOptions, FailureCorrelator, type Incident } from './correlation.ts';
export { BulkheadFullError, CircuitOpenError, UpstreamTimeoutError } from './errors.ts';
export {
  type DescribedFailure,
  type FailureKind,
  failureKind,
  parseRetryAfter,
  retryAfterOf,
} from './failure.ts';
export {
  type BreakerOptions,
  type BulkheadOptions,
  InvalidResilienceOptionError,
  type RetryOptions,
  type ServiceOptions,
} from './options.ts';
export { type AttemptContext, ServicePolicy } from './policy.ts';
export {
  createResilience,
  type Resilience,
  type ResilienceLogger,
  type ResilienceOptions,
  type ServiceStatus,
} from './resilience.ts';

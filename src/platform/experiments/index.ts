export { type Assignment, assign } from './assign.ts';
export { BUCKETS, bucketOf } from './assignment.ts';
export {
  ExperimentConflictError,
  ExperimentNameTakenError,
  ExperimentNotFoundError,
  ExperimentTransitionError,
} from './errors.ts';
export { createGatewayHooks, experimentRef, type GatewayHookSet } from './hooks.ts';
export { type ExperimentsDeps, type ExperimentsPlatform, installExperiments } from './install.ts';
export { STATUSES, type Status } from './lifecycle.ts';
export { type Experiment, experimentJson, type Variant } from './model.ts';
export { registerExperimentRoutes } from './routes.ts';
export {
  createExperimentService,
  type ExperimentCache,
  type ExperimentService,
  experimentTag,
} from './service.ts';

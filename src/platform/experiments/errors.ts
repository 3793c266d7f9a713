import { defineError } from '../../perf/errors.ts';

export const ExperimentNotFoundError = defineError(
  'EXPERIMENT_NOT_FOUND',
  404,
  'No experiment has this id or name.',
  'Check the id or name against GET /v1/experiments.',
);
export const ExperimentNameTakenError = defineError(
  'EXPERIMENT_NAME_TAKEN',
  409,
  'Another experiment already has this name.',
  'Choose another name, or update the existing experiment with PATCH /v1/experiments/:id.',
);
export const ExperimentTransitionError = defineError(
  'EXPERIMENT_TRANSITION_INVALID',
  409,
  'The requested status change is not allowed from the current status (draft → running ⇄ paused, running or paused → stopped).',
  'Read the current status with GET /v1/experiments/:id and request an allowed transition; the message lists them.',
);
export const ExperimentConflictError = defineError(
  'EXPERIMENT_CONFLICT',
  409,
  'The experiment changed while this update was applied (a concurrent PATCH), or it is stopped and can no longer change.',
  'Read the experiment again and retry the update if it still applies.',
);

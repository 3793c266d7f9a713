import { randomUUID } from 'node:crypto';
import { bucketOf, variantAt } from './assignment.ts';
import type { Experiment, Variant } from './model.ts';

export interface Assignment {
  variantIndex: number;
  variant: Variant;
  /** The unit assigned: the caller's, or a random one when none was given. */
  unit: string;
  /** False when the unit was made up for this request (no `user` or `x-unit-id`). */
  sticky: boolean;
  /** True when this request counts in the experiment (only while it is running). */
  exposure: boolean;
}

/**
 * The variant for a unit. Running experiments hash the unit; every other status serves the
 * baseline and records no exposure, so pausing never pollutes the results.
 */
export function assign(experiment: Experiment, unit: string | undefined): Assignment {
  const sticky = unit !== undefined && unit !== '';
  const id = sticky ? unit : randomUUID();
  if (experiment.status !== 'running') {
    return { variantIndex: 0, variant: experiment.variants[0]!, unit: id, sticky, exposure: false };
  }
  const index = variantAt(experiment.allocation, bucketOf(experiment.salt, id));
  return { variantIndex: index, variant: experiment.variants[index]!, unit: id, sticky, exposure: true };
}

/** The experiment as stored and as served over the API. */
import type { Segment } from './assignment.ts';
import type { Status } from './lifecycle.ts';

export interface Variant {
  name: string;
  /** Provider-qualified model, as in GET /v1/models (`mock/fast`, `openai/gpt-4o-mini`). */
  model: string;
  /** Relative weight (> 0); shares are weight / sum of weights. */
  weight: number;
  systemPrompt?: string;
  /** Request parameters this variant overrides (temperature, max_tokens, ...). */
  params?: Record<string, unknown>;
}

export interface Experiment {
  id: string;
  name: string;
  description: string | null;
  status: Status;
  /** Hash salt: fixed at creation so assignments never change unless the weights do. */
  salt: string;
  variants: Variant[];
  allocation: Segment[];
  /** Response-cache TTL for this experiment's requests; null: not cached. */
  cacheTtlS: number | null;
  createdAt: string;
  updatedAt: string;
  /** Bumped on every change; guards concurrent updates. */
  version: number;
}

export interface NewExperiment {
  name: string;
  description: string | null;
  status: 'draft' | 'running';
  variants: Variant[];
  cacheTtlS: number | null;
}

export interface ExperimentPatch {
  status?: Status;
  /** New weights, in variant order. */
  weights?: number[];
  description?: string | null;
}

/** The API shape (snake_case, as DESIGN.md's contract). */
export function experimentJson(e: Experiment): Record<string, unknown> {
  const total = e.variants.reduce((a, v) => a + v.weight, 0);
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    status: e.status,
    variants: e.variants.map((v) => ({
      name: v.name,
      model: v.model,
      weight: v.weight,
      share: v.weight / total,
      ...(v.systemPrompt !== undefined ? { system_prompt: v.systemPrompt } : {}),
      ...(v.params !== undefined ? { params: v.params } : {}),
    })),
    cache: e.cacheTtlS === null ? null : { ttl_s: e.cacheTtlS },
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
}

/**
 * The results document of GET /v1/experiments/:id/results, from per-variant aggregates. Field
 * definitions are in DESIGN.md and docs/experiments.md; the first variant is the baseline.
 */
import { emptyAggregate, type VariantAggregate } from './aggregate.ts';
import {
  ALPHA,
  SRM_ALPHA,
  type SrmResult,
  type Summary,
  sampleRatioMismatch,
  type TestResult,
  twoProportion,
  welch,
} from './stats/index.ts';

export interface ExperimentInfo {
  id: string;
  name: string;
  status: string;
  variants: { name: string; weight: number }[];
}

export type Metric = 'latency_ms' | 'cost_usd' | 'feedback_score' | 'error_rate';

export interface Comparison extends TestResult {
  metric: Metric;
  baseline: string;
  variant: string;
  /** Observations per side the test used. */
  n: { baseline: number; variant: number };
}

export interface Results {
  experiment: { id: string; name: string; status: string };
  generated_at: string;
  alpha: number;
  variants: Record<string, unknown>[];
  comparisons: Comparison[];
  srm: SrmResult & { alpha: number; expected_shares: number[]; observed: number[] };
}

const summary = (n: number, mean: number | null, variance: number | null): Summary => ({
  n,
  mean: mean ?? 0,
  variance: variance ?? 0,
});

function variantJson(a: VariantAggregate, weight: number, share: number): Record<string, unknown> {
  return {
    name: a.variant,
    weight,
    share,
    requests: a.requests,
    errors: a.errors,
    error_rate: a.requests > 0 ? a.errors / a.requests : null,
    unsticky: a.unsticky,
    // Over successful requests that were neither cache hits nor fallbacks (`n` of them).
    latency_ms: {
      n: a.clean,
      p50: a.latency.p50,
      p95: a.latency.p95,
      p99: a.latency.p99,
      mean: a.latency.mean,
    },
    ttft_ms: { n: a.ttft.n, p50: a.ttft.p50, p95: a.ttft.p95, p99: a.ttft.p99, mean: a.ttft.mean },
    tokens: { prompt: a.promptTokens, completion: a.completionTokens },
    cost_usd: { total: a.cost.total ?? 0, mean: a.cost.mean, n: a.cost.n },
    cache_hits: a.cacheHits,
    fallbacks: a.fallbacks,
    feedback: { count: a.feedback.n, mean: a.feedback.mean, labels: a.feedback.labels },
  };
}

export function buildResults(
  experiment: ExperimentInfo,
  aggregates: VariantAggregate[],
  now = new Date(),
): Results {
  const byName = new Map(aggregates.map((a) => [a.variant, a]));
  const rows = experiment.variants.map((v) => byName.get(v.name) ?? emptyAggregate(v.name));
  const weights = experiment.variants.map((v) => v.weight);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const base = rows[0]!;
  const comparisons: Comparison[] = [];
  for (const a of rows.slice(1)) {
    const pair = (metric: Metric, r: TestResult, nb: number, nv: number): Comparison => ({
      metric,
      baseline: base.variant,
      variant: a.variant,
      ...r,
      n: { baseline: nb, variant: nv },
    });
    comparisons.push(
      pair(
        'latency_ms',
        welch(
          summary(base.clean, base.latency.mean, base.latency.variance),
          summary(a.clean, a.latency.mean, a.latency.variance),
        ),
        base.clean,
        a.clean,
      ),
      pair(
        'cost_usd',
        welch(
          summary(base.cost.n, base.cost.mean, base.cost.variance),
          summary(a.cost.n, a.cost.mean, a.cost.variance),
        ),
        base.cost.n,
        a.cost.n,
      ),
      pair(
        'feedback_score',
        welch(
          summary(base.feedback.n, base.feedback.mean, base.feedback.variance),
          summary(a.feedback.n, a.feedback.mean, a.feedback.variance),
        ),
        base.feedback.n,
        a.feedback.n,
      ),
      pair(
        'error_rate',
        twoProportion({ x: base.errors, n: base.requests }, { x: a.errors, n: a.requests }),
        base.requests,
        a.requests,
      ),
    );
  }
  const observed = rows.map((r) => r.requests);
  return {
    experiment: { id: experiment.id, name: experiment.name, status: experiment.status },
    generated_at: now.toISOString(),
    alpha: ALPHA,
    variants: rows.map((a, i) => variantJson(a, weights[i]!, weights[i]! / totalWeight)),
    comparisons,
    srm: {
      ...sampleRatioMismatch(observed, weights),
      alpha: SRM_ALPHA,
      expected_shares: weights.map((w) => w / totalWeight),
      observed,
    },
  };
}

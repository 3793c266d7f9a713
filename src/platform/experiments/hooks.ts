/**
 * The gateway's route and record hooks: route names the variant for a request in an experiment;
 * record turns the completed request into an event. Exposure is decided at route time (only
 * running experiments count) and remembered by request id until the record arrives.
 */
import type { Counter } from 'prom-client';
import { assertStorableText } from '../../perf/db/index.ts';
import type { MetricsRegistry } from '../../perf/metrics/index.ts';
import type { Pricing, Recorder } from '../events/index.ts';
import type { CompletionRecord, RouteDecision } from '../gateway/index.ts';
import { assign } from './assign.ts';
import type { ExperimentService } from './service.ts';

export interface RouteContext {
  body: { model?: unknown; user?: unknown; metadata?: unknown };
  headers: Record<string, string | string[] | undefined>;
  requestId: string;
}

export interface HookOptions {
  experiments: ExperimentService;
  recorder: Recorder;
  pricing: Pricing;
  metrics?: MetricsRegistry;
}

/** Requests routed but not yet recorded; bounded so a gateway that never records cannot leak. */
const MAX_OPEN = 100_000;

interface Exposure {
  experimentId: string;
  variant: string;
  unit: string;
  sticky: boolean;
  at: number;
}

function header(headers: RouteContext['headers'], name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** The experiment a request names: header `x-experiment`, else `metadata.experiment`. */
export function experimentRef(ctx: RouteContext): string | undefined {
  const h = header(ctx.headers, 'x-experiment');
  if (h !== undefined) return h;
  const meta = ctx.body.metadata;
  if (typeof meta === 'object' && meta !== null) {
    const e = (meta as Record<string, unknown>).experiment;
    if (typeof e === 'string' && e !== '') return e;
  }
  return undefined;
}

export function createGatewayHooks(options: HookOptions) {
  const { experiments, recorder, pricing } = options;
  const open = new Map<string, Exposure>();
  const assignments: Counter<'kind'> | undefined = options.metrics?.counter({
    name: 'experiment_assignments_total',
    help: 'Gateway requests assigned a variant: sticky (unit id given), unsticky (random unit) or not_running (baseline, no exposure).',
    labelNames: ['kind'],
  });

  async function routeTo(ref: string, ctx: RouteContext): Promise<RouteDecision> {
    const user = typeof ctx.body.user === 'string' && ctx.body.user !== '' ? ctx.body.user : undefined;
    const unit = user ?? header(ctx.headers, 'x-unit-id');
    // The unit is stored with the event: one the database refuses would be answered 200 and then
    // fail its batch, so it is refused here, before anything is served.
    if (unit !== undefined) assertStorableText(unit, user !== undefined ? 'body.user' : 'headers.x-unit-id');
    assertStorableText(
      ref,
      header(ctx.headers, 'x-experiment') !== undefined ? 'headers.x-experiment' : 'body.metadata.experiment',
    );
    const experiment = await experiments.get(ref);
    const a = assign(experiment, unit);
    assignments?.inc({ kind: !a.exposure ? 'not_running' : a.sticky ? 'sticky' : 'unsticky' });
    if (a.exposure) {
      if (open.size >= MAX_OPEN) open.delete(open.keys().next().value!);
      open.set(ctx.requestId, {
        experimentId: experiment.id,
        variant: a.variant.name,
        unit: a.unit,
        sticky: a.sticky,
        at: Date.now(),
      });
    }
    const ttlS = experiment.cacheTtlS;
    return {
      model: a.variant.model,
      ...(a.variant.systemPrompt !== undefined ? { systemPrompt: a.variant.systemPrompt } : {}),
      ...(a.variant.params !== undefined ? { params: a.variant.params } : {}),
      experimentId: experiment.id,
      variant: a.variant.name,
      unit: a.unit,
      cacheable: ttlS !== null && ttlS > 0,
      ...(ttlS !== null && ttlS > 0 ? { cacheTtlMs: ttlS * 1000 } : {}),
    };
  }

  return {
    /** Undefined at once (no promise) when the request names no experiment. */
    route(ctx: RouteContext): RouteDecision | undefined | Promise<RouteDecision | undefined> {
      const ref = experimentRef(ctx);
      if (ref === undefined) return undefined;
      return routeTo(ref, ctx);
    },

    record(r: CompletionRecord): void {
      const exposure = open.get(r.requestId);
      if (exposure === undefined) return; // not in a running experiment
      open.delete(r.requestId);
      const model = r.fallback && r.fallbackModel !== undefined ? r.fallbackModel : r.model;
      recorder.record({
        responseId: r.requestId,
        experimentId: exposure.experimentId,
        variant: exposure.variant,
        unit: exposure.unit,
        sticky: exposure.sticky,
        createdAt: new Date(exposure.at),
        model,
        status: r.status,
        errorCode: r.errorCode ?? null,
        latencyMs: r.latencyMs,
        ttftMs: r.ttftMs ?? null,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        // A cache hit calls no provider: it costs nothing.
        costUsd: r.cacheHit ? 0 : pricing.cost(model, r.promptTokens, r.completionTokens),
        cacheHit: r.cacheHit,
        fallback: r.fallback,
        fallbackModel: r.fallbackModel ?? null,
        stream: r.stream,
      });
    },
  };
}

export type GatewayHookSet = ReturnType<typeof createGatewayHooks>;

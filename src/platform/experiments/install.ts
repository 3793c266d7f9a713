/**
 * Wires experiments, event recording, feedback, export and results into an app: routes, the
 * gateway's route/record hooks, and the recorder's flush on close.
 */
import type { FastifyInstance } from 'fastify';
import { type CachedSql, createResultsService, registerResultsRoutes } from '../analytics/index.ts';
import {
  createPricing,
  createRecorder,
  type MarkerStore,
  type PriceTable,
  type Recorder,
  registerEventRoutes,
} from '../events/index.ts';
import { createGatewayHooks } from './hooks.ts';
import { registerExperimentRoutes } from './routes.ts';
import { createExperimentService, type ExperimentCache, type ExperimentService } from './service.ts';
import type { SqlClient } from './store.ts';

export interface ExperimentsDeps {
  db: SqlClient & CachedSql;
  /** The tiered cache (namespaced here). */
  cache: ExperimentCache & { namespace(name: string): ExperimentCache };
  isKnownModel(model: string): boolean;
  /** Redis, for the cross-instance "response recorded" markers feedback relies on. */
  markers?: MarkerStore | undefined;
  settings: {
    eventsFlushIntervalMs: number;
    eventsFlushBatch: number;
    eventsBufferMax: number;
    resultsMinIntervalMs: number;
    exportsMaxConcurrent: number;
    modelPrices: PriceTable;
    /** How long close may keep retrying the last events. */
    shutdownTimeoutMs: number;
  };
}

export interface ExperimentsPlatform {
  experiments: ExperimentService;
  recorder: Recorder;
}

export function installExperiments(app: FastifyInstance, deps: ExperimentsDeps): ExperimentsPlatform {
  const { db, settings } = deps;
  const metrics = app.versus.metrics;
  const experiments = createExperimentService({
    db,
    cache: deps.cache.namespace('experiments'),
    isKnownModel: deps.isKnownModel,
  });
  const recorder = createRecorder({
    db,
    log: app.log,
    metrics,
    markers: deps.markers,
    flushIntervalMs: settings.eventsFlushIntervalMs,
    maxBatch: settings.eventsFlushBatch,
    maxBuffered: settings.eventsBufferMax,
  });
  const hooks = createGatewayHooks({
    experiments,
    recorder,
    pricing: createPricing(settings.modelPrices),
    metrics,
  });
  const gateway = app.versus.gatewayHooks;
  gateway.route = (ctx) => hooks.route(ctx);
  gateway.record = (record) => hooks.record(record);

  registerExperimentRoutes(app, experiments);
  registerEventRoutes(app, {
    db,
    recorder,
    experiment: (ref) => experiments.get(ref),
    maxConcurrentExports: settings.exportsMaxConcurrent,
    metrics,
  });
  registerResultsRoutes(app, {
    results: createResultsService({ db, minIntervalMs: settings.resultsMinIntervalMs }),
    experiment: (ref) => experiments.get(ref),
  });

  // Hooks run in reverse order of registration: this one runs before the database closes.
  app.addHook('onClose', async () => {
    const lost = await recorder.close(settings.shutdownTimeoutMs);
    if (lost === 0) app.log.debug('experiment events flushed');
  });
  return { experiments, recorder };
}

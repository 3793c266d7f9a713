/** GET /v1/experiments/:id/results. */
import type { FastifyInstance } from 'fastify';
import { weakEtag } from '../../perf/web/index.ts';
import type { ExperimentInfo, Results } from './results.ts';
import type { ResultsService } from './service.ts';

export interface ResultsRoutesOptions {
  results: ResultsService;
  /** Resolves an experiment id or name (throws EXPERIMENT_NOT_FOUND). */
  experiment(ref: string): Promise<ExperimentInfo & { version: number }>;
}

/**
 * The ETag of a results document: over everything but `generated_at`, so a recomputation that
 * finds nothing new gives the same tag and a polling client gets its 304 past the memo's life.
 * One per document object: the memo serves the same object for a while.
 */
const etags = new WeakMap<Results, string>();
function etagOf(results: Results): string {
  let etag = etags.get(results);
  if (etag === undefined) {
    const { generated_at: _at, ...content } = results;
    etag = weakEtag(JSON.stringify(content));
    etags.set(results, etag);
  }
  return etag;
}

export function registerResultsRoutes(app: FastifyInstance, options: ResultsRoutesOptions): void {
  // Dashboards poll results: a few seconds of reuse, then a 304 while nothing new was recorded.
  const httpCache = { cacheControl: 'private, max-age=5', etag: true };
  app.get('/v1/experiments/:id/results', { config: { httpCache } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const experiment = await options.experiment(id);
    const { results, source } = await options.results.results(experiment);
    // Where the document came from, for operators and the benchmark: memo, query-cache or computed.
    return reply.header('x-results-source', source).header('etag', etagOf(results)).send(results);
  });
}

/** POST /v1/feedback and GET /v1/experiments/:id/events. */
import type { FastifyInstance } from 'fastify';
import { defineError, InvalidRequestError } from '../../perf/errors.ts';
import type { MetricsRegistry } from '../../perf/metrics/index.ts';
import { sendError } from '../../perf/web/index.ts';
import { type ExportFormat, exportStream } from './export.ts';
import { submitFeedback } from './feedback.ts';
import type { Recorder } from './recorder.ts';
import type { SqlClient } from './store.ts';

export const ExportsBusyError = defineError(
  'EXPORTS_BUSY',
  503,
  'As many event exports as `EXPORTS_MAX_CONCURRENT` allows are already streaming from this instance; each holds pages of rows in memory and reads the database as fast as the client takes them.',
  'Retry after `Retry-After` seconds, or export one experiment after another; operators raise `EXPORTS_MAX_CONCURRENT` when memory allows (docs/experiments.md, "Exports", has the figures).',
);

/** What a refused export is told to wait: a 200,000-event export streams in about 2 s here. */
const EXPORT_RETRY_AFTER_S = 5;

export interface EventRoutesOptions {
  db: SqlClient;
  recorder: Recorder;
  /** Resolves an experiment id or name (throws EXPERIMENT_NOT_FOUND). */
  experiment(ref: string): Promise<{ id: string; name: string }>;
  /** Exports streaming at once from this instance (EXPORTS_MAX_CONCURRENT); more get 503 EXPORTS_BUSY. */
  maxConcurrentExports: number;
  metrics?: MetricsRegistry;
}

const TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): void {
  const maxExports = options.maxConcurrentExports;
  if (!Number.isInteger(maxExports) || maxExports < 1) {
    throw new RangeError(`maxConcurrentExports must be a positive integer (got ${maxExports})`);
  }
  let running = 0;
  const active = options.metrics?.gauge({
    name: 'event_exports_active',
    help: 'Event exports streaming from this instance.',
  });
  const refused = options.metrics?.counter({
    name: 'event_exports_refused_total',
    help: 'Event exports answered 503 EXPORTS_BUSY because EXPORTS_MAX_CONCURRENT were streaming.',
  });

  app.post('/v1/feedback', async (request, reply) => {
    const f = await submitFeedback(options.db, options.recorder, request.body);
    return reply.code(201).send({
      response_id: f.responseId,
      experiment_id: f.experimentId,
      score: f.score,
      label: f.label,
    });
  });

  app.get('/v1/experiments/:id/events', async (request, reply) => {
    const { id } = request.params as { id: string };
    const { format = 'ndjson' } = request.query as { format?: string };
    if (format !== 'ndjson' && format !== 'csv') {
      throw new InvalidRequestError('querystring.format must be one of "ndjson", "csv"');
    }
    const e = await options.experiment(id);
    // HEAD reads nothing, so it is never refused.
    if (request.method !== 'HEAD' && running >= maxExports) {
      // Answered here, not thrown: a refusal is counted, not logged as a failed request.
      refused?.inc();
      return sendError(
        reply,
        new ExportsBusyError(
          `${running} event exports are streaming from this instance, the most EXPORTS_MAX_CONCURRENT allows; retry in ${EXPORT_RETRY_AFTER_S} s`,
          { headers: { 'retry-after': String(EXPORT_RETRY_AFTER_S) } },
        ),
      );
    }
    reply
      .type(TYPES[format])
      .header('content-disposition', `attachment; filename="${e.name}-events.${format}"`);
    // HEAD answers the headers without reading the export (Fastify would read and drop it all).
    if (request.method === 'HEAD') return reply.send();
    // The slot is held until the response is done: sent, failed mid-stream or left by the client.
    running++;
    active?.set(running);
    reply.raw.once('close', () => {
      running--;
      active?.set(running);
    });
    const stream = exportStream(options.db, e.id, format);
    stream.on('error', (err) =>
      request.log.error(
        { err: { message: err.message }, experiment: e.id },
        'event export failed mid-stream',
      ),
    );
    return reply.send(stream);
  });
}

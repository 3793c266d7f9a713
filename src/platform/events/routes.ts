/** POST /v1/feedback and GET /v1/experiments/:id/events. */
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../../perf/errors.ts';
import { type ExportFormat, exportStream } from './export.ts';
import { submitFeedback } from './feedback.ts';
import type { Recorder } from './recorder.ts';
import type { SqlClient } from './store.ts';

export interface EventRoutesOptions {
  db: SqlClient;
  recorder: Recorder;
  /** Resolves an experiment id or name (throws EXPERIMENT_NOT_FOUND). */
  experiment(ref: string): Promise<{ id: string; name: string }>;
}

const TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): void {
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
    reply
      .type(TYPES[format])
      .header('content-disposition', `attachment; filename="${e.name}-events.${format}"`);
    // HEAD answers the headers without reading the export (Fastify would read and drop it all).
    if (request.method === 'HEAD') return reply.send();
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

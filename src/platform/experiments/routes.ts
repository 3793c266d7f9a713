/** POST/GET/PATCH /v1/experiments. */
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../../perf/errors.ts';
import { experimentJson } from './model.ts';
import type { ExperimentService } from './service.ts';

/** Experiments change only through PATCH: clients keep a copy and revalidate it each time (304). */
const revalidate = { httpCache: { cacheControl: 'private, no-cache', etag: true } };

export function registerExperimentRoutes(app: FastifyInstance, experiments: ExperimentService): void {
  app.post('/v1/experiments', async (request, reply) => {
    const e = await experiments.create(request.body);
    return reply.code(201).header('location', `/v1/experiments/${e.id}`).send(experimentJson(e));
  });

  app.get('/v1/experiments', { config: revalidate }, async (request) => {
    const q = request.query as { limit?: string; after?: unknown };
    let limit = 100;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new InvalidRequestError('querystring.limit must be an integer from 1 to 1000');
      }
    }
    if (q.after !== undefined && typeof q.after !== 'string') {
      // A repeated ?after= arrives as an array.
      throw new InvalidRequestError('querystring.after must be one experiment id (the next_after of a page)');
    }
    const list = await experiments.list({ limit, ...(q.after !== undefined ? { after: q.after } : {}) });
    return {
      object: 'list',
      data: list.map(experimentJson),
      // Cursor for the next page: pass it as ?after=.
      next_after: list.length === limit ? (list.at(-1)?.id ?? null) : null,
    };
  });

  app.get('/v1/experiments/:id', { config: revalidate }, async (request) => {
    const { id } = request.params as { id: string };
    return experimentJson(await experiments.get(id));
  });

  app.patch('/v1/experiments/:id', async (request) => {
    const { id } = request.params as { id: string };
    return experimentJson(await experiments.update(id, request.body));
  });
}

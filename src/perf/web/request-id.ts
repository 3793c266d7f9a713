import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[\w.:-]{1,128}$/;

const kRequestId = Symbol('versus.requestId');
type Identified = IncomingMessage & { [kRequestId]?: string };

/**
 * Fastify `genReqId`: keeps a caller's `x-request-id` when it is a sane token (so traces join up
 * across services), and generates a UUID otherwise. Unsafe values are replaced, never echoed.
 *
 * The id is made once per raw request and kept on it: the front lane asks first for a request it
 * reads, and when it hands that request to Fastify, Fastify must get the same id back. Work filed
 * under the lane's id (an experiment's exposure, a routing decision) is looked up later under
 * Fastify's, so two ids for one request lose its event.
 */
export function genRequestId(req: IncomingMessage): string {
  const identified = req as Identified;
  const made = identified[kRequestId];
  if (made !== undefined) return made;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  identified[kRequestId] = id;
  return id;
}

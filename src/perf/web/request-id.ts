import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[\w.:-]{1,128}$/;

const kRequestId = Symbol('versus.requestId');
type Identified = IncomingMessage & { [kRequestId]?: string };

/**
 * Fastify `genReqId`: a new UUID for every request. The request id is the response's id (an
 * experiment's event, the completion's `chatcmpl-<id>`, what feedback names), so it must be unique,
 * and a caller's own id is not: a trace id sent with every call of a session, or a retry's, would
 * make later requests collide with the first one's event. The caller's id is kept beside it
 * (`clientRequestId`): echoed as `x-client-request-id` and bound to the request's log lines.
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
  const id = randomUUID();
  identified[kRequestId] = id;
  return id;
}

/**
 * The caller's own request id: the first sane token (1-128 of letters, digits, `_ . : -`) of
 * `x-client-request-id` and `x-request-id` (what proxies set). Anything else is dropped, never
 * echoed or logged.
 */
export function clientRequestId(req: IncomingMessage): string | undefined {
  const headers = req.headers;
  const own = headers['x-client-request-id'];
  if (typeof own === 'string' && SAFE_ID.test(own)) return own;
  const given = headers['x-request-id'];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : undefined;
}

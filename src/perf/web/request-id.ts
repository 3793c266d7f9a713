import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_ID = /^[\w.:-]{1,128}$/;

/**
 * Fastify `genReqId`: keeps a caller's `x-request-id` when it is a sane token (so traces join up
 * across services), and generates a UUID otherwise. Unsafe values are replaced, never echoed.
 */
export function genRequestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SAFE_ID.test(given)) return given;
  return randomUUID();
}

/**
 * One error format for every error a Fastify app replies with:
 * `{"error": {"code": "STABLE_CODE", "message": "...", ...details}}`.
 *
 * Our own errors carry their code and status; Fastify's framework errors (bad JSON, body too large,
 * wrong media type, schema validation) are mapped to the registry's codes; anything else is a 500
 * whose message never leaks internals (it is logged with the request id instead).
 */

import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AppError,
  HeadersTooLargeError,
  InternalError,
  InvalidJsonError,
  InvalidRequestError,
  MalformedRequestError,
  NotFoundError,
  PayloadTooLargeError,
  RequestTimeoutError,
  UnsupportedMediaTypeError,
  UriTooLongError,
} from '../errors.ts';

/** Longest path parameter (an id or name in the URL) the router accepts: its `maxParamLength`. */
export const MAX_PATH_PARAM_LENGTH = 200;

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** `body` + `/messages/0/role` -> `body.messages[0].role` */
function fieldName(
  context: string | undefined,
  instancePath: string,
  params?: Record<string, unknown>,
): string {
  let field = context ?? 'body';
  for (const part of instancePath.split('/').slice(1)) {
    field += /^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  }
  const missing = params?.missingProperty ?? params?.additionalProperty;
  if (typeof missing === 'string') field += `.${missing}`;
  return field;
}

function validationMessage(err: FastifyError & { validationContext?: string }): string {
  const issue = (err.validation as ValidationIssue[] | undefined)?.[0];
  if (issue === undefined) return err.message;
  const field = fieldName(err.validationContext, issue.instancePath, issue.params);
  if (issue.keyword === 'required') return `${field} is required`;
  if (issue.keyword === 'additionalProperties') return `${field} is not a known field`;
  const allowed = issue.params?.allowedValues;
  if (Array.isArray(allowed))
    return `${field} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${field} ${issue.message ?? 'is invalid'}`;
}

/** Maps any thrown value to the AppError that describes it to the client. */
export function toAppError(error: unknown, requestId: string): AppError {
  if (error instanceof AppError) return error;
  const err = error as FastifyError & { validationContext?: string };
  switch (err?.code) {
    case 'FST_ERR_VALIDATION':
      return new InvalidRequestError(validationMessage(err), { cause: err });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidJsonError(`the request body is not valid JSON: ${err.message}`, { cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError('the request body is larger than the server accepts', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError(
        'the request body must be JSON: send it with content-type: application/json',
        { cause: err },
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidRequestError(err.message, { cause: err });
    case 'FST_ERR_BAD_URL':
      return new MalformedRequestError(
        'the path is not valid percent-encoding (each % must start a UTF-8 byte written as two hex digits)',
        { cause: err },
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new UriTooLongError(`a path segment is longer than ${MAX_PATH_PARAM_LENGTH} characters`, {
        cause: err,
      });
  }
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return new InvalidJsonError(`the request body is not valid JSON: ${err.message}`, { cause: err });
  }
  const status = typeof err?.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) return new InvalidRequestError(err.message, { cause: err });
  return new InternalError(`internal error; the server log has the details under request id ${requestId}`, {
    cause: err,
  });
}

export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers !== undefined) reply.headers(error.headers);
  return reply
    .code(error.status)
    .type('application/json; charset=utf-8')
    .send({ error: { code: error.code, message: error.message, ...error.details } });
}

/**
 * Fastify's `frameworkErrors`: errors the router raises before any route or hook runs (a path
 * that is not valid percent-encoding, a path parameter over the length limit) get the same
 * envelope as every other error instead of Fastify's own shape.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, toAppError(error, request.id));
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request
 * (malformed request line or headers, a bad Content-Length or chunk, headers over the size
 * limit, a request that took too long to arrive) is answered in the error envelope and the
 * connection closed, as Node and Fastify do by default, but with a stable code. Nothing of the
 * request is echoed back.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  // A reset connection is gone: there is no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new HeadersTooLargeError('the request line and headers are larger than the server accepts')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new RequestTimeoutError('the request did not arrive in time')
        : new MalformedRequestError(`the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`);
  if (socket.writable) {
    const body = JSON.stringify({ error: { code: e.code, message: e.message } });
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n` +
        `X-Request-Id: ${randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Installs the error and not-found handlers on `app` (call on the root instance). */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error, request.id);
    if (appError.status >= 500) {
      request.log.error({ err: appError.cause ?? appError, code: appError.code }, 'request failed');
    } else {
      request.log.debug({ code: appError.code, reason: appError.message }, 'request rejected');
    }
    return sendError(reply, appError);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    sendError(reply, new NotFoundError(`no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

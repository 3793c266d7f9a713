/**
 * Response compression for a Fastify app: an `onSend` hook that compresses string and Buffer
 * bodies negotiated by Accept-Encoding, and `send(request, reply, cachedBody)` for bodies served
 * from a cache, which come with their compressed bytes already made.
 *
 * Unlike a stream-based plugin, bodies are compressed in one shot (no stream objects, no
 * per-chunk callbacks): on a 10 KB JSON body that is the difference between ~0.2x and ~0.9x of
 * the uncompressed throughput (docs/performance.md). Streamed bodies of a compressible type
 * (exports) go through a level-1 zlib stream; server-sent events are left alone, and the
 * measurement behind that choice is in docs/performance.md.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MetricsRegistry } from '../metrics/index.ts';
import type { CachedBody } from './cached-body.ts';
import { ASYNC_THRESHOLD, type Compressor, createCompressor } from './compressor.ts';
import {
  createNegotiator,
  ENCODINGS,
  type Encoding,
  isCompressible,
  type Negotiated,
  varyWithAcceptEncoding,
} from './encoding.ts';

export interface CompressionOptions {
  /** Compress responses at all; false serves identity (and `send` still serves cached bodies). @default true */
  enabled?: boolean;
  /** Bodies smaller than this many bytes are sent uncompressed. @default 1024 */
  threshold?: number;
  /** Codings offered, in server preference order. @default ['zstd', 'br', 'gzip', 'deflate'] */
  encodings?: readonly Encoding[];
  /** Registry for `http_compressions_total`. */
  metrics?: MetricsRegistry;
  /** The compressor (tests pass their own to count calls). @default createCompressor(metrics) */
  compressor?: Compressor;
}

export interface Compression {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly compressor: Compressor;
  /** The coding this request (anything with its headers) gets for a compressible body. */
  negotiate(request: { headers: IncomingHttpHeaders }): Negotiated;
  /**
   * Sends a cached body: 304 when If-None-Match matches (GET/HEAD), else the negotiated coding's
   * precompressed bytes, compressing only when this coding is needed for the first time.
   */
  send(request: FastifyRequest, reply: FastifyReply, body: CachedBody): FastifyReply | Promise<FastifyReply>;
}

declare module 'fastify' {
  interface FastifyInstance {
    compression: Compression;
  }
}

const NO_BODY = new Set([204, 304]);

/** RFC 9110 §13.1.2 weak comparison of an If-None-Match list against one ETag. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const part of header.split(',')) {
    const tag = part.trim();
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === opaque) return true;
  }
  return false;
}

export function installCompression(app: FastifyInstance, options: CompressionOptions = {}): Compression {
  const enabled = options.enabled ?? true;
  const threshold = options.threshold ?? 1024;
  if (!Number.isInteger(threshold) || threshold < 0) {
    throw new TypeError(`compression threshold must be a non-negative integer, got ${threshold}`);
  }
  const negotiator = createNegotiator(options.encodings ?? ENCODINGS);
  const compressor = options.compressor ?? createCompressor(options.metrics);
  // Only the compressor made here is ours to close; a passed-in one belongs to the caller.
  if (options.compressor === undefined) app.addHook('onClose', async () => compressor.close?.());

  const negotiate = (request: { headers: IncomingHttpHeaders }): Negotiated =>
    enabled ? negotiator.negotiate(request.headers['accept-encoding']) : 'identity';

  const compression: Compression = {
    enabled,
    threshold,
    compressor,
    negotiate,
    send(request, reply, body) {
      reply.header('content-type', body.contentType);
      const method = request.method;
      if (method === 'GET' || method === 'HEAD') {
        const etag = body.etag;
        reply.header('etag', etag);
        if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      }
      const bytes = body.identity;
      if (!enabled || bytes.length < threshold || !isCompressible(body.contentType)) {
        return reply.send(body.plain);
      }
      const encoding = codingFor(negotiate, request, reply);
      if (encoding === 'identity') return reply.send(body.plain);
      const encoded = body.encoded(encoding, compressor);
      if (Buffer.isBuffer(encoded)) return sendEncoded(reply, bytes, encoded, encoding);
      return encoded.then(
        (ready) => sendEncoded(reply, bytes, ready, encoding),
        (err: unknown) => {
          request.log.warn({ err, encoding }, 'compressing a cached body failed; serving it uncompressed');
          return reply.send(bytes);
        },
      );
    },
  };
  app.decorate('compression', compression);
  if (!enabled) return compression;

  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.method === 'HEAD' || NO_BODY.has(reply.statusCode) || reply.hasHeader('content-encoding')) {
      return done(null, payload);
    }
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
      return done(null, compressedStream(compression, request, reply, payload));
    }
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (size < threshold || !isCompressible(reply.getHeader('content-type') as string | undefined)) {
      return done(null, payload);
    }
    const encoding = codingFor(negotiate, request, reply);
    if (encoding === 'identity') return done(null, payload);
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    if (size < ASYNC_THRESHOLD) {
      let out: Buffer;
      try {
        out = compressor.compressSync(data, encoding, 'dynamic');
      } catch (err) {
        request.log.warn({ err, encoding }, 'compression failed; serving the body uncompressed');
        return done(null, payload);
      }
      return done(null, encodedPayload(reply, payload, out, encoding));
    }
    compressor.compress(data, encoding, 'dynamic').then(
      (out) => done(null, encodedPayload(reply, payload, out, encoding)),
      (err: unknown) => {
        request.log.warn({ err, encoding }, 'compression failed; serving the body uncompressed');
        done(null, payload);
      },
    );
  });
  return compression;
}

/**
 * The coding a compressible body of this reply goes out in; the reply then varies with
 * Accept-Encoding, whichever coding (identity too) the negotiation chose.
 */
function codingFor(
  negotiate: Compression['negotiate'],
  request: FastifyRequest,
  reply: FastifyReply,
): Negotiated {
  reply.header('vary', varyWithAcceptEncoding(reply.getHeader('vary')));
  return negotiate(request);
}

/**
 * A streamed body (an export) of a compressible type, piped through a level-1 compressing stream
 * in the negotiated coding; anything else is returned as it came. Its length is unknown, so
 * there is no threshold.
 */
function compressedStream(
  compression: Compression,
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): unknown {
  const source = payload as Readable | null;
  if (source === null || typeof source !== 'object' || typeof source.pipe !== 'function') return payload;
  const compressor = compression.compressor;
  if (
    compressor.stream === undefined ||
    !isCompressible(reply.getHeader('content-type') as string | undefined)
  ) {
    return payload;
  }
  const encoding = codingFor(compression.negotiate, request, reply);
  if (encoding === 'identity') return payload;
  const encoder = compressor.stream(encoding);
  // Not stream.pipeline: it destroys the source with an error when the client goes away (the
  // reply destroys the encoder), and an export's source reports its errors as server failures.
  // A source error ends the encoder with it (the response is cut short); a client that leaves
  // stops the source quietly, as it does for an uncompressed stream.
  source.on('error', (err) => encoder.destroy(err));
  encoder.on('close', () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  source.pipe(encoder);
  reply.header('content-encoding', encoding);
  reply.removeHeader('content-length');
  return encoder;
}

function encodedPayload(
  reply: FastifyReply,
  payload: string | Buffer,
  out: Buffer,
  encoding: Encoding,
): string | Buffer {
  // Incompressible content (already-compressed bytes under a text type) can grow: send it as is.
  if (out.length >= (typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length))
    return payload;
  reply.header('content-encoding', encoding);
  // A length the handler set describes the identity body; Fastify recomputes it from `out`.
  reply.removeHeader('content-length');
  return out;
}

function sendEncoded(reply: FastifyReply, identity: Buffer, bytes: Buffer, encoding: Encoding): FastifyReply {
  // The coding did not shrink this body: the identity bytes were kept.
  if (bytes === identity) return reply.send(identity);
  reply.header('content-encoding', encoding);
  return reply.send(bytes);
}

/**
 * The front lane: a Node request listener in front of Fastify that answers repeated requests from
 * a cache without building Fastify's request and reply objects or running its hook chain.
 *
 * A cache hit on POST /v1/chat/completions is a few microseconds of Versus work inside a request
 * that costs Fastify about as much again in routing, hook dispatch, reply headers and serialisation
 * checks (docs/performance.md, "The front lane"). The lane does only what such a hit needs, with
 * the same parts the Fastify path uses (authentication, rate limit, compression, metrics), so
 * both paths give the same answer:
 *
 * 1. Admission: a request the lane has no answer kind for, a closing or shedding instance, a query
 *    string, a body without Content-Length, over `maxBodyBytes`, encoded, or not JSON, goes to
 *    Fastify at once, unread.
 * 2. Authentication as the auth hook does it; a request it rejects goes to Fastify, which answers.
 * 3. The answer kind's `lookup` gets the body text and the request's id; no answer (unknown body,
 *    cache miss, anything that needs the full path) hands the request to Fastify with the body it
 *    read, replayed by the route's `replayBody` preParsing hook, so nothing is read twice or lost.
 *    The id is `genRequestId`'s, kept on the raw request: Fastify (whose `genReqId` it must be)
 *    gets the same one back, so what the lookup filed under it (the experiment exposure the
 *    routing hook remembers) is found under it by the route's record.
 *    (test/web-front-lane-experiments.test.ts)
 * 4. Rate limit, counted before the lookup (step 3), so a denied request is never routed: its
 *    decision goes to Fastify with every request handed over, and Fastify's hook applies it (the
 *    429, or the headers of an allowed one) without counting the request again.
 * 5. The cached body goes out in the negotiated coding with the route's headers; the request's
 *    duration goes to the same metrics as a Fastify reply's.
 *
 * `app.inject()` does not go through the server's listener, so tests that inject always take the
 * Fastify path; the lane is exercised over real sockets (test/web-front-lane.test.ts).
 */
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { AppError } from '../errors.ts';
import { ANONYMOUS, type Principal } from './auth.ts';
import type { CachedBody } from './cached-body.ts';
import type { Compression } from './compression.ts';
import { isCompressible, varyWithAcceptEncoding } from './encoding.ts';
import { handOverDecision, type RateLimitDecision, type RateLimiter } from './rate-limit.ts';
import { clientRequestId, genRequestId } from './request-id.ts';

/** What a lookup found: the body to send and the headers that go with it. */
export interface LaneAnswer {
  body: CachedBody;
  /** Headers of this answer (x-cache, ...), lower-case names. */
  headers: Record<string, string>;
  /** Called once the response is written, with the request's duration in milliseconds. */
  sent?: (ms: number) => void;
}

export interface LaneContext {
  /**
   * The request id (made by Versus for every request): the one Fastify uses for this request too
   * when the lane hands it over, and the one its reply's x-request-id carries either way.
   */
  id: string;
  principal: Principal;
  headers: IncomingHttpHeaders;
  /** performance.now() when the request reached the lane. */
  startedAt: number;
  /** The raw request: a lookup that hands over may leave work for the Fastify path on it. */
  raw: IncomingMessage;
}

/** The answer for this body, or undefined to hand the request to Fastify. Must not throw after writing. */
export type LaneLookup = (body: string, context: LaneContext) => LaneAnswer | undefined;

/** The parts of the Fastify path the lane reuses; each is optional (absent: that step is skipped). */
export interface LaneParts {
  /** Principal of a request, or the error the auth hook would answer with. */
  authenticate?: (url: string, headers: IncomingHttpHeaders) => Principal | AppError;
  rateLimiter?: RateLimiter | undefined;
  compression?: Compression;
  /** False while the instance sheds or closes: every request goes to Fastify, which answers 503. */
  admit?: () => boolean;
  /** Observes a reply the lane sent: route pattern, status and duration in ms. */
  observe?: (route: string, method: string, status: number, ms: number) => void;
  /** Cache-Control of a lane reply (the HTTP cache plugin's default). @default 'no-store' */
  cacheControl?: string;
  /** Where problems the lane works around are reported. */
  warn?: (context: Record<string, unknown>, message: string) => void;
}

export interface FrontLaneOptions {
  /** False: every request goes straight to Fastify. @default true */
  enabled?: boolean;
  /** Largest body the lane reads; larger ones go to Fastify unread. @default 8192 */
  maxBodyBytes?: number;
}

export interface FrontLaneStats {
  /** Requests the lane answered. */
  answered: number;
  /** Requests the lane read and handed to Fastify (no answer, or an answer Fastify must give). */
  handedOver: number;
  /** Requests sent to Fastify unread. */
  passed: number;
}

export interface FrontLane {
  readonly enabled: boolean;
  /** For Fastify's `serverFactory` option: the HTTP server with the lane in front. */
  serverFactory(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    options: FastifyServerOptions,
  ): Server;
  /** Answers POST `path` (exact, no query string) with JSON bodies from `lookup`. */
  post(path: string, lookup: LaneLookup): void;
  /** Connects the parts of the Fastify path once they are installed. */
  use(parts: LaneParts): void;
  /** preParsing hook for the lane's routes: the body the lane read, replayed for Fastify's parser. */
  replayBody(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: Error | null, stream?: Readable) => void,
  ): void;
  stats(): FrontLaneStats;
}
const kBody = Symbol('versus.laneBody');
type LaneRequest = IncomingMessage & { [kBody]?: string | undefined };

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType === 'application/json') return true;
  const semi = contentType.indexOf(';');
  return semi > 0 && contentType.slice(0, semi).trim().toLowerCase() === 'application/json';
}

export function createFrontLane(options: FrontLaneOptions = {}): FrontLane {
  const enabled = options.enabled ?? true;
  const maxBodyBytes = options.maxBodyBytes ?? 8192;
  const routes = new Map<string, LaneLookup>();
  let parts: LaneParts = {};
  const counts: FrontLaneStats = { answered: 0, handedOver: 0, passed: 0 };

  /** Writes the answer; resolves when it is written (a first compression of a coding is awaited). */
  function send(
    res: ServerResponse,
    context: LaneContext,
    answer: LaneAnswer,
    headers: Record<string, string>,
  ): void | Promise<void> {
    const body = answer.body;
    headers['content-type'] = body.contentType;
    headers['cache-control'] = parts.cacheControl ?? 'no-store';
    const compression = parts.compression;
    const bytes = body.identity;
    if (
      compression === undefined ||
      !compression.enabled ||
      bytes.length < compression.threshold ||
      !isCompressible(body.contentType)
    ) {
      return finish(res, context, answer, headers, body.plain);
    }
    headers.vary = varyWithAcceptEncoding(headers.vary);
    const encoding = compression.negotiate(context);
    if (encoding === 'identity') return finish(res, context, answer, headers, body.plain);
    const encoded = body.encoded(encoding, compression.compressor);
    const withCoding = (ready: Buffer) => {
      if (ready !== bytes) headers['content-encoding'] = encoding;
      finish(res, context, answer, headers, ready);
    };
    if (Buffer.isBuffer(encoded)) return withCoding(encoded);
    return encoded.then(withCoding, (err: unknown) => {
      parts.warn?.({ err, encoding }, 'compressing a cached body failed; serving it uncompressed');
      finish(res, context, answer, headers, bytes);
    });
  }

  function finish(
    res: ServerResponse,
    context: LaneContext,
    answer: LaneAnswer,
    headers: Record<string, string>,
    payload: string | Buffer,
  ): void {
    headers['content-length'] = String(
      typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length,
    );
    res.writeHead(200, headers);
    res.end(payload);
    counts.answered++;
    const ms = performance.now() - context.startedAt;
    parts.observe?.(context.raw.url!, 'POST', 200, ms);
    answer.sent?.(ms);
  }

  /** True when answered (or being answered); false: Fastify takes the request. */
  function answer(
    req: LaneRequest,
    res: ServerResponse,
    lookup: LaneLookup,
    text: string,
    startedAt: number,
  ): boolean | Promise<boolean> {
    let principal: Principal = ANONYMOUS;
    if (parts.authenticate !== undefined) {
      const who = parts.authenticate(req.url!, req.headers);
      if (who instanceof Error) return false;
      principal = who;
    }
    const context: LaneContext = {
      id: genRequestId(req),
      principal,
      headers: req.headers,
      startedAt,
      raw: req,
    };
    const limiter = parts.rateLimiter;
    const key = limiter?.keyOf(principal, req.url!);
    /** Looks the body up and answers it, after the rate limit allowed it (`d`) or with none. */
    const lookUp = (d: RateLimitDecision | undefined): boolean | Promise<boolean> => {
      const found = lookup(text, context);
      if (found === undefined) return false;
      const headers: Record<string, string> = { 'x-request-id': context.id };
      const client = clientRequestId(req);
      if (client !== undefined) headers['x-client-request-id'] = client;
      for (const name in found.headers) headers[name] = found.headers[name]!;
      if (d !== undefined) limiter!.headers(headers, d);
      const sending = send(res, context, found, headers);
      return sending === undefined ? true : sending.then(() => true);
    };
    if (limiter === undefined || key === undefined) return lookUp(undefined);
    // Counted before the lookup, so a denied request is never routed (an experiment's exposure
    // filed for a request that is then answered 429 would be left behind); the decision goes with
    // any request handed over, so Fastify's hook applies it without counting it again.
    const go = (d: RateLimitDecision): boolean | Promise<boolean> => {
      handOverDecision(req, d);
      return d.allowed ? lookUp(d) : false;
    };
    const decision = limiter.hit(key);
    return decision instanceof Promise ? decision.then(go) : go(decision);
  }

  return {
    enabled,
    serverFactory(handler, fastifyOptions) {
      // What Fastify sets on a server it makes itself (lib/server.js), since it does not on ours.
      const server = http.createServer((req: LaneRequest, res) => {
        const lookup = enabled && req.method === 'POST' ? routes.get(req.url!) : undefined;
        if (lookup === undefined || (parts.admit !== undefined && !parts.admit())) {
          if (lookup !== undefined) counts.passed++;
          return handler(req, res);
        }
        const headers = req.headers;
        const length = Number(headers['content-length']);
        if (
          !(length >= 0 && length <= maxBodyBytes) ||
          headers['transfer-encoding'] !== undefined ||
          headers['content-encoding'] !== undefined ||
          !isJson(headers['content-type'])
        ) {
          counts.passed++;
          return handler(req, res);
        }
        const startedAt = performance.now();
        // Bytes, decoded once at the end: no string decoder per request, and a character split
        // between two chunks is decoded whole.
        let first: Buffer | undefined;
        let chunks: Buffer[] | undefined;
        // An aborted upload ends here: nobody answers a client that left.
        req.on('error', ignore);
        req.on('data', (chunk: Buffer) => {
          if (first === undefined) first = chunk;
          else if (chunks === undefined) chunks = [first, chunk];
          else chunks.push(chunk);
        });
        req.on('end', () => {
          const text =
            chunks !== undefined ? Buffer.concat(chunks).toString('utf8') : (first?.toString('utf8') ?? '');
          const handOver = () => {
            if (res.headersSent || res.destroyed) return;
            counts.handedOver++;
            req[kBody] = text;
            handler(req, res);
          };
          let done: boolean | Promise<boolean>;
          try {
            done = answer(req, res, lookup, text, startedAt);
          } catch (err) {
            parts.warn?.({ err }, 'the front lane failed on a request; Fastify answers it');
            done = false;
          }
          if (done === false) handOver();
          else if (done !== true) {
            done.then(
              (ok) => ok || handOver(),
              (err: unknown) => {
                parts.warn?.({ err }, 'the front lane failed on a request; Fastify answers it');
                handOver();
              },
            );
          }
        });
      });
      server.keepAliveTimeout = fastifyOptions.keepAliveTimeout ?? 72_000;
      server.requestTimeout = fastifyOptions.requestTimeout ?? 0;
      server.setTimeout(fastifyOptions.connectionTimeout ?? 0);
      if ((fastifyOptions.maxRequestsPerSocket ?? 0) > 0)
        server.maxRequestsPerSocket = fastifyOptions.maxRequestsPerSocket!;
      return server;
    },
    post(path, lookup) {
      routes.set(path, lookup);
    },
    use(next) {
      parts = { ...parts, ...next };
    },
    replayBody(request, _reply, payload, done) {
      const raw = request.raw as LaneRequest;
      const text = raw[kBody];
      if (text === undefined) return done(null, payload as Readable);
      raw[kBody] = undefined;
      const stream = new Readable({ read() {} });
      stream.push(text, 'utf8');
      stream.push(null);
      done(null, stream);
    },
    stats() {
      return { ...counts };
    },
  };
}

function ignore(): void {}

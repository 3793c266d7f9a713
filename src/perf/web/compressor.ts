/**
 * One-shot compression per content coding, with the level chosen by body size and by how often
 * the result is used.
 *
 * - `dynamic`: a body compressed for one response: level 1, which keeps nearly all of the ratio
 *   for a fraction of the CPU (16 KiB JSON: zstd 1 33 µs, gzip 1 37 µs, brotli 1 50 µs; brotli 11
 *   takes ~19 ms).
 * - `cached`: a body compressed once and served many times (precompressed cache hits). Strong
 *   levels pay for themselves after a few hits; they run on the libuv thread pool so a slow
 *   brotli-11 never blocks the event loop.
 *
 * Small dynamic bodies compress synchronously: below ~64 KiB the thread-pool hop costs as much as
 * the compression itself.
 */
import type { Transform } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Counter } from 'prom-client';
import type { MetricsRegistry } from '../metrics/index.ts';
import { type CompressorPool, createCompressorPool } from '../pool/index.ts';
import type { Encoding } from './encoding.ts';

export type CompressionMode = 'dynamic' | 'cached' | 'stream';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Dynamic bodies at or above this size compress on the thread pool. */
export const ASYNC_THRESHOLD = 64 * KiB;

const { constants } = zlib;

/** The level for a coding, a mode and a body size (zlib level, brotli quality, zstd level). */
export function levelFor(encoding: Encoding, mode: CompressionMode, size: number): number {
  // Dynamic bodies use level 1 in every coding. Measured on 1.7-167 KB JSON: gzip 1 and brotli 1
  // cost a quarter to two thirds of gzip 6 and brotli 4 for output at most a third larger, and
  // zstd 1 costs about what zstd 3 does for about the same output. This CPU is spent on every
  // response; the bytes a higher level saves are a few hundred.
  if (mode === 'dynamic') return 1;
  // A streamed body is written in many small pieces (an export's rows). Brotli's stream at
  // quality 1 emits a meta-block per write: 2,000 NDJSON rows of 43 bytes came out at 92 KB, larger
  // than the 86 KB input; quality 4 gave 3.3 KB. The other codings buffer and stay at level 1.
  if (mode === 'stream') return encoding === 'br' ? 4 : 1;
  switch (encoding) {
    // zstd above ~9 buys little on JSON and level 19 costs 200x more (measured); 9 is the knee.
    case 'zstd':
      return size < MiB ? 9 : 3;
    case 'br':
      return size < 64 * KiB ? 11 : size < MiB ? 9 : 5;
    default:
      return size < MiB ? 9 : 6;
  }
}

/** Options for a coding at `level`; `size`, when known (not for a stream), sizes the work. */
function brotliOptions(level: number, size?: number): zlib.BrotliOptions {
  const params: Record<number, number> = {
    [constants.BROTLI_PARAM_QUALITY]: level,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  };
  if (size !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = size;
  return { params };
}

function zstdOptions(level: number, size?: number): zlib.ZstdOptions {
  const params = { [constants.ZSTD_c_compressionLevel]: level };
  return size === undefined ? { params } : { params, pledgedSrcSize: size };
}

const zstdAsync = promisify(zlib.zstdCompress);
const brotliAsync = promisify(zlib.brotliCompress);
const gzipAsync = promisify(zlib.gzip);
const deflateAsync = promisify(zlib.deflate);

function runSync(data: Buffer, encoding: Encoding, level: number): Buffer {
  switch (encoding) {
    case 'zstd':
      return zlib.zstdCompressSync(data, zstdOptions(level, data.length));
    case 'br':
      return zlib.brotliCompressSync(data, brotliOptions(level, data.length));
    case 'gzip':
      return zlib.gzipSync(data, { level });
    case 'deflate':
      return zlib.deflateSync(data, { level });
  }
}

function runAsync(data: Buffer, encoding: Encoding, level: number): Promise<Buffer> {
  switch (encoding) {
    case 'zstd':
      return zstdAsync(data, zstdOptions(level, data.length));
    case 'br':
      return brotliAsync(data, brotliOptions(level, data.length));
    case 'gzip':
      return gzipAsync(data, { level });
    case 'deflate':
      return deflateAsync(data, { level });
  }
}

/**
 * A compressing stream at `level`, for bodies of unknown length (exports): zlib's own stream
 * objects, which keep memory flat however long the body is.
 */
function runStream(encoding: Encoding, level: number): Transform {
  switch (encoding) {
    case 'zstd':
      return zlib.createZstdCompress(zstdOptions(level));
    case 'br':
      return zlib.createBrotliCompress(brotliOptions(level));
    case 'gzip':
      return zlib.createGzip({ level });
    case 'deflate':
      return zlib.createDeflate({ level });
  }
}

/** Compresses bodies and counts the work done (the counter is how tests prove a hit did none). */
export interface Compressor {
  /** Synchronous: for small dynamic bodies. */
  compressSync(data: Buffer, encoding: Encoding, mode: CompressionMode): Buffer;
  /** On the thread pool. */
  compress(data: Buffer, encoding: Encoding, mode: CompressionMode): Promise<Buffer>;
  /** A compressing stream for a streamed body; absent, streamed bodies go uncompressed. */
  stream?(encoding: Encoding): Transform;
  /** Compressions performed by this compressor since it was created. */
  readonly calls: number;
  /** Frees pooled compressor contexts. */
  close?(): Promise<void>;
}

export function createCompressor(metrics?: MetricsRegistry): Compressor {
  let calls = 0;
  const counter: Counter<'encoding' | 'mode'> | undefined = metrics?.counter({
    name: 'http_compressions_total',
    help: 'Response bodies compressed, by content coding and mode (dynamic: per response; cached: once per cached body; stream: a streamed body such as an export).',
    labelNames: ['encoding', 'mode'] as const,
  });
  const count = (encoding: Encoding, mode: CompressionMode) => {
    calls++;
    counter?.inc({ encoding, mode });
  };
  // Large dynamic bodies (the thread-pool path) reuse zlib contexts instead of creating one per
  // response (the pool table in docs/performance.md). Not for zstd below level 3: its context is
  // cheap to make, and the one-shot call measured faster there in 3 of 4 runs. Brotli has no
  // reusable stream context in Node; cached-mode bodies are compressed once anyway.
  const pools = new Map<string, CompressorPool>();
  const pooled = (encoding: Encoding, level: number): CompressorPool | undefined => {
    if (encoding === 'br' || (encoding === 'zstd' && level < 3)) return undefined;
    const key = `${encoding}-${level}`;
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = createCompressorPool({ coding: encoding, level, ...(metrics ? { metrics } : {}) });
      pools.set(key, pool);
    }
    return pool;
  };
  return {
    compressSync(data, encoding, mode) {
      count(encoding, mode);
      return runSync(data, encoding, levelFor(encoding, mode, data.length));
    },
    compress(data, encoding, mode) {
      count(encoding, mode);
      const level = levelFor(encoding, mode, data.length);
      const pool = mode === 'dynamic' ? pooled(encoding, level) : undefined;
      return pool !== undefined ? pool.compress(data) : runAsync(data, encoding, level);
    },
    stream(encoding) {
      count(encoding, 'stream');
      return runStream(encoding, levelFor(encoding, 'stream', 0));
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => p.close()));
    },
    get calls() {
      return calls;
    },
  };
}

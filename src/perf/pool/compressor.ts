/**
 * Compression on pooled zlib contexts. Node's one-shot functions (`zlib.gzip`, `zstdCompress`, ...)
 * create and free a compressor context per call: for gzip a 256 KiB window plus hash tables, for
 * zstd and brotli larger match-finder state. A pooled stream is written, finished, reset and
 * lent again, so that setup is paid once per context; and `max` bounds how many compressions
 * occupy the libuv thread pool at once.
 */
import zlib from 'node:zlib';
import type { MetricsRegistry } from '../metrics/index.ts';
import { createPool, type Pool, type PoolStats } from './pool.ts';

export type Coding = 'gzip' | 'deflate' | 'zstd';

export interface CompressorPoolOptions {
  coding: Coding;
  /** zlib level (gzip, deflate) or zstd level. @default 6 for gzip/deflate, 3 for zstd */
  level?: number;
  /** Contexts at most; beyond, callers wait. @default 4 (the libuv thread pool size) */
  max?: number;
  /** @default `compress-${coding}-${level}` */
  name?: string;
  metrics?: MetricsRegistry;
}

export interface CompressorPool {
  readonly name: string;
  compress(input: Buffer, signal?: AbortSignal): Promise<Buffer>;
  stats(): PoolStats;
  close(): Promise<void>;
}

type Stream = zlib.Gzip | zlib.Deflate | zlib.ZstdCompress;

/** Output chunk size: each chunk is one thread-pool round trip, so fewer, larger ones. */
const CHUNK = 64 * 1024;

function open(coding: Coding, level: number): { stream: Stream; finish: number } {
  switch (coding) {
    case 'gzip':
      return { stream: zlib.createGzip({ level, chunkSize: CHUNK }), finish: zlib.constants.Z_FINISH };
    case 'deflate':
      return { stream: zlib.createDeflate({ level, chunkSize: CHUNK }), finish: zlib.constants.Z_FINISH };
    case 'zstd':
      return {
        stream: zlib.createZstdCompress({
          chunkSize: CHUNK,
          params: { [zlib.constants.ZSTD_c_compressionLevel]: level },
        }),
        finish: zlib.constants.ZSTD_e_end,
      };
  }
}

interface Context {
  stream: Stream;
  finish: number;
}

/** One complete compressed document from a stream: write, finish (flush), collect. */
function run(ctx: Context, input: Buffer): Promise<Buffer> {
  const { stream } = ctx;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    };
    const onError = (err: Error) => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(input);
    stream.flush(ctx.finish, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

export function createCompressorPool(options: CompressorPoolOptions): CompressorPool {
  const level = options.level ?? (options.coding === 'zstd' ? 3 : 6);
  const name = options.name ?? `compress-${options.coding}-${level}`;
  const pool: Pool<Context> = createPool<Context>({
    name,
    create: () => open(options.coding, level),
    // A finished stream starts a new document only after a reset.
    reset: (ctx) => (ctx.stream as unknown as { reset(): void }).reset(),
    destroy: (ctx) => {
      ctx.stream.destroy();
    },
    max: options.max ?? 4,
    idleTimeout: 60_000,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  return {
    name,
    async compress(input, signal) {
      const ctx = pool.tryAcquire() ?? (await pool.acquire(signal));
      let out: Buffer;
      try {
        out = await run(ctx, input);
      } catch (err) {
        // A stream that failed mid-document is not safe to reset and reuse.
        pool.discard(ctx);
        throw err;
      }
      pool.release(ctx);
      return out;
    },
    stats: () => pool.stats(),
    close: () => pool.close(),
  };
}

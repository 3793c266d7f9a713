/**
 * Should server-sent event streams (chat completions with `stream: true`) be compressed?
 *
 * A token stream must flush every event, or the client sees tokens late. This measures, for each
 * coding with a flush per event: the compressed size against identity, the CPU per event, and
 * the memory each open stream holds (the compressor's window and hash tables), on a stream shaped
 * like OpenAI's chunk format. The anchor is the uncompressed stream, which costs nothing extra.
 */
import zlib from 'node:zlib';
import { collectGarbage } from '../../src/perf/memory/index.ts';
import { human, median, preamble, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const C = zlib.constants;
const WORDS = 'The quick brown fox jumps over the lazy dog and then considers the meaning of life'.split(' ');

function chunks(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = {
      id: 'chatcmpl-abc123def456',
      object: 'chat.completion.chunk',
      created: 1764230000,
      model: 'mock/fast',
      choices: [{ index: 0, delta: { content: ` ${WORDS[(i * 7) % WORDS.length]}` }, finish_reason: null }],
    };
    out.push(Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`));
  }
  out.push(Buffer.from('data: [DONE]\n\n'));
  return out;
}

type Stream = zlib.Gzip | zlib.BrotliCompress | zlib.ZstdCompress;

const CODINGS: { name: string; make: () => Stream; flush: number }[] = [
  { name: 'gzip level 1 (default window)', make: () => zlib.createGzip({ level: 1 }), flush: C.Z_SYNC_FLUSH },
  {
    name: 'gzip level 1, 1 KiB window',
    make: () => zlib.createGzip({ level: 1, windowBits: 10, memLevel: 2 }),
    flush: C.Z_SYNC_FLUSH,
  },
  {
    name: 'brotli 4',
    make: () => zlib.createBrotliCompress({ params: { [C.BROTLI_PARAM_QUALITY]: 4 } }),
    flush: C.BROTLI_OPERATION_FLUSH,
  },
  {
    name: 'zstd 3',
    make: () => zlib.createZstdCompress({ params: { [C.ZSTD_c_compressionLevel]: 3 } }),
    flush: C.ZSTD_e_flush,
  },
  {
    name: 'zstd 1, 16 KiB window',
    make: () =>
      zlib.createZstdCompress({ params: { [C.ZSTD_c_compressionLevel]: 1, [C.ZSTD_c_windowLog]: 14 } }),
    flush: C.ZSTD_e_flush,
  },
];

async function oneStream(events: Buffer[], make: () => Stream, flush: number) {
  const stream = make();
  let bytes = 0;
  stream.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  const cpu = process.cpuUsage();
  for (const e of events) {
    stream.write(e);
    await new Promise<void>((resolve) => stream.flush(flush, () => resolve()));
  }
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  const used = process.cpuUsage(cpu);
  return { bytes, cpuUsPerEvent: (used.user + used.system) / events.length };
}

/** Resident memory per open stream, after each has compressed and flushed its first event. */
async function memoryPerStream(
  events: Buffer[],
  make: () => Stream,
  flush: number,
  n = 300,
): Promise<number> {
  // Garbage of the previous coding's streams would otherwise be freed inside the measurement.
  collectGarbage();
  await new Promise((r) => setTimeout(r, 50));
  const before = process.memoryUsage.rss();
  const open: Stream[] = [];
  for (let i = 0; i < n; i++) {
    const s = make();
    s.on('data', () => {});
    s.write(events[0]!);
    await new Promise<void>((resolve) => s.flush(flush, () => resolve()));
    open.push(s);
  }
  // The streams stay referenced: what a collection frees here was transient, not held per stream.
  collectGarbage();
  const after = process.memoryUsage.rss();
  for (const s of open) s.destroy();
  return (after - before) / n / 1024;
}

export const scenario: Scenario = {
  id: 'sse-compression',
  title: 'SSE: compress token streams (flush per event) or not',
  async run({ runs, log }) {
    const events = chunks(300);
    const identity = events.reduce((n, b) => n + b.length, 0);
    const rows: string[][] = [['identity (not compressed)', '1.00', '0', '0', '0']];
    for (const coding of CODINGS) {
      const sizes: number[] = [];
      const cpu: number[] = [];
      const mem: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await oneStream(events, coding.make, coding.flush);
        sizes.push(r.bytes);
        cpu.push(r.cpuUsPerEvent);
        mem.push(await memoryPerStream(events, coding.make, coding.flush));
      }
      const kbPerStream = median(mem);
      log(
        `  ${coding.name}: ${(median(sizes) / identity).toFixed(3)} of identity, ${human(median(cpu))} µs/event`,
      );
      rows.push([
        coding.name,
        (median(sizes) / identity).toFixed(3),
        human(median(cpu)),
        human(kbPerStream),
        human((kbPerStream * 1000) / 1024),
      ]);
    }
    return [
      preamble('npm run bench -- sse-compression', runs),
      `A stream of ${events.length} chat-completion chunks (${Math.round(identity / events.length)} bytes per event on average), flushed after every event.`,
      '',
      table(
        [
          'coding',
          'bytes vs identity',
          'CPU µs per event',
          'KB held per open stream',
          'MB for 1,000 open streams',
        ],
        rows,
      ),
    ].join('\n');
  },
};

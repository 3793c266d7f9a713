/**
 * Object pool acquire+release against generic-pool and tarn, in the same run: uncontended (an idle
 * object is always there) and contended (64 borrowers share 8 objects, each holding its object
 * across an await). Also the pooled compressor against zlib's one-shot functions.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import genericPool from 'generic-pool';
import { measure } from 'mitata';
import tarn from 'tarn';
import { type Coding, createCompressorPool, createPool } from '../../src/perf/pool/index.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

interface Obj {
  n: number;
}
const create = (): Obj => ({ n: 0 });

/** Operations per second of `fn`, which performs `batch` operations per call. */
async function opsPerSecond(fn: () => unknown, batch = 1): Promise<number> {
  const stats = await measure(fn, { min_cpu_time: 300e6 });
  return (batch * 1e9) / stats.p50;
}

function makeVersus(max: number) {
  return createPool<Obj>({ name: 'bench', create, max, maxWaiting: 10_000, idleTimeout: 0 });
}
function makeGeneric(max: number) {
  return genericPool.createPool<Obj>(
    { create: async () => create(), destroy: async () => {} },
    { max, min: 0, maxWaitingClients: 10_000 },
  );
}
function makeTarn(max: number) {
  return new tarn.Pool<Obj>({ create: (cb) => cb(null, create()), destroy: () => {}, min: 0, max });
}

interface Contender {
  acquire(): Promise<Obj>;
  release(o: Obj): unknown;
}

const BORROWERS = 64;
const OBJECTS = 8;
const PER_BATCH = 8192;

/** 64 borrowers, 8 objects: every borrow holds its object across one await, so most borrows queue. */
function contended(pool: Contender): () => Promise<void> {
  return async () => {
    let left = PER_BATCH;
    const worker = async () => {
      while (left-- > 0) {
        const o = await pool.acquire();
        o.n++;
        await null;
        await pool.release(o);
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < BORROWERS; i++) workers.push(worker());
    await Promise.all(workers);
  };
}

const gzipAsync = promisify(zlib.gzip);
const zstdAsync = promisify(zlib.zstdCompress);

/** JSON of about `kib` KiB, shaped like an API response listing records. */
function jsonBody(kib: number): Buffer {
  const rows = Math.max(1, Math.round((kib * 1024) / 120));
  return Buffer.from(
    JSON.stringify(
      Array.from({ length: rows }, (_, i) => ({
        id: i,
        variant: `v${i % 3}`,
        text: 'the quick brown fox '.repeat(3),
      })),
    ),
  );
}

/** Compressions per second with 16 concurrent callers. */
async function compressRate(fn: () => Promise<unknown>, n: number): Promise<number> {
  let left = n;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (left-- > 0) await fn();
    }),
  );
  return (n / (performance.now() - started)) * 1000;
}

const COMPRESSION_CASES: { coding: Coding; level: number; oneShot: (b: Buffer) => Promise<Buffer> }[] = [
  { coding: 'gzip', level: 6, oneShot: (b) => gzipAsync(b, { level: 6 }) },
  { coding: 'gzip', level: 1, oneShot: (b) => gzipAsync(b, { level: 1 }) },
  {
    coding: 'zstd',
    level: 3,
    oneShot: (b) => zstdAsync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } }),
  },
  {
    coding: 'zstd',
    level: 1,
    oneShot: (b) => zstdAsync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }),
  },
];

async function compressionTable(runs: number, log: (line: string) => void): Promise<string> {
  const rows: string[][] = [];
  for (const kib of [1, 64]) {
    const body = jsonBody(kib);
    const n = kib === 1 ? 4000 : 600;
    for (const c of COMPRESSION_CASES) {
      const pool = createCompressorPool({ coding: c.coding, level: c.level });
      const pooled: number[] = [];
      const fresh: number[] = [];
      await compressRate(() => pool.compress(body), 100);
      for (let r = 0; r < runs; r++) {
        fresh.push(await compressRate(() => c.oneShot(body), n));
        pooled.push(await compressRate(() => pool.compress(body), n));
      }
      await pool.close();
      const p = median(pooled);
      const f = median(fresh);
      log(`  ${kib} KiB ${c.coding}-${c.level}: pooled ${human(p)}/s, one-shot ${human(f)}/s`);
      rows.push([
        `${(body.length / 1024).toFixed(0)} KiB`,
        `${c.coding} ${c.level}`,
        human(p),
        human(f),
        ratio(p, f),
      ]);
    }
  }
  return table(['JSON body', 'coding, level', 'pooled contexts /s', 'zlib one-shot async /s', 'ratio'], rows);
}

export const scenario: Scenario = {
  id: 'pool',
  title: 'Object pool: acquire + release vs generic-pool and tarn',
  async run({ runs, log }) {
    const results: Record<string, number[]> = {};
    const add = (k: string, v: number) => {
      results[k] = [...(results[k] ?? []), v];
    };
    for (let r = 0; r < runs; r++) {
      const versus = makeVersus(OBJECTS);
      const generic = makeGeneric(OBJECTS);
      const tarnPool = makeTarn(OBJECTS);
      // Warm every pool to one idle object.
      versus.release(await versus.acquire());
      await generic.release(await generic.acquire());
      tarnPool.release(await tarnPool.acquire().promise);

      add(
        'sync',
        await opsPerSecond(() => {
          const o = versus.tryAcquire()!;
          o.n++;
          versus.release(o);
        }),
      );
      add(
        'async',
        await opsPerSecond(async () => {
          const o = await versus.acquire();
          o.n++;
          versus.release(o);
        }),
      );
      add(
        'using',
        await opsPerSecond(async () => {
          await using lease = await versus.borrow();
          lease.value.n++;
        }),
      );
      add(
        'generic',
        await opsPerSecond(async () => {
          const o = await generic.acquire();
          o.n++;
          await generic.release(o);
        }),
      );
      add(
        'tarn',
        await opsPerSecond(async () => {
          const o = await tarnPool.acquire().promise;
          o.n++;
          tarnPool.release(o);
        }),
      );
      add('c-versus', await opsPerSecond(contended(versus), PER_BATCH));
      add('c-generic', await opsPerSecond(contended(generic), PER_BATCH));
      add(
        'c-tarn',
        await opsPerSecond(
          contended({ acquire: () => tarnPool.acquire().promise, release: (o) => tarnPool.release(o) }),
          PER_BATCH,
        ),
      );
      log(
        `  run ${r + 1}/${runs}: sync ${human(results.sync!.at(-1)!)}/s, generic-pool ${human(results.generic!.at(-1)!)}/s, contended ${human(results['c-versus']!.at(-1)!)}/s vs ${human(results['c-generic']!.at(-1)!)}/s`,
      );
      await versus.close();
      await generic.drain();
      await generic.clear();
      await tarnPool.destroy();
    }
    const m = (k: string) => median(results[k]!);
    const row = (what: string, k: string, g: string, t: string) => [
      what,
      human(m(k)),
      human(m(g)),
      human(m(t)),
      ratio(m(k), m(g)),
      ratio(m(k), m(t)),
    ];
    return [
      preamble('npm run bench -- pool', runs),
      `Operations per second (median of mitata samples per run, then median of runs). Contended: ${BORROWERS} borrowers share ${OBJECTS} objects, each holding its object across one \`await\`.`,
      '',
      table(
        ['case', 'Versus', 'generic-pool', 'tarn', 'vs generic-pool', 'vs tarn'],
        [
          row('uncontended, `tryAcquire()` + `release()` (sync fast path)', 'sync', 'generic', 'tarn'),
          row('uncontended, `await acquire()` + `release()`', 'async', 'generic', 'tarn'),
          row('uncontended, `await using lease = await borrow()`', 'using', 'generic', 'tarn'),
          row(`contended (${BORROWERS} borrowers, ${OBJECTS} objects)`, 'c-versus', 'c-generic', 'c-tarn'),
        ],
      ),
      '',
      '#### Pooled compressor contexts (`createCompressorPool`) vs zlib one-shot async',
      '',
      'Compressions per second, 16 concurrent callers, pool of 4 contexts (the libuv thread pool size); the one-shot functions create a context per call.',
      '',
      await compressionTable(runs, log),
    ].join('\n');
  },
};

/**
 * What the database layer adds per statement over a raw node-postgres Pool: acquire + release
 * alone, and a full `SELECT 1` sequentially and at 32 concurrent callers, same run, alternating.
 */
import { bench, do_not_optimize, run } from 'mitata';
import pg from 'pg';
import { createDatabase } from '../../src/perf/db/index.ts';
import { createPgDriver } from '../../src/perf/db/pg-driver.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const SIZE = 10;
const QUERIES = 3000;

async function throughput(fn: () => Promise<unknown>, concurrency: number): Promise<number> {
  let left = QUERIES;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await fn();
    }),
  );
  return QUERIES / ((performance.now() - started) / 1000);
}

export const scenario: Scenario = {
  id: 'db-pool',
  title: 'Database: pool overhead vs raw pg Pool',
  async run({ runs, log }) {
    const url = process.env.DATABASE_URL;
    if (!url) return 'Not measured: set DATABASE_URL (the comparison is against a raw pg Pool).';
    const raw = new pg.Pool({ connectionString: url, max: SIZE });
    const driver = createPgDriver({
      url,
      size: SIZE,
      maxOverflow: 0,
      timeoutMs: 30_000,
      recycleMs: 3_600_000,
      overflowIdleMs: 10_000,
      searchPath: undefined,
      applicationName: 'versus-bench',
      onError: () => {},
    });
    const db = await createDatabase({
      url,
      poolSize: SIZE,
      maxOverflow: 0,
      slowQueryMs: 60_000,
      healthCheckIntervalMs: 0,
    });
    const acquire = new Map<string, number[]>();
    const seq = { raw: [] as number[], db: [] as number[] };
    const conc = { raw: [] as number[], db: [] as number[] };
    try {
      // Open the connections first so the runs compare reuse, not connection set-up.
      await Promise.all(Array.from({ length: SIZE }, () => raw.query('SELECT 1')));
      await Promise.all(Array.from({ length: SIZE }, () => db.query('SELECT 1')));
      for (let r = 0; r < runs; r++) {
        bench('raw pg Pool connect + release', async () => {
          const c = await raw.connect();
          c.release();
          do_not_optimize(c);
        });
        bench('Versus pool acquire + release', async () => {
          const a = await driver.acquire();
          a.session.release();
          do_not_optimize(a);
        });
        const result = await run({ format: 'quiet', throw: true });
        for (const b of result.benchmarks) {
          acquire.set(b.alias, [...(acquire.get(b.alias) ?? []), b.runs[0]?.stats?.avg ?? Number.NaN]);
        }
        seq.raw.push(await throughput(() => raw.query('SELECT 1'), 1));
        seq.db.push(await throughput(() => db.query('SELECT 1'), 1));
        conc.raw.push(await throughput(() => raw.query('SELECT 1'), 32));
        conc.db.push(await throughput(() => db.query('SELECT 1'), 32));
        log(
          `  run ${r + 1}/${runs}: SELECT 1 sequential raw ${human(seq.raw.at(-1)!)}/s versus ${human(seq.db.at(-1)!)}/s; 32 callers raw ${human(conc.raw.at(-1)!)}/s versus ${human(conc.db.at(-1)!)}/s`,
        );
      }
    } finally {
      await db.close();
      await driver.close();
      await raw.end();
    }
    const rawAcq = median(acquire.get('raw pg Pool connect + release') ?? []);
    const ourAcq = median(acquire.get('Versus pool acquire + release') ?? []);
    return [
      preamble('npm run bench -- db-pool', runs),
      `Pools of ${SIZE} connections to the same PostgreSQL, connections opened before measuring. Acquire + release: mitata, one pair per iteration. SELECT 1: ${QUERIES} statements per run, throughput in statements/s; the Versus figure includes statement analysis (memoised), timing into the histogram and per-statement stats.`,
      '',
      table(
        ['measure', 'raw pg Pool', 'Versus', 'Versus / raw'],
        [
          [
            'acquire + release',
            `${(rawAcq / 1000).toFixed(2)} µs`,
            `${(ourAcq / 1000).toFixed(2)} µs`,
            ratio(ourAcq, rawAcq),
          ],
          [
            'SELECT 1, 1 caller',
            `${human(median(seq.raw))}/s`,
            `${human(median(seq.db))}/s`,
            ratio(median(seq.db), median(seq.raw)),
          ],
          [
            'SELECT 1, 32 callers',
            `${human(median(conc.raw))}/s`,
            `${human(median(conc.db))}/s`,
            ratio(median(conc.db), median(conc.raw)),
          ],
        ],
      ),
    ].join('\n');
  },
};

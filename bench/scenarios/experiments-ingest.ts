/**
 * Event ingestion on PostgreSQL: the recorder's batched write (one INSERT ... SELECT FROM unnest
 * per 5,000 events) against row-at-a-time INSERTs over 8 pooled connections, same run, same
 * table and indexes. Goal: at least 50,000 events/s batched.
 */
import type { ExperimentEvent } from '../../src/platform/events/index.ts';
import { insertEvent, insertEvents } from '../../src/platform/events/index.ts';
import { withProductSchema } from '../lib/experiments-db.ts';
import { human, median, preamble, ratio, table } from '../lib/report.ts';
import type { Scenario } from '../lib/scenario.ts';

const BATCHED = 200_000;
const ROW_AT_A_TIME = 10_000;
const BATCH = 5000;
const CONCURRENCY = 8;

let seq = 0;
function events(n: number): ExperimentEvent[] {
  const out: ExperimentEvent[] = [];
  for (let i = 0; i < n; i++) {
    seq++;
    out.push({
      responseId: `bench-${process.pid}-${seq}`,
      experimentId: 'exp_bench',
      variant: seq % 2 === 0 ? 'control' : 'treatment',
      unit: `user-${seq % 50_000}`,
      sticky: true,
      createdAt: new Date(),
      model: 'mock/fast',
      status: 200,
      errorCode: null,
      latencyMs: 20 + (seq % 100),
      ttftMs: null,
      promptTokens: 12,
      completionTokens: 40,
      costUsd: 0.0000172,
      cacheHit: false,
      fallback: false,
      fallbackModel: null,
      stream: false,
    });
  }
  return out;
}

export const scenario: Scenario = {
  id: 'experiments-ingest',
  title: 'Experiment events: batched vs row-at-a-time ingestion on PostgreSQL',
  async run({ runs, log }) {
    const batched: number[] = [];
    const rows: number[] = [];
    await withProductSchema(async (db) => {
      await insertEvents(db, events(BATCH)); // warm: plans, connections
      for (let r = 0; r < runs; r++) {
        const all = events(BATCHED);
        let started = performance.now();
        let next = 0;
        // Two writers, as the recorder keeps one batch in flight per instance and a second
        // instance would add another.
        await Promise.all(
          [0, 1].map(async () => {
            while (next < all.length) {
              const from = next;
              next += BATCH;
              await insertEvents(db, all.slice(from, from + BATCH));
            }
          }),
        );
        batched.push(BATCHED / ((performance.now() - started) / 1000));
        const single = events(ROW_AT_A_TIME);
        started = performance.now();
        next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < single.length) await insertEvent(db, single[next++]!);
          }),
        );
        rows.push(ROW_AT_A_TIME / ((performance.now() - started) / 1000));
        log(
          `  run ${r + 1}/${runs}: batched ${human(batched.at(-1)!)} events/s, row-at-a-time ${human(rows.at(-1)!)} events/s`,
        );
      }
    });
    const b = median(batched);
    const s = median(rows);
    return [
      preamble('DATABASE_URL=postgres://... npm run bench -- experiments-ingest', runs),
      `Batched: ${human(BATCHED)} events per run in batches of ${BATCH} (one \`INSERT ... SELECT FROM unnest(...)\` each, 2 writers). Row-at-a-time: ${human(ROW_AT_A_TIME)} single-row INSERTs over ${CONCURRENCY} connections. Table \`experiment_events\` with its primary key and export index. Goal: >= 50 K events/s batched.`,
      '',
      table(
        ['method', 'events/s', 'vs row-at-a-time'],
        [
          ['batched (recorder)', human(b), ratio(b, s)],
          ['row-at-a-time', human(s), '1.00×'],
        ],
      ),
    ].join('\n');
  },
};

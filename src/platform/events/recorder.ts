/**
 * Event recording: events go into the bounded write-behind buffer and reach the database in
 * batches. The recorder also answers "is this response known?" for feedback, including responses
 * whose event is still buffered here (a local map) or in another instance (a short-lived Redis
 * marker when Redis is configured; otherwise one re-check after a flush interval).
 */

import { sqlstateOf, withoutQuotedValues } from '../../perf/db/index.ts';
import type { MetricsRegistry } from '../../perf/metrics/index.ts';
import type { ExperimentEvent } from './model.ts';
import { eventExperiment, insertEvents, isUnwritableEventError, type SqlClient } from './store.ts';
import { createWriteBehind, type WriteBehindStats } from './write-behind.ts';

/** The Redis commands the recorder uses (ioredis). */
export interface MarkerStore {
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

export interface Logger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RecorderOptions {
  db: SqlClient;
  log: Logger;
  metrics?: MetricsRegistry;
  /** Marks responses in Redis so feedback sent to another instance finds them before the flush. */
  markers?: MarkerStore | undefined;
  /** @default 200 */
  flushIntervalMs?: number;
  /** @default 5000 */
  maxBatch?: number;
  /** @default 200000 */
  maxBuffered?: number;
  /** @default 100 */
  retryBaseMs?: number;
  /** @default 5000 */
  retryMaxMs?: number;
}

export interface Recorder {
  /** Buffers the event; false when the buffer is full (the event is dropped and counted). */
  record(event: ExperimentEvent): boolean;
  /** The experiment a response belongs to, wherever its event is now; undefined when unknown. */
  lookup(responseId: string): Promise<string | undefined>;
  /** Writes everything buffered now (rejects while the database is down; nothing is lost). */
  flush(): Promise<void>;
  /** Flushes, retrying until the deadline; resolves with the number of events lost. */
  close(deadlineMs?: number): Promise<number>;
  stats(): WriteBehindStats;
}

const MARKER_PREFIX = 'versus:response:';
/** Long enough for any realistic outage the buffer can absorb. */
const MARKER_TTL_MS = 15 * 60_000;

export function createRecorder(options: RecorderOptions): Recorder {
  const { db, log, markers } = options;
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  /** Response id → experiment id, for events not yet written. */
  const pending = new Map<string, string>();
  const m = options.metrics;
  const written = m?.counter({
    name: 'experiment_events_written_total',
    help: 'Experiment events written to the database.',
  });
  const dropped = m?.counter({
    name: 'experiment_events_dropped_total',
    help: 'Experiment events refused because the write-behind buffer was full.',
  });
  const failures = m?.counter({
    name: 'experiment_events_flush_failures_total',
    help: 'Failed event batch writes (retried with backoff).',
  });
  const rejected = m?.counter({
    name: 'experiment_events_rejected_total',
    help: 'Experiment events dropped because the database refused their values (SQLSTATE class 22, 23 or 54); retrying could never write them.',
  });
  const flushSeconds = m?.histogram({
    name: 'experiment_events_flush_duration_seconds',
    help: 'Time to write one batch of experiment events.',
  });

  const buffer = createWriteBehind<ExperimentEvent>(
    {
      async write(batch) {
        await insertEvents(db, batch);
        for (const e of batch) pending.delete(e.responseId);
      },
    },
    {
      flushIntervalMs,
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
      ...(options.maxBuffered !== undefined ? { maxBuffered: options.maxBuffered } : {}),
      ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
      ...(options.retryMaxMs !== undefined ? { retryMaxMs: options.retryMaxMs } : {}),
      isUnwritable: isUnwritableEventError,
      onReject: (e, err) => {
        rejected?.inc();
        pending.delete(e.responseId);
        // One line for the first and then every hundredth: a systematic fault must not flood the
        // log. Ids only: the unit and the database's quoted values can be personal data.
        const total = buffer.stats().rejected;
        if (total === 1 || total % 100 === 0) {
          const message = withoutQuotedValues(String((err as Error)?.message ?? err));
          log.warn(
            {
              err: { sqlstate: sqlstateOf(err), message },
              response_id: e.responseId,
              experiment_id: e.experimentId,
              rejected: total,
            },
            'the database refused an experiment event it can never store; dropped it, the rest of its batch is written',
          );
        }
      },
      onWrite: (n, ms) => {
        written?.inc(n);
        flushSeconds?.observe(ms / 1000);
      },
      onError: (err, n, attempt) => {
        failures?.inc();
        // One line per outage and then every tenth attempt, not one per retry.
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn(
            {
              err: { message: (err as Error)?.message },
              batch: n,
              attempt,
              buffered: buffer.stats().buffered,
            },
            'writing experiment events failed; retrying with backoff, events stay buffered',
          );
        }
      },
      onDrop: (n) => {
        dropped?.inc(n);
        const total = buffer.stats().dropped;
        if (total === 1 || total % 1000 === 0) {
          log.error({ dropped: total }, 'experiment event buffer is full; events are being dropped');
        }
      },
    },
  );
  if (m !== undefined) {
    const gauge = m.gauge({
      name: 'experiment_events_buffered',
      help: 'Experiment events waiting to be written.',
    });
    m.onCollect(gauge, () => gauge.set(buffer.stats().buffered));
  }

  return {
    record(event) {
      if (!buffer.push(event)) return false;
      pending.set(event.responseId, event.experimentId);
      if (markers !== undefined) {
        markers.set(MARKER_PREFIX + event.responseId, event.experimentId, 'PX', MARKER_TTL_MS).catch(() => {
          // Without the marker, feedback sent to another instance before the flush waits one
          // flush interval and finds the event in the database instead.
        });
      }
      return true;
    },

    async lookup(responseId) {
      const local = pending.get(responseId);
      if (local !== undefined) return local;
      const stored = await eventExperiment(db, responseId);
      if (stored !== undefined) return stored;
      if (markers !== undefined) {
        const marked = await markers.get(MARKER_PREFIX + responseId).catch(() => null);
        if (marked !== null) return marked;
      }
      // Another instance may still hold it in its buffer: look once more after its next flush
      // (capped, so a long flush interval cannot hold a feedback request for long).
      await new Promise((r) => setTimeout(r, Math.min(flushIntervalMs, 1000) + 50));
      return pending.get(responseId) ?? (await eventExperiment(db, responseId));
    },

    flush: () => buffer.flush(),
    async close(deadlineMs) {
      const lost = await buffer.close(deadlineMs);
      if (lost > 0) log.error({ lost }, 'shutdown deadline passed with experiment events unwritten');
      pending.clear();
      return lost;
    },
    stats: () => buffer.stats(),
  };
}

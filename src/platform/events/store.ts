/**
 * Events and feedback in SQL. A batch of events is one INSERT ... SELECT FROM unnest(arrays): one
 * statement and 18 parameters whatever the batch size (a multi-row VALUES list would need 18 per
 * row and hit the 65,535-parameter limit at 3,640 rows), and one parse and plan per batch.
 * ON CONFLICT DO NOTHING makes a retried batch idempotent.
 */
import { sqlstateOf } from '../../perf/db/index.ts';
import type { ExperimentEvent } from './model.ts';

/** The part of the database layer (src/perf/db) this module uses. */
export interface SqlClient {
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>;
}

const INSERT_BATCH = `
INSERT INTO experiment_events (response_id, experiment_id, variant, unit, sticky, created_at, model,
  status, error_code, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost_usd, cache_hit,
  fallback, fallback_model, stream)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[],
  $7::text[], $8::smallint[], $9::text[], $10::float8[], $11::float8[], $12::integer[], $13::integer[],
  $14::float8[], $15::boolean[], $16::boolean[], $17::text[], $18::boolean[])
ON CONFLICT (response_id) DO NOTHING`;

const INSERT_ONE = `
INSERT INTO experiment_events (response_id, experiment_id, variant, unit, sticky, created_at, model,
  status, error_code, latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost_usd, cache_hit,
  fallback, fallback_model, stream)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (response_id) DO NOTHING`;

function columns(events: ExperimentEvent[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 18 }, () => new Array(events.length));
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    cols[0]![i] = e.responseId;
    cols[1]![i] = e.experimentId;
    cols[2]![i] = e.variant;
    cols[3]![i] = e.unit;
    cols[4]![i] = e.sticky;
    cols[5]![i] = e.createdAt.toISOString();
    cols[6]![i] = e.model;
    cols[7]![i] = e.status;
    cols[8]![i] = e.errorCode;
    cols[9]![i] = e.latencyMs;
    cols[10]![i] = e.ttftMs;
    cols[11]![i] = e.promptTokens;
    cols[12]![i] = e.completionTokens;
    cols[13]![i] = e.costUsd;
    cols[14]![i] = e.cacheHit;
    cols[15]![i] = e.fallback;
    cols[16]![i] = e.fallbackModel;
    cols[17]![i] = e.stream;
  }
  return cols;
}

/**
 * True when the database refused a batch for what it holds rather than for its own state, so
 * writing the same rows again can never succeed: SQLSTATE class 22 (data exception: a NUL in a
 * text value, a number out of range), 23 (integrity: a NOT NULL or CHECK violated) and 54 (a
 * statement or row too large; splitting the batch is the cure). Everything else (no connection,
 * pool timeout, serialization failure, a missing table during a deploy) may pass on retry.
 */
export function isUnwritableEventError(err: unknown): boolean {
  const state = sqlstateOf(err);
  return state !== undefined && /^(22|23|54)/.test(state);
}

/** Writes a batch as one statement. */
export async function insertEvents(db: SqlClient, events: ExperimentEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(INSERT_BATCH, columns(events));
}

/** Writes one event (the row-at-a-time baseline of the ingestion benchmark). */
export async function insertEvent(db: SqlClient, e: ExperimentEvent): Promise<void> {
  await db.query(
    INSERT_ONE,
    columns([e]).map((c) => c[0]),
  );
}

/** The experiment of a recorded response, or undefined. */
export async function eventExperiment(db: SqlClient, responseId: string): Promise<string | undefined> {
  const r = await db.query<{ experiment_id: string }>(
    'SELECT experiment_id FROM experiment_events WHERE response_id = $1',
    [responseId],
  );
  return r.rows[0]?.experiment_id;
}

export interface Feedback {
  responseId: string;
  experimentId: string;
  score: number | null;
  label: string | null;
}

/** Stores feedback; a second one for the same response replaces the first. */
export async function upsertFeedback(db: SqlClient, f: Feedback): Promise<void> {
  await db.query(
    `INSERT INTO experiment_feedback (response_id, experiment_id, score, label)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (response_id) DO UPDATE
       SET score = EXCLUDED.score, label = EXCLUDED.label, created_at = now()`,
    [f.responseId, f.experimentId, f.score, f.label],
  );
}

export interface ExportRow {
  response_id: string;
  created_at: Date | string;
  /**
   * created_at as the database writes it (microseconds): the next page's cursor. The driver's Date
   * keeps milliseconds, and a cursor cut to them would export again the rows later in that
   * millisecond.
   */
  page_key: string;
  [column: string]: unknown;
}

/**
 * One page of an experiment's events with their feedback, in (created_at, response_id) order,
 * after the given cursor: keyset pagination, so each page is an index range scan however deep the
 * export goes.
 */
export async function exportPage(
  db: SqlClient,
  experimentId: string,
  after: { createdAt: string; responseId: string } | undefined,
  limit: number,
): Promise<ExportRow[]> {
  const r = await db.query<ExportRow>(
    `SELECT e.response_id, e.experiment_id, e.variant, e.unit, e.sticky, e.created_at, e.model,
            e.status, e.error_code, e.latency_ms, e.ttft_ms, e.prompt_tokens, e.completion_tokens,
            e.cost_usd, e.cache_hit, e.fallback, e.fallback_model, e.stream,
            f.score AS feedback_score, f.label AS feedback_label, e.created_at::text AS page_key
       FROM experiment_events e
       LEFT JOIN experiment_feedback f ON f.response_id = e.response_id
      WHERE e.experiment_id = $1
        AND ($2::timestamptz IS NULL OR (e.created_at, e.response_id) > ($2::timestamptz, $3::text))
      ORDER BY e.created_at, e.response_id
      LIMIT $4`,
    [experimentId, after?.createdAt ?? null, after?.responseId ?? '', limit],
  );
  return r.rows;
}

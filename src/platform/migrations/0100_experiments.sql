-- Experiments, their events (one per gateway request in a running experiment) and feedback.

CREATE TABLE IF NOT EXISTS experiments (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  description text,
  status      text NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
  salt        text NOT NULL,
  variants    jsonb NOT NULL,
  -- [[start, end, variant index], ...] over buckets [0, 10000): see experiments/assignment.ts
  allocation  jsonb NOT NULL,
  cache_ttl_s double precision,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to experiments: events arrive in large write-behind batches and the check would
-- cost a lookup per row; experiments are never deleted.
CREATE TABLE IF NOT EXISTS experiment_events (
  response_id       text PRIMARY KEY,
  experiment_id     text NOT NULL,
  variant           text NOT NULL,
  unit              text NOT NULL,
  sticky            boolean NOT NULL,
  created_at        timestamptz NOT NULL,
  model             text NOT NULL,
  status            smallint NOT NULL,
  error_code        text,
  latency_ms        double precision NOT NULL,
  ttft_ms           double precision,
  prompt_tokens     integer NOT NULL,
  completion_tokens integer NOT NULL,
  cost_usd          double precision,
  cache_hit         boolean NOT NULL,
  fallback          boolean NOT NULL,
  fallback_model    text,
  stream            boolean NOT NULL
);

-- One index serves both the results aggregation (all rows of one experiment) and the export's
-- keyset pagination in (created_at, response_id) order.
CREATE INDEX IF NOT EXISTS experiment_events_export
  ON experiment_events (experiment_id, created_at, response_id);

-- Feedback has its own table so it may arrive before its event is flushed; the last one wins.
CREATE TABLE IF NOT EXISTS experiment_feedback (
  response_id   text PRIMARY KEY,
  experiment_id text NOT NULL,
  score         double precision CHECK (score >= 0 AND score <= 1),
  label         text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS experiment_feedback_experiment ON experiment_feedback (experiment_id);

/** One gateway request in a running experiment, as recorded and exported. */
export interface ExperimentEvent {
  responseId: string;
  experimentId: string;
  variant: string;
  unit: string;
  /** False when the request carried no unit id and got a random one. */
  sticky: boolean;
  createdAt: Date;
  /** The model that served the request (the fallback's when one was used). */
  model: string;
  status: number;
  errorCode: string | null;
  latencyMs: number;
  ttftMs: number | null;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
  cacheHit: boolean;
  fallback: boolean;
  fallbackModel: string | null;
  stream: boolean;
}

/** Export columns, in order (the CSV header). */
export const EXPORT_COLUMNS = [
  'response_id',
  'experiment_id',
  'variant',
  'unit',
  'sticky',
  'created_at',
  'model',
  'status',
  'error_code',
  'latency_ms',
  'ttft_ms',
  'prompt_tokens',
  'completion_tokens',
  'cost_usd',
  'cache_hit',
  'fallback',
  'fallback_model',
  'stream',
  'feedback_score',
  'feedback_label',
] as const;

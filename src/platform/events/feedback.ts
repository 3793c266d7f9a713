import { assertStorableText } from '../../perf/db/index.ts';
import { defineError, InvalidRequestError } from '../../perf/errors.ts';
import type { Recorder } from './recorder.ts';
import { type Feedback, type SqlClient, upsertFeedback } from './store.ts';

export const ResponseNotFoundError = defineError(
  'RESPONSE_NOT_FOUND',
  404,
  'No recorded experiment request has this response id (requests outside a running experiment are not recorded).',
  'Send the `id` of a chat completion (also its `x-request-id` header) served in a running experiment.',
);

const MAX_LABEL = 200;
const COMPLETION_PREFIX = 'chatcmpl-';

/** Checks a feedback body: `{response_id, score}` with score in [0, 1], and/or `{response_id, label}`. */
export function parseFeedback(body: unknown): {
  responseId: string;
  score: number | null;
  label: string | null;
} {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('body must be a JSON object {"response_id": "...", "score": 0.8}');
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!['response_id', 'score', 'label'].includes(key)) {
      throw new InvalidRequestError(`body.${key} is not a known field (allowed: response_id, score, label)`);
    }
  }
  if (
    typeof b.response_id !== 'string' ||
    b.response_id === '' ||
    b.response_id === COMPLETION_PREFIX ||
    b.response_id.length > 200
  ) {
    throw new InvalidRequestError('body.response_id must be the id of a chat completion');
  }
  // Both are bound into statements (the lookup, the feedback row).
  assertStorableText(b.response_id, 'body.response_id');
  if (b.score === undefined && b.label === undefined) {
    throw new InvalidRequestError('body must have a score (a number from 0 to 1) or a label (a string)');
  }
  if (b.score !== undefined && (typeof b.score !== 'number' || !(b.score >= 0 && b.score <= 1))) {
    throw new InvalidRequestError('body.score must be a number from 0 to 1');
  }
  if (
    b.label !== undefined &&
    (typeof b.label !== 'string' || b.label === '' || b.label.length > MAX_LABEL)
  ) {
    throw new InvalidRequestError(`body.label must be a string of 1 to ${MAX_LABEL} characters`);
  }
  if (b.label !== undefined) assertStorableText(b.label, 'body.label');
  return {
    // The completion's `id` is `chatcmpl-<request id>`; the x-request-id header is the bare id.
    responseId: b.response_id.startsWith(COMPLETION_PREFIX)
      ? b.response_id.slice(COMPLETION_PREFIX.length)
      : b.response_id,
    score: typeof b.score === 'number' ? b.score : null,
    label: typeof b.label === 'string' ? b.label : null,
  };
}

/** Stores feedback for a known response (buffered or written); RESPONSE_NOT_FOUND otherwise. */
export async function submitFeedback(db: SqlClient, recorder: Recorder, body: unknown): Promise<Feedback> {
  const input = parseFeedback(body);
  const experimentId = await recorder.lookup(input.responseId);
  if (experimentId === undefined) {
    throw new ResponseNotFoundError(
      `no recorded experiment request has the response id ${JSON.stringify(input.responseId)}`,
    );
  }
  const feedback: Feedback = { ...input, experimentId };
  await upsertFeedback(db, feedback);
  return feedback;
}

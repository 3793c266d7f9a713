/**
 * The subset of OpenAI's Chat Completions request that Versus supports, and its validation into
 * one INVALID_REQUEST error whose message names the first bad field
 * (`body.messages[0].role must be one of "system", "developer", "user", "assistant"`).
 *
 * Written out rather than compiled from a schema library, like the experiment bodies
 * (experiments/validation.ts): it is one fixed shape, the checks are the ones a compiled schema
 * would run, and a schema library's runtime held about 10 MB of every worker's memory for it
 * (docs/operations.md, Memory).
 */
import { InvalidRequestError } from '../../perf/errors.ts';

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | TextPart[];
  name?: string;
}

export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string | string[];
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  n?: 1;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  user?: string;
  metadata?: Record<string, unknown>;
}

const ROLES: readonly ChatMessage['role'][] = ['system', 'developer', 'user', 'assistant'];
const MAX_MESSAGES = 1000;
const MAX_CONTENT = 1_000_000;
const MAX_TOKENS = 1_000_000;
const MAX_STOPS = 4;

/**
 * A check answers undefined for a valid value, or what is wrong with it, starting with the path
 * below the value (`[0].role must be ...`, ` must be a number ...`). Paths are only built for an
 * invalid body, so a valid one allocates nothing here.
 */
type Check = (value: unknown) => string | undefined;

/** A JSON object (not null, not an array); the request validators share it. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const number =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && v >= min && v <= max ? undefined : ` must be a number from ${min} to ${max}`;

const integer =
  (min: number, max: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? undefined
      : ` must be an integer from ${min} to ${max}`;

const string =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max
      ? undefined
      : ` must be a string of ${min === 0 ? 'at most' : `${min} to`} ${max} characters`;

const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : ' must be a boolean');

/** Each element of a list checked by `check`: the first problem, with its index. */
function each(list: unknown[], check: Check): string | undefined {
  for (let i = 0; i < list.length; i++) {
    const problem = check(list[i]);
    if (problem !== undefined) return `[${i}]${problem}`;
  }
  return undefined;
}

/** An object: no unknown field (the likeliest mistake, so reported first), the required ones, each valid. */
const object =
  (known: Record<string, Check>, required: readonly string[]): Check =>
  (v) => {
    if (!isObject(v)) return ' must be an object';
    for (const key in v) if (!Object.hasOwn(known, key)) return `.${key} is not a supported field`;
    for (const key of required) if (v[key] === undefined) return `.${key} is required`;
    for (const key in v) {
      const value = v[key];
      const problem = value === undefined ? undefined : known[key]!(value);
      if (problem !== undefined) return `.${key}${problem}`;
    }
    return undefined;
  };

const textPart = object(
  {
    type: (v) => (v === 'text' ? undefined : ' must be "text"'),
    text: (v) => (typeof v === 'string' ? undefined : ' must be a string'),
  },
  ['type', 'text'],
);

const message = object(
  {
    role: (v) =>
      ROLES.includes(v as ChatMessage['role'])
        ? undefined
        : ` must be one of ${ROLES.map((r) => JSON.stringify(r)).join(', ')}`,
    content: (v) => {
      if (typeof v === 'string')
        return v.length <= MAX_CONTENT ? undefined : ` must be at most ${MAX_CONTENT} characters`;
      if (!Array.isArray(v) || v.length === 0) return ' must be a string or an array of text parts';
      return each(v, textPart);
    },
    name: string(0, 64),
  },
  ['role', 'content'],
);

const stopString = string(0, 200);

const request = object(
  {
    model: string(1, 200),
    messages: (v) =>
      Array.isArray(v) && v.length > 0 && v.length <= MAX_MESSAGES
        ? each(v, message)
        : ` must be an array of 1 to ${MAX_MESSAGES} messages`,
    temperature: number(0, 2),
    top_p: number(0, 1),
    max_tokens: integer(1, MAX_TOKENS),
    max_completion_tokens: integer(1, MAX_TOKENS),
    stop: (v) => {
      if (typeof v === 'string') return stopString(v);
      if (!Array.isArray(v) || v.length > MAX_STOPS) {
        return ` must be a string or an array of at most ${MAX_STOPS} strings`;
      }
      return each(v, stopString);
    },
    presence_penalty: number(-2, 2),
    frequency_penalty: number(-2, 2),
    seed: integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    n: (v) => (v === 1 ? undefined : ' must be 1 (one choice per request)'),
    stream: boolean,
    stream_options: object({ include_usage: boolean }, []),
    user: string(0, 256),
    metadata: (v) => (isObject(v) ? undefined : ' must be an object'),
  },
  ['model', 'messages'],
);

/** Returns the body typed, or throws INVALID_REQUEST naming the first bad field. */
export function validateChatRequest(body: unknown): ChatCompletionRequest {
  if (!isObject(body))
    throw new InvalidRequestError('the body must be a JSON object with model and messages');
  const problem = request(body);
  if (problem !== undefined) throw new InvalidRequestError(`body${problem}`);
  // As OpenAI's API: stream options without a stream are a mistake worth naming.
  if (body.stream_options !== undefined && body.stream !== true) {
    throw new InvalidRequestError('body.stream_options is only allowed when body.stream is true');
  }
  return body as unknown as ChatCompletionRequest;
}

/**
 * The subset of OpenAI's Chat Completions request that Versus supports, as a TypeBox schema, and
 * its validation into one INVALID_REQUEST error whose message names the field.
 */
import { type Static, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { InvalidRequestError } from '../../perf/errors.ts';

const TextPart = Type.Object(
  { type: Type.Literal('text'), text: Type.String() },
  { additionalProperties: false },
);

const Message = Type.Object(
  {
    role: Type.Union([
      Type.Literal('system'),
      Type.Literal('developer'),
      Type.Literal('user'),
      Type.Literal('assistant'),
    ]),
    content: Type.Union([Type.String({ maxLength: 1_000_000 }), Type.Array(TextPart, { minItems: 1 })]),
    name: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const ChatCompletionRequestSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 200 }),
    messages: Type.Array(Message, { minItems: 1, maxItems: 1000 }),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    stop: Type.Optional(
      Type.Union([
        Type.String({ maxLength: 200 }),
        Type.Array(Type.String({ maxLength: 200 }), { maxItems: 4 }),
      ]),
    ),
    presence_penalty: Type.Optional(Type.Number({ minimum: -2, maximum: 2 })),
    frequency_penalty: Type.Optional(Type.Number({ minimum: -2, maximum: 2 })),
    seed: Type.Optional(Type.Integer()),
    n: Type.Optional(Type.Literal(1)),
    stream: Type.Optional(Type.Boolean()),
    stream_options: Type.Optional(
      Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    ),
    user: Type.Optional(Type.String({ maxLength: 256 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export type ChatCompletionRequest = Static<typeof ChatCompletionRequestSchema>;

const check = Compile(ChatCompletionRequestSchema);

interface Issue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function field(path: string): string {
  let out = 'body';
  for (const part of path.split('/').slice(1)) out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  return out;
}

function describe(issues: Issue[]): string {
  const extra = issues.find((i) => i.keyword === 'additionalProperties');
  if (extra !== undefined) {
    const names = extra.params.additionalProperties as string[];
    return `${field(extra.instancePath)}.${names[0]} is not a supported field`;
  }
  const first = issues[0]!;
  const path = field(first.instancePath);
  if (first.keyword === 'required')
    return `${path}.${(first.params.requiredProperties as string[])[0]} is required`;
  const same = issues.filter((i) => i.instancePath === first.instancePath);
  const allowed = same.filter((i) => i.keyword === 'const').map((i) => JSON.stringify(i.params.allowedValue));
  if (allowed.length > 0) return `${path} must be one of ${allowed.join(', ')}`;
  const types = same.filter((i) => i.keyword === 'type').map((i) => i.params.type as string);
  if (types.length > 1)
    return `${path} must be ${types.map((t) => (t === 'array' ? 'an array of text parts' : `a ${t}`)).join(' or ')}`;
  return `${path} ${first.message}`;
}

/** Returns the body typed, or throws INVALID_REQUEST naming the first bad field. */
export function validateChatRequest(body: unknown): ChatCompletionRequest {
  if (check.Check(body)) return body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('the body must be a JSON object with model and messages');
  }
  throw new InvalidRequestError(describe(check.Errors(body) as Issue[]));
}

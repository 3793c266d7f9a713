import { defineError } from '../../perf/errors.ts';

export const UnknownModelError = defineError(
  'UNKNOWN_MODEL',
  400,
  'The model named in `model` (or chosen by the experiment) is not one Versus can route to.',
  'Use a `provider/model` name listed by GET /v1/models; `openai/...` and `anthropic/...` need their API keys configured.',
);

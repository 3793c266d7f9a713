/**
 * Checks create and update bodies. Messages name the field and what is allowed, in the style of
 * the rest of the API (`body.variants[1].weight must be a number greater than 0`).
 */
import { InvalidRequestError } from '../../perf/errors.ts';
import { isObject, validateChatRequest } from '../gateway/index.ts';
import { bucketCounts } from './assignment.ts';
import { isStatus, STATUSES } from './lifecycle.ts';
import type { ExperimentPatch, NewExperiment, Variant } from './model.ts';

export const MAX_VARIANTS = 20;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
// Variant names travel in the x-variant response header: keep them header-safe.
const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Prefix of generated ids; names may not start with it, so `x-experiment` is never ambiguous. */
export const ID_PREFIX = 'exp_';

function invalid(message: string): never {
  throw new InvalidRequestError(message);
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key))
      invalid(`${where}.${key} is not a known field (allowed: ${allowed.join(', ')})`);
  }
}

function checkWeight(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalid(`${where} must be a number greater than 0`);
  }
  return value;
}

/**
 * A variant's params go into every request it serves: they must pass the chat-completion
 * checks a client's own request does (`temperature` from 0 to 2, known fields only, ...), or
 * the experiment would send upstream what a client sending it directly gets a 400 for.
 */
function checkParams(params: Record<string, unknown>, model: string, where: string): void {
  try {
    validateChatRequest({ model, messages: [{ role: 'user', content: 'x' }], ...params });
  } catch (err) {
    const message = (err as Error).message;
    invalid(message.startsWith('body') ? `${where}${message.slice('body'.length)}` : `${where}: ${message}`);
  }
}

function checkShares(weights: number[], where: string): void {
  if (!Number.isFinite(weights.reduce((a, b) => a + b, 0))) {
    invalid(
      `${where}: the weights add up to more than a number can hold; use smaller ones (only their ratios matter)`,
    );
  }
  if (bucketCounts(weights) === undefined) {
    invalid(`${where}: every variant needs at least 1/10000 of the total weight`);
  }
}

export function validateCreate(body: unknown, isKnownModel: (model: string) => boolean): NewExperiment {
  if (!isObject(body)) invalid('body must be a JSON object');
  checkKeys(body, ['name', 'description', 'status', 'variants', 'cache'], 'body');
  const { name, description, status, variants, cache } = body;
  if (typeof name !== 'string' || !NAME.test(name)) {
    invalid(
      'body.name must be 1-100 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  if (name.startsWith(ID_PREFIX)) invalid(`body.name must not start with "${ID_PREFIX}" (reserved for ids)`);
  if (
    description !== undefined &&
    description !== null &&
    (typeof description !== 'string' || description.length > 2000)
  ) {
    invalid('body.description must be a string of at most 2000 characters');
  }
  if (status !== undefined && status !== 'draft' && status !== 'running') {
    invalid('body.status must be one of "draft", "running"');
  }
  if (!Array.isArray(variants) || variants.length < 2 || variants.length > MAX_VARIANTS) {
    invalid(`body.variants must be an array of 2 to ${MAX_VARIANTS} variants (the first is the baseline)`);
  }
  const seen = new Set<string>();
  const parsed = variants.map((v, i): Variant => {
    const where = `body.variants[${i}]`;
    if (!isObject(v)) invalid(`${where} must be an object`);
    checkKeys(v, ['name', 'model', 'weight', 'system_prompt', 'params'], where);
    if (typeof v.name !== 'string' || !VARIANT_NAME.test(v.name)) {
      invalid(`${where}.name must be 1-64 characters: letters, digits, ".", "_" or "-"`);
    }
    if (seen.has(v.name)) invalid(`${where}.name "${v.name}" is used twice; variant names must be unique`);
    seen.add(v.name);
    if (typeof v.model !== 'string' || v.model === '') invalid(`${where}.model must be a model name`);
    if (!isKnownModel(v.model))
      invalid(`${where}.model "${v.model}" is not a known model; GET /v1/models lists them`);
    const variant: Variant = {
      name: v.name,
      model: v.model,
      weight: checkWeight(v.weight, `${where}.weight`),
    };
    if (v.system_prompt !== undefined) {
      if (typeof v.system_prompt !== 'string') invalid(`${where}.system_prompt must be a string`);
      variant.systemPrompt = v.system_prompt;
    }
    if (v.params !== undefined) {
      if (!isObject(v.params)) invalid(`${where}.params must be an object of request parameters`);
      for (const key of ['model', 'messages', 'stream']) {
        if (Object.hasOwn(v.params, key)) invalid(`${where}.params.${key} cannot be overridden by a variant`);
      }
      checkParams(v.params, v.model, `${where}.params`);
      variant.params = v.params;
    }
    return variant;
  });
  checkShares(
    parsed.map((v) => v.weight),
    'body.variants[].weight',
  );
  let cacheTtlS: number | null = null;
  if (cache !== undefined && cache !== null) {
    if (!isObject(cache)) invalid('body.cache must be an object like {"ttl_s": 300}');
    checkKeys(cache, ['ttl_s'], 'body.cache');
    const ttl = cache.ttl_s;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0 || ttl > 86_400 * 30) {
      invalid('body.cache.ttl_s must be a number of seconds from 0 to 2592000');
    }
    cacheTtlS = ttl;
  }
  return {
    name,
    description: typeof description === 'string' ? description : null,
    status: status ?? 'draft',
    variants: parsed,
    cacheTtlS,
  };
}

/** `weights` is `{"variant name": weight}` naming every variant. */
export function validatePatch(body: unknown, variants: Variant[]): ExperimentPatch {
  if (!isObject(body)) invalid('body must be a JSON object');
  checkKeys(body, ['status', 'weights', 'description'], 'body');
  const patch: ExperimentPatch = {};
  if (body.status !== undefined) {
    if (!isStatus(body.status))
      invalid(`body.status must be one of ${STATUSES.map((s) => `"${s}"`).join(', ')}`);
    patch.status = body.status;
  }
  if (body.weights !== undefined) {
    const weights = body.weights;
    if (!isObject(weights)) invalid('body.weights must be an object {"variant name": weight, ...}');
    const names = variants.map((v) => v.name);
    for (const key of Object.keys(weights)) {
      if (!names.includes(key))
        invalid(`body.weights.${key} is not a variant of this experiment (variants: ${names.join(', ')})`);
    }
    patch.weights = names.map((n) => {
      if (!Object.hasOwn(weights, n))
        invalid(`body.weights.${n} is required: give a weight for every variant`);
      return checkWeight(weights[n], `body.weights.${n}`);
    });
    checkShares(patch.weights, 'body.weights');
  }
  if (body.description !== undefined) {
    const d = body.description;
    if (d !== null && (typeof d !== 'string' || d.length > 2000)) {
      invalid('body.description must be a string of at most 2000 characters, or null');
    }
    patch.description = d;
  }
  if (Object.keys(patch).length === 0)
    invalid('body must change at least one of status, weights, description');
  return patch;
}

import { describe, expect, it } from 'vitest';
import { isAppError } from '../src/perf/errors.ts';
import { allowedTransitions, canTransition, STATUSES } from '../src/platform/experiments/lifecycle.ts';
import { validateCreate, validatePatch } from '../src/platform/experiments/validation.ts';

const known = (m: string) => ['mock/fast', 'mock/slow', 'mock/flaky'].includes(m);
const valid = {
  name: 'checkout-copy',
  variants: [
    { name: 'control', model: 'mock/fast', weight: 50 },
    {
      name: 'slow',
      model: 'mock/slow',
      weight: 50,
      system_prompt: 'Be brief.',
      params: { temperature: 0.2 },
    },
  ],
};

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isAppError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('lifecycle', () => {
  it('allows draft -> running <-> paused -> stopped and running -> stopped', () => {
    expect(canTransition('draft', 'running')).toBe(true);
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(true);
    expect(canTransition('paused', 'stopped')).toBe(true);
    expect(canTransition('running', 'stopped')).toBe(true);
  });
  it('refuses everything else, and stopped is final', () => {
    expect(canTransition('draft', 'paused')).toBe(false);
    expect(canTransition('draft', 'stopped')).toBe(false);
    for (const to of STATUSES.filter((s) => s !== 'stopped'))
      expect(canTransition('stopped', to)).toBe(false);
    expect(allowedTransitions('stopped')).toEqual([]);
  });
  it('treats the same status as a no-op', () => {
    for (const s of STATUSES) expect(canTransition(s, s)).toBe(true);
  });
});

describe('validateCreate', () => {
  it('accepts a valid experiment and fills defaults', () => {
    const e = validateCreate(valid, known);
    expect(e.status).toBe('draft');
    expect(e.cacheTtlS).toBeNull();
    expect(e.variants[1]).toEqual({
      name: 'slow',
      model: 'mock/slow',
      weight: 50,
      systemPrompt: 'Be brief.',
      params: { temperature: 0.2 },
    });
  });
  it.each([
    [{ ...valid, variants: [valid.variants[0]] }, 'body.variants must be an array of 2'],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], name: 'control' }] },
      'body.variants[1].name "control" is used twice',
    ],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], weight: 0 }] },
      'body.variants[1].weight must be a number greater than 0',
    ],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], weight: -1 }] },
      'body.variants[1].weight must be a number greater than 0',
    ],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], model: 'nope/x' }] },
      'body.variants[1].model "nope/x" is not a known model',
    ],
    [{ ...valid, name: 'has space' }, 'body.name must be'],
    [{ ...valid, name: 'exp_123' }, 'must not start with "exp_"'],
    [{ ...valid, status: 'paused' }, 'body.status must be one of "draft", "running"'],
    [{ ...valid, colour: 'red' }, 'body.colour is not a known field'],
    [{ ...valid, cache: { ttl_s: -5 } }, 'body.cache.ttl_s must be'],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], params: { model: 'x' } }] },
      'params.model cannot be overridden',
    ],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], params: { temperature: 99 } }] },
      'body.variants[1].params.temperature',
    ],
    [
      { ...valid, variants: [valid.variants[0], { ...valid.variants[1], params: { colour: 'red' } }] },
      'body.variants[1].params.colour',
    ],
    [
      { ...valid, variants: [{ ...valid.variants[0], weight: 1e9 }, valid.variants[1]] },
      'at least 1/10000 of the total weight',
    ],
    [
      {
        ...valid,
        variants: [
          { ...valid.variants[0], weight: 1e308 },
          { ...valid.variants[1], weight: 1e308 },
        ],
      },
      'body.variants[].weight: the weights add up to more than a number can hold',
    ],
    ['nope', 'body must be a JSON object'],
  ])('refuses %j with a message naming the field', (body, expected) => {
    const m = message(() => validateCreate(body, known));
    expect(m).toContain('INVALID_REQUEST');
    expect(m).toContain(expected);
  });
});

describe('validatePatch', () => {
  const variants = validateCreate(valid, known).variants;
  it('reads status and weights by variant name, in variant order', () => {
    expect(validatePatch({ status: 'paused', weights: { slow: 10, control: 90 } }, variants)).toEqual({
      status: 'paused',
      weights: [90, 10],
    });
  });
  it.each([
    [{ status: 'archived' }, 'body.status must be one of'],
    [{ weights: { control: 50 } }, 'body.weights.slow is required'],
    [{ weights: { control: 50, slow: 50, other: 1 } }, 'body.weights.other is not a variant'],
    [{ weights: { control: 50, slow: 0 } }, 'body.weights.slow must be a number greater than 0'],
    [{ weights: { control: 1e308, slow: 1e308 } }, 'body.weights: the weights add up to more than'],
    [{}, 'must change at least one of'],
  ])('refuses %j', (body, expected) => {
    expect(message(() => validatePatch(body, variants))).toContain(expected);
  });
  it('names a missing weight of a variant called like an Object.prototype member', () => {
    const named = validateCreate(
      {
        name: 'proto-names',
        variants: [
          { name: 'constructor', model: 'mock/fast', weight: 50 },
          { name: 'toString', model: 'mock/slow', weight: 50 },
        ],
      },
      known,
    ).variants;
    expect(message(() => validatePatch({ weights: { toString: 50 } }, named))).toContain(
      'body.weights.constructor is required',
    );
  });
});

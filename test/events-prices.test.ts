import { describe, expect, it } from 'vitest';
import { createPricing, DEFAULT_PRICES, parsePriceTable } from '../src/platform/events/prices.ts';

describe('price table', () => {
  it('costs prompt and completion tokens at per-million prices', () => {
    const pricing = createPricing();
    // 1,000 prompt tokens at $2.50/M + 500 completion tokens at $10/M
    expect(pricing.cost('openai/gpt-4o', 1000, 500)).toBeCloseTo(0.0025 + 0.005, 12);
  });
  it('matches dated model names to their family by longest prefix', () => {
    const pricing = createPricing();
    expect(pricing.price('openai/gpt-4o-mini-2024-07-18')).toEqual(DEFAULT_PRICES['openai/gpt-4o-mini']);
    expect(pricing.price('openai/gpt-4o-2024-08-06')).toEqual(DEFAULT_PRICES['openai/gpt-4o']);
  });
  it('gives null, not zero, for a model without a price', () => {
    expect(createPricing().cost('openai/some-new-model', 10, 10)).toBeNull();
  });
  it('takes overrides and additions', () => {
    const pricing = createPricing(
      parsePriceTable('{"mock/fast": {"input": 1, "output": 2}, "local/llama": {"input": 0, "output": 0}}'),
    );
    expect(pricing.cost('mock/fast', 1e6, 1e6)).toBe(3);
    expect(pricing.cost('local/llama', 100, 100)).toBe(0);
  });
  it('rejects malformed overrides with a message saying what is expected', () => {
    expect(() => parsePriceTable('nope')).toThrow(/expected JSON/);
    expect(() => parsePriceTable('{"a": {"input": -1, "output": 1}}')).toThrow(/price of "a"/);
    expect(() => parsePriceTable('[1]')).toThrow(/JSON object/);
  });
});

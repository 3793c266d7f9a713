/**
 * Cost per request from a price table in US dollars per million tokens. The defaults are list
 * prices at the time of writing (docs/experiments.md carries the table); MODEL_PRICES overrides or
 * extends them. A model without a price gets cost null, which the results leave out of the cost
 * comparison rather than counting as free.
 */

export interface ModelPrice {
  /** USD per million prompt tokens. */
  input: number;
  /** USD per million completion tokens. */
  output: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_PRICES: PriceTable = {
  // The mock provider is free, but nominal prices make cost comparisons demonstrable.
  'mock/fast': { input: 0.1, output: 0.4 },
  'mock/slow': { input: 0.5, output: 1.5 },
  'mock/flaky': { input: 0.1, output: 0.4 },
  'openai/gpt-4o': { input: 2.5, output: 10 },
  'openai/gpt-4o-mini': { input: 0.15, output: 0.6 },
  'openai/gpt-4.1': { input: 2, output: 8 },
  'openai/gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'openai/gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'openai/o4-mini': { input: 1.1, output: 4.4 },
  'openai/gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  'anthropic/claude-3-5-haiku': { input: 0.8, output: 4 },
  'anthropic/claude-3-5-sonnet': { input: 3, output: 15 },
  'anthropic/claude-3-7-sonnet': { input: 3, output: 15 },
  'anthropic/claude-sonnet-4': { input: 3, output: 15 },
  'anthropic/claude-opus-4': { input: 15, output: 75 },
};

export interface Pricing {
  /** The price for a model: exact name first, then the longest table entry the name starts with
   * (`openai/gpt-4o-2024-08-06` → `openai/gpt-4o`). */
  price(model: string): ModelPrice | undefined;
  /** Cost in USD, or null when the model has no price. */
  cost(model: string, promptTokens: number, completionTokens: number): number | null;
  table(): PriceTable;
}

export function createPricing(overrides: PriceTable = {}): Pricing {
  const table: PriceTable = { ...DEFAULT_PRICES, ...overrides };
  const byLength = Object.keys(table).sort((a, b) => b.length - a.length);
  const memo = new Map<string, ModelPrice | undefined>();
  const price = (model: string): ModelPrice | undefined => {
    if (memo.has(model)) return memo.get(model);
    const exact = table[model];
    const found = exact ?? table[byLength.find((k) => model.startsWith(k)) ?? ''];
    // Model names come from a bounded set (variants and fallbacks), so the memo stays small.
    if (memo.size < 10_000) memo.set(model, found);
    return found;
  };
  return {
    price,
    cost(model, promptTokens, completionTokens) {
      const p = price(model);
      if (p === undefined) return null;
      return (promptTokens * p.input + completionTokens * p.output) / 1e6;
    },
    table: () => ({ ...table }),
  };
}

/** Parses MODEL_PRICES: `{"model": {"input": usd_per_million, "output": usd_per_million}}`. */
export function parsePriceTable(text: string): PriceTable {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw 'expected JSON like {"openai/gpt-4o": {"input": 2.5, "output": 10}} (USD per million tokens)';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw 'expected a JSON object of model name to {"input": number, "output": number}';
  }
  const out: PriceTable = {};
  for (const [model, p] of Object.entries(value)) {
    const ok =
      typeof p === 'object' &&
      p !== null &&
      typeof p.input === 'number' &&
      typeof p.output === 'number' &&
      p.input >= 0 &&
      p.output >= 0 &&
      Number.isFinite(p.input) &&
      Number.isFinite(p.output);
    if (!ok) throw `price of ${JSON.stringify(model)} must be {"input": number >= 0, "output": number >= 0}`;
    out[model] = { input: p.input, output: p.output };
  }
  return out;
}

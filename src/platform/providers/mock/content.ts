/** Deterministic mock answers: the same model and prompt always give the same words. */

const WORDS = (
  'the a versus model answer test fast slow signal latency token stream cache breaker retry ' +
  'gateway provider request response measure variant experiment metric result value time ' +
  'quick brown fox jumps over lazy dog alpha beta gamma delta omega north south east west ' +
  'blue green red amber river stone cloud light shadow bright calm steady clear'
).split(' ');

/** FNV-1a, 32 bit. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MockAnswer {
  /** Tokens as sent in a stream: the first without, the rest with a leading space. */
  tokens: string[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
}

/** Rough token count: words and punctuation. */
export function countTokens(text: string): number {
  return text.match(/\w+|[^\s\w]/g)?.length ?? 0;
}

export function answer(
  model: string,
  prompt: string,
  maxTokens: number | undefined,
  fixedLength?: number,
): MockAnswer {
  const random = prng(hash(`${model}\u0000${prompt}`));
  const drawn = 12 + Math.floor(random() * 36);
  const natural = fixedLength ?? drawn;
  const length = maxTokens === undefined ? natural : Math.min(natural, maxTokens);
  const tokens: string[] = [];
  for (let i = 0; i < length; i++) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    tokens.push(i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : ` ${word}`);
  }
  if (length === natural && length > 0) tokens[length - 1] += '.';
  return { tokens, finishReason: length < natural ? 'length' : 'stop', promptTokens: countTokens(prompt) };
}

/**
 * HTTP bodies use snake_case like the rest of the Versus API; the code uses camelCase. One deep
 * conversion at the edge keeps both honest. Keys of records whose keys are data (context names,
 * client stats, GC kinds) are kept as they are; their values are still converted.
 */
const DATA_KEYED = new Set(['contexts', 'stats', 'counts']);

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function toSnakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeCase);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[snake(k)] = DATA_KEYED.has(k) ? toSnakeCaseRecord(v) : toSnakeCase(v);
  }
  return out;
}

function toSnakeCaseRecord(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return toSnakeCase(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toSnakeCase(v);
  return out;
}

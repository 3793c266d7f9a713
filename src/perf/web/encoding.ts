/**
 * Content-coding negotiation (RFC 9110 §12.5.3) and the "is this worth compressing" checks.
 *
 * Clients send a handful of distinct Accept-Encoding values (each browser and SDK has its own),
 * so the parsed answer is memoised per header string: negotiation costs one Map lookup per request.
 */

export type Encoding = 'zstd' | 'br' | 'gzip' | 'deflate';
export type Negotiated = Encoding | 'identity';

/**
 * Server preference when the client rates several codings equally: zstd compresses about as
 * well as brotli at gzip-like speed, brotli beats gzip on ratio, deflate is the last resort.
 */
export const ENCODINGS: readonly Encoding[] = ['zstd', 'br', 'gzip', 'deflate'];

const ALIASES: Record<string, string> = { 'x-gzip': 'gzip' };

interface Preference {
  q: Map<string, number>;
  star: number | undefined;
}

function parse(header: string): Preference {
  const q = new Map<string, number>();
  let star: number | undefined;
  for (const part of header.split(',')) {
    const [rawName, ...params] = part.split(';');
    let name = rawName?.trim().toLowerCase() ?? '';
    if (name === '') continue;
    name = ALIASES[name] ?? name;
    let weight = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim().toLowerCase() !== 'q') continue;
      const n = Number(v?.trim());
      // A malformed q-value makes the entry unusable rather than silently preferred.
      weight = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
    }
    if (name === '*') star = weight;
    else q.set(name, Math.max(weight, q.get(name) ?? 0));
  }
  return { q, star };
}

function choose(header: string, offered: readonly Encoding[]): Negotiated {
  const pref = parse(header);
  let best: Negotiated = 'identity';
  let bestQ = 0;
  for (const encoding of offered) {
    const weight = pref.q.get(encoding) ?? pref.star ?? 0;
    if (weight > bestQ) {
      best = encoding;
      bestQ = weight;
    }
  }
  if (best === 'identity') return 'identity';
  // identity wins only when the client rated it (directly or through `*`) above every coding it
  // listed: `gzip;q=0.5` alone still means "gzip, please".
  const identityQ = pref.q.get('identity') ?? pref.star ?? 0;
  return identityQ > bestQ ? 'identity' : best;
}

export interface Negotiator {
  /** The coding to use for a response to a request with this Accept-Encoding header. */
  negotiate(header: string | undefined): Negotiated;
}

const MEMO_LIMIT = 512;

/** A negotiator over `offered` (in server preference order), memoising per header value. */
export function createNegotiator(offered: readonly Encoding[] = ENCODINGS): Negotiator {
  const memo = new Map<string, Negotiated>();
  return {
    negotiate(header) {
      // No header: the client said nothing, and identity is the only safe choice.
      if (header === undefined || header === '') return 'identity';
      let found = memo.get(header);
      if (found === undefined) {
        found = choose(header, offered);
        // Bounded: a client inventing header values must not grow memory without end.
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(header, found);
      }
      return found;
    },
  };
}

/**
 * Media types worth compressing. An allowlist rather than a blocklist: images, archives, fonts
 * and octet streams are usually compressed already, and compressing them again burns CPU for
 * a few bytes or a larger body.
 */
const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|xml|x-ndjson|ndjson|graphql|x-www-form-urlencoded|wasm)\b|image\/svg\+xml|[a-z]+\/[^;]*\+(?:json|xml)\b)/i;

export function isCompressible(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  // Server-sent events go through their own decision (see docs/performance.md).
  if (contentType.startsWith('text/event-stream')) return false;
  return COMPRESSIBLE.test(contentType);
}

/** Adds `Accept-Encoding` to an existing Vary header value without duplicating it. */
export function varyWithAcceptEncoding(existing: string | number | string[] | undefined): string {
  if (existing === undefined || existing === '') return 'Accept-Encoding';
  const text = Array.isArray(existing) ? existing.join(', ') : String(existing);
  if (text === '*' || /(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(text)) return text;
  return `${text}, Accept-Encoding`;
}

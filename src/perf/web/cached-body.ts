/**
 * A response body that is served many times: its identity bytes, its validator, and its
 * compressed bytes per content coding, each made once, on first need, then reused by every hit.
 *
 * `precompressedBodies()` attaches a CachedBody to a cached value by object identity (a WeakMap):
 * a cache that hands back the same object on every hit (an in-memory L1) gets serialisation and
 * compression done once per entry, and the bodies are collected with the entries they belong to.
 */
import { hash } from 'node:crypto';
import type { Compressor } from './compressor.ts';
import type { Encoding } from './encoding.ts';

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Bodies up to this size made from a string keep the string too, and are sent as one. Node writes
 * a string body and the response head as one string in one `write`; a Buffer body goes out with
 * the head as two chunks in a `writev`, which costs more per response: about 11 % of a bare Node
 * server's CPU per response at 0.5 KB and 4 % at 2 KB. From about 4 KB on, encoding the string
 * on every send costs more than the `writev` (+9 % at 4 KB, +28 % at 10 KB), so larger bodies go
 * out as bytes (docs/performance.md, "Small bodies go out as strings").
 */
export const TEXT_MAX_BYTES = 2 * 1024;

export class CachedBody {
  readonly identity: Buffer;
  /** The identity body as a string, when it was made from one of at most TEXT_MAX_BYTES bytes. */
  readonly text: string | undefined;
  readonly contentType: string;
  #etag: string | undefined;
  /** Per coding: the bytes, or the compression in flight (concurrent first hits share it). */
  #encoded = new Map<Encoding, Buffer | Promise<Buffer>>();

  constructor(bytes: Buffer | string, contentType: string = JSON_TYPE) {
    this.identity = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    this.text = typeof bytes === 'string' && this.identity.length <= TEXT_MAX_BYTES ? bytes : undefined;
    this.contentType = contentType;
  }

  /** What an uncompressed response sends: the text when kept, else the identity bytes. */
  get plain(): string | Buffer {
    return this.text ?? this.identity;
  }

  /**
   * Weak validator over the identity bytes: the compressed variants differ byte for byte but
   * carry the same content, which is what a weak ETag means (RFC 9110 §8.8.3).
   */
  get etag(): string {
    this.#etag ??= `W/"${hash('sha1', this.identity, 'base64url')}"`;
    return this.#etag;
  }

  /**
   * The bytes for `encoding`: at once when made before, else a promise of them. When a coding
   * does not shrink the body the identity bytes are kept (and returned) instead.
   */
  encoded(encoding: Encoding, compressor: Compressor): Buffer | Promise<Buffer> {
    const found = this.#encoded.get(encoding);
    if (found !== undefined) return found;
    const pending = compressor.compress(this.identity, encoding, 'cached').then(
      (bytes) => {
        const kept = bytes.length < this.identity.length ? bytes : this.identity;
        this.#encoded.set(encoding, kept);
        return kept;
      },
      (err: unknown) => {
        // Forget the failure so a later hit tries again; this hit is served uncompressed.
        this.#encoded.delete(encoding);
        throw err;
      },
    );
    this.#encoded.set(encoding, pending);
    return pending;
  }

  /** Bytes held: identity, its text (one byte per character) and every finished encoding. */
  get byteLength(): number {
    let n = this.identity.length + (this.text?.length ?? 0);
    for (const v of this.#encoded.values()) if (Buffer.isBuffer(v) && v !== this.identity) n += v.length;
    return n;
  }
}

export interface PrecompressedBodies {
  /**
   * The CachedBody of `value`, serialising it with `serialize` the first time `value` is seen.
   * `value` must not change after its first use (cached values never do).
   */
  of(value: object, serialize?: (value: object) => Buffer | string, contentType?: string): CachedBody;
}

export function precompressedBodies(): PrecompressedBodies {
  const bodies = new WeakMap<object, CachedBody>();
  return {
    of(value, serialize = JSON.stringify, contentType = JSON_TYPE) {
      let body = bodies.get(value);
      if (body === undefined) {
        body = new CachedBody(serialize(value), contentType);
        bodies.set(value, body);
      }
      return body;
    },
  };
}

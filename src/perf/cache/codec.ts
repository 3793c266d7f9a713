/**
 * L2 value format: one header byte naming the codec, then the body. Readers accept every codec
 * whatever their own settings, so entries written before a settings change (compression on or
 * off, a different threshold, a host without zstd) stay readable.
 *
 * Body: msgpack of [createdAt, expiresAt, staleUntil, tags | null, value].
 *
 * Values keep their types where msgpack can say them: Date, BigInt, Buffer, typed arrays,
 * ArrayBuffer, Set, Error and RegExp come back as themselves (msgpackr's extensions, `moreTypes`),
 * and a Map with an object or array key comes back as a Map. A Map whose keys are all strings,
 * numbers, booleans, bigints or null is a msgpack map like any object and reads as an object.
 */
import zlib from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { type Entry, newEntry } from './entry.ts';

export const CODEC = {
  /** msgpack, uncompressed. */
  msgpack: 0x01,
  /** msgpack, then zstd. */
  msgpackZstd: 0x02,
  /** msgpack, then gzip (written where zstd is missing). */
  msgpackGzip: 0x03,
} as const;

// Records (msgpackr's shared structures) are off: entries must decode in any process, with no
// structure table shared between writers and readers. The extensions `moreTypes` writes are read
// by every Unpackr, so any version of Versus reads them.
const packr = new Packr({ useRecords: false, moreTypes: true });
/**
 * Reads every msgpack map as a Map. Used only when the usual read fails, which is how a map with
 * an object or array key shows itself; objectsFromMaps then turns back into objects the maps the
 * usual read would have made objects.
 */
const mapUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false });

/**
 * Plain bodies are copied here and unpacked from it: msgpackr makes a DataView for every source
 * buffer and stores it on the buffer, which cost more than copying a small body. Binary values are
 * copied out (copyBuffers), so none points into the scratch buffer.
 */
const scratch = Buffer.allocUnsafeSlow(16 * 1024);
const scratchUnpackr = new Unpackr({ useRecords: false, copyBuffers: true });

const zstd = typeof zlib.zstdCompressSync === 'function';
const ZSTD_LEVEL = zstd ? { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } } : {};

export interface CodecSettings {
  enabled: boolean;
  threshold: number;
}

export class CodecError extends Error {}

export function encodeEntry(e: Entry, settings: CodecSettings): Buffer {
  const body = packr.pack([e.createdAt, e.expiresAt, e.staleUntil, e.tags ?? null, e.value]);
  if (settings.enabled && body.length > settings.threshold) {
    const packed = zstd ? zlib.zstdCompressSync(body, ZSTD_LEVEL) : zlib.gzipSync(body, { level: 3 });
    // Incompressible values (already compressed media, random ids) stay as they are.
    if (packed.length < body.length) return withHeader(zstd ? CODEC.msgpackZstd : CODEC.msgpackGzip, packed);
  }
  return withHeader(CODEC.msgpack, body);
}

/** Encodes with a given codec (tests write entries as older settings would have). */
export function encodeEntryAs(e: Entry, codec: number): Buffer {
  const body = packr.pack([e.createdAt, e.expiresAt, e.staleUntil, e.tags ?? null, e.value]);
  if (codec === CODEC.msgpackZstd) return withHeader(codec, zlib.zstdCompressSync(body));
  if (codec === CODEC.msgpackGzip) return withHeader(codec, zlib.gzipSync(body));
  return withHeader(CODEC.msgpack, body);
}

function withHeader(codec: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = codec;
  out.set(body, 1);
  return out;
}

export function decodeEntry(buf: Buffer): Entry {
  if (buf.length < 2) throw new CodecError('L2 value too short to be a cache entry');
  const codec = buf[0];
  let fields: unknown;
  if (codec === CODEC.msgpack) fields = unpackBody(buf, 1, true);
  else if (codec === CODEC.msgpackZstd) {
    if (!zstd) throw new CodecError('L2 value is zstd-compressed and this Node has no zstd');
    fields = unpackBody(zlib.zstdDecompressSync(buf.subarray(1)), 0, false);
  } else if (codec === CODEC.msgpackGzip) fields = unpackBody(zlib.gunzipSync(buf.subarray(1)), 0, false);
  else throw new CodecError(`L2 value has unknown codec byte 0x${(codec ?? 0).toString(16)}`);
  if (
    !Array.isArray(fields) ||
    fields.length !== 5 ||
    typeof fields[0] !== 'number' ||
    typeof fields[1] !== 'number' ||
    typeof fields[2] !== 'number' ||
    !(fields[3] === null || isStringArray(fields[3]))
  ) {
    throw new CodecError('L2 value is not a cache entry');
  }
  const [createdAt, expiresAt, staleUntil, tags, value] = fields as [
    number,
    number,
    number,
    string[] | null,
    unknown,
  ];
  return newEntry(value, createdAt, expiresAt, staleUntil, tags ?? undefined);
}

/** The msgpack body of `buf` from `start`; `copy`: small enough bodies are unpacked from scratch. */
function unpackBody(buf: Buffer, start: number, copy: boolean): unknown {
  const length = buf.length - start;
  try {
    if (copy && length <= scratch.length) {
      buf.copy(scratch, 0, start);
      return scratchUnpackr.unpack(scratch, length);
    }
    return packr.unpack(start === 0 ? buf : buf.subarray(start));
  } catch (err) {
    // A Map with an object key fails the usual read. Read as Maps, with the usual read's error
    // when this one fails too (a damaged value).
    let maps: unknown;
    try {
      maps = mapUnpackr.unpack(buf.subarray(start));
    } catch {
      throw err;
    }
    return objectsFromMaps(maps);
  }
}

/**
 * The value as the usual read gives it: a Map whose keys are all strings, numbers, booleans,
 * bigints or null becomes an object with those keys as strings (`__proto__` as `__proto_`, as
 * msgpackr names it); a Map with any other key stays a Map. Arrays, Sets, Map values and the fields
 * of plain objects are walked; other values are left as they are.
 */
function objectsFromMaps(value: unknown): unknown {
  if (value instanceof Map) {
    let plain = true;
    for (const k of value.keys()) {
      if (k !== null && typeof k === 'object') {
        plain = false;
        break;
      }
    }
    if (!plain) {
      const map = new Map<unknown, unknown>();
      for (const [k, v] of value) map.set(objectsFromMaps(k), objectsFromMaps(v));
      return map;
    }
    const object: Record<string, unknown> = {};
    for (const [k, v] of value) {
      const key = String(k);
      object[key === '__proto__' ? '__proto_' : key] = objectsFromMaps(v);
    }
    return object;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = objectsFromMaps(value[i]);
    return value;
  }
  if (value instanceof Set) {
    const set = new Set<unknown>();
    for (const v of value) set.add(objectsFromMaps(v));
    return set;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const object = value as Record<string, unknown>;
    for (const k of Object.keys(object)) object[k] = objectsFromMaps(object[k]);
  }
  return value;
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const v of value) if (typeof v !== 'string') return false;
  return true;
}

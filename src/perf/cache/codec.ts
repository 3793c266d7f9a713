/**
 * L2 value format: one header byte naming the codec, then the body. Readers accept every codec
 * whatever their own settings, so entries written before a settings change (compression on or
 * off, a different threshold, a host without zstd) stay readable.
 *
 * Body: msgpack of [createdAt, expiresAt, staleUntil, tags | null, value].
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
// structure table shared between writers and readers.
const packr = new Packr({ useRecords: false });

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
  if (codec === CODEC.msgpack) {
    const length = buf.length - 1;
    if (length <= scratch.length) {
      buf.copy(scratch, 0, 1);
      fields = scratchUnpackr.unpack(scratch, length);
    } else fields = packr.unpack(buf.subarray(1));
  } else if (codec === CODEC.msgpackZstd) {
    if (!zstd) throw new CodecError('L2 value is zstd-compressed and this Node has no zstd');
    fields = packr.unpack(zlib.zstdDecompressSync(buf.subarray(1)));
  } else if (codec === CODEC.msgpackGzip) fields = packr.unpack(zlib.gunzipSync(buf.subarray(1)));
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

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const v of value) if (typeof v !== 'string') return false;
  return true;
}

import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCompressorPool } from '../src/perf/pool/index.ts';

const body = Buffer.from(
  JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, text: 'the quick brown fox' }))),
);
const inflate = { gzip: zlib.gunzipSync, deflate: zlib.inflateSync, zstd: zlib.zstdDecompressSync } as const;

describe('compressor pool', () => {
  for (const coding of ['gzip', 'deflate', 'zstd'] as const) {
    it(`${coding}: every document decompresses to its input, on reused contexts`, async () => {
      const pool = createCompressorPool({ coding, max: 2 });
      const inputs = Array.from({ length: 12 }, (_, i) =>
        Buffer.concat([Buffer.from(`doc ${i} `), body.subarray(0, 1000 * (i + 1))]),
      );
      const outputs = await Promise.all(inputs.map((b) => pool.compress(b)));
      outputs.forEach((out, i) => {
        expect(out.length).toBeLessThan(inputs[i]!.length);
        expect(inflate[coding](out).equals(inputs[i]!)).toBe(true);
      });
      // Twelve documents on at most two contexts: the contexts were reset and reused.
      expect(pool.stats()).toMatchObject({ created: 2, max: 2, acquired: 12, inUse: 0 });
      await pool.close();
    });
  }

  it('an empty input gives a valid empty document', async () => {
    const pool = createCompressorPool({ coding: 'gzip' });
    expect(zlib.gunzipSync(await pool.compress(Buffer.alloc(0))).length).toBe(0);
    await pool.close();
  });
});

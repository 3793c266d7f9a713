/** PGlite on disk: the database lives in <dataDir>/pglite and survives a restart; its memory settings. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createDatabase } from '../../src/perf/db/index.ts';

it('keeps data under DATA_DIR/pglite across close and reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'versus-pglite-'));
  try {
    const first = await createDatabase({ dataDir: dir, healthCheckIntervalMs: 0 });
    await first.query('CREATE TABLE kept (v text)');
    await first.query('INSERT INTO kept VALUES ($1)', ['still here']);
    await first.close();
    expect(await readdir(dir)).toEqual(['pglite']);
    const second = await createDatabase({ dataDir: dir, healthCheckIntervalMs: 0 });
    try {
      expect((await second.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 180_000);

it('runs PostgreSQL with 16 MB of shared_buffers unless told otherwise', async () => {
  const small = await createDatabase({ healthCheckIntervalMs: 0 });
  try {
    expect((await small.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
  } finally {
    await small.close();
  }
  await expect(createDatabase({ healthCheckIntervalMs: 0, pgliteSharedBuffersMb: 0.5 })).rejects.toThrow(
    'pgliteSharedBuffersMb must be a whole number of MB, at least 1 (got 0.5)',
  );
  await expect(createDatabase({ healthCheckIntervalMs: 0, pgliteSharedBuffersMb: 0 })).rejects.toMatchObject({
    code: 'DB_INVALID_OPTION',
  });
  const larger = await createDatabase({ healthCheckIntervalMs: 0, pgliteSharedBuffersMb: 48 });
  try {
    expect((await larger.query('SHOW shared_buffers')).rows).toEqual([{ shared_buffers: '48MB' }]);
  } finally {
    await larger.close();
  }
}, 180_000);

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../src/perf/cache/index.ts';
import { isAppError } from '../src/perf/errors.ts';
import {
  bucketOf,
  createExperimentService,
  type ExperimentService,
} from '../src/platform/experiments/index.ts';
import { pgliteSql, type TestSql } from './helpers/experiments.ts';

const known = (m: string) => m.startsWith('mock/');
const body = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  variants: [
    { name: 'a', model: 'mock/fast', weight: 50 },
    { name: 'b', model: 'mock/slow', weight: 50 },
  ],
  ...extra,
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isAppError(err)) return err.code;
    throw err;
  }
  return 'OK';
}

let sql: TestSql;
let cache: Cache;
let service: ExperimentService;

beforeAll(async () => {
  sql = await pgliteSql();
});
afterAll(() => sql.close());
beforeEach(async () => {
  await sql.query('TRUNCATE experiments');
  cache = createCache({ name: 'experiments-test' });
  service = createExperimentService({ db: sql, cache, isKnownModel: known });
});
afterEach(() => cache.close());

describe('experiment service', () => {
  it('creates, then reads by id and by name', async () => {
    const e = await service.create(body('one', { status: 'running' }));
    expect(e.id).toMatch(/^exp_/);
    expect(e.status).toBe('running');
    expect(e.allocation).toEqual([
      [0, 5000, 0],
      [5000, 10000, 1],
    ]);
    expect((await service.get(e.id)).name).toBe('one');
    expect((await service.get('one')).id).toBe(e.id);
    expect(await code(service.get('nope'))).toBe('EXPERIMENT_NOT_FOUND');
  });

  it('refuses a second experiment with the same name', async () => {
    await service.create(body('dup'));
    expect(await code(service.create(body('dup')))).toBe('EXPERIMENT_NAME_TAKEN');
  });

  it('forgets a cached "not found" as soon as the name is created', async () => {
    expect(await service.find('later')).toBeUndefined();
    await service.create(body('later'));
    expect((await service.find('later'))?.name).toBe('later');
  });

  it('reads through the cache: a row changed behind its back is not seen until invalidated', async () => {
    const e = await service.create(body('cached'));
    await service.get(e.id);
    await sql.query(`UPDATE experiments SET description = 'sneaky' WHERE id = $1`, [e.id]);
    expect((await service.get(e.id)).description).toBeNull();
    await cache.deleteByTag(`experiment:${e.id}`);
    expect((await service.get(e.id)).description).toBe('sneaky');
  });

  it('walks the lifecycle and answers 409 to illegal transitions', async () => {
    const e = await service.create(body('life'));
    expect(await code(service.update(e.id, { status: 'paused' }))).toBe('EXPERIMENT_TRANSITION_INVALID');
    expect((await service.update(e.id, { status: 'running' })).status).toBe('running');
    expect((await service.update(e.id, { status: 'paused' })).status).toBe('paused');
    expect((await service.update(e.id, { status: 'running' })).status).toBe('running');
    expect((await service.update('life', { status: 'stopped' })).status).toBe('stopped');
    expect(await code(service.update(e.id, { status: 'running' }))).toBe('EXPERIMENT_TRANSITION_INVALID');
    expect(await code(service.update(e.id, { weights: { a: 1, b: 2 } }))).toBe('EXPERIMENT_CONFLICT');
    // The cached copy follows every change at once.
    expect((await service.get(e.id)).status).toBe('stopped');
  });

  it('writes nothing for a patch that asks for what is already there', async () => {
    const e = await service.create(body('noop', { status: 'running', description: 'same' }));
    const weights = Object.fromEntries(e.variants.map((v) => [v.name, v.weight]));
    for (const patch of [{ status: 'running' }, { weights }, { description: e.description }]) {
      const same = await service.update(e.id, patch);
      expect(same.version, JSON.stringify(patch)).toBe(e.version);
      expect(same.updatedAt).toBe(e.updatedAt);
    }
    // A real change still lands.
    expect((await service.update(e.id, { status: 'paused' })).version).toBe(e.version + 1);
  });

  it('changes weights by moving the fewest units, and keeps assignments otherwise', async () => {
    const e = await service.create(body('weights', { status: 'running' }));
    const updated = await service.update(e.id, { weights: { a: 60, b: 40 } });
    expect(updated.variants.map((v) => v.weight)).toEqual([60, 40]);
    // b gives up the top 1,000 of its buckets to a; nobody else moves.
    expect(updated.allocation).toEqual([
      [0, 5000, 0],
      [5000, 9000, 1],
      [9000, 10000, 0],
    ]);
    expect(updated.salt).toBe(e.salt);
    expect(updated.version).toBe(e.version + 1);
    expect(bucketOf(updated.salt, 'u')).toBe(bucketOf(e.salt, 'u'));
  });

  it('applies concurrent updates one after the other (optimistic versioning)', async () => {
    const e = await service.create(body('race', { status: 'running' }));
    await Promise.all([
      service.update(e.id, { weights: { a: 70, b: 30 } }),
      service.update(e.id, { description: 'both land' }),
    ]);
    const final = await service.get(e.id);
    expect(final.version).toBe(3);
    expect(final.description).toBe('both land');
    expect(final.variants.map((v) => v.weight)).toEqual([70, 30]);
  });

  it('lists in creation order with a cursor', async () => {
    for (const n of ['l1', 'l2', 'l3']) await service.create(body(n));
    const first = await service.list({ limit: 2 });
    expect(first.map((e) => e.name)).toEqual(['l1', 'l2']);
    const rest = await service.list({ limit: 2, after: first[1]!.id });
    expect(rest.map((e) => e.name)).toEqual(['l3']);
  });

  it('keeps creation order for experiments created in the same millisecond', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `burst${String(i).padStart(2, '0')}`);
    const created = await Promise.all(names.map((n) => service.create(body(n))));
    const byCreation = [...created].sort((a, b) => (a.id < b.id ? -1 : 1)).map((e) => e.name);
    // Creation order is the order create() made the ids in: the order of the calls.
    expect(byCreation).toEqual(names);
    const listed = await service.list({ limit: 1000 });
    expect(listed.map((e) => e.name).filter((n) => n.startsWith('burst'))).toEqual(names);
  });
});

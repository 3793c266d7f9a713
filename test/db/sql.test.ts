/** Table extraction with the real PostgreSQL parser: what a guess would miss. */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeStatement, loadParser } from '../../src/perf/db/index.ts';
import { filterColumns, safeFilter } from '../../src/perf/db/plan.ts';

beforeAll(async () => {
  await loadParser();
});

const tables = (sql: string) => {
  const i = analyzeStatement(sql);
  return { reads: i.reads, writes: i.writes, all: i.writesUnknown, cacheable: i.cacheable };
};

describe('analyzeStatement', () => {
  it('finds tables in joins, subqueries and CTE bodies, but not the CTE names themselves', () => {
    expect(
      tables(
        `WITH recent AS (SELECT * FROM events WHERE ts > now()) SELECT * FROM recent r JOIN experiments e ON e.id = r.eid WHERE r.unit IN (SELECT unit FROM vip)`,
      ),
    ).toEqual({ reads: ['events', 'experiments', 'vip'], writes: [], all: false, cacheable: true });
  });

  it('sees a table that has the same name as a CTE in another scope', () => {
    const sql = `SELECT (WITH items AS (SELECT 1 AS id) SELECT count(*) FROM items), (SELECT count(*) FROM items)`;
    expect(tables(sql).reads).toEqual(['items']);
  });

  it('treats a data-modifying CTE as a write, so the statement is not cacheable', () => {
    expect(
      tables('WITH gone AS (DELETE FROM sessions WHERE ts < $1 RETURNING *) SELECT count(*) FROM gone'),
    ).toEqual({
      reads: [],
      writes: ['sessions'],
      all: false,
      cacheable: false,
    });
  });

  it('names the written table of INSERT ... SELECT, UPDATE ... FROM and DELETE ... USING', () => {
    expect(tables('INSERT INTO archive SELECT * FROM events')).toMatchObject({
      reads: ['events'],
      writes: ['archive'],
    });
    expect(tables('UPDATE a SET x = b.x FROM b WHERE a.id = b.id')).toMatchObject({
      reads: ['b'],
      writes: ['a'],
    });
    expect(tables('DELETE FROM a USING b WHERE a.id = b.id')).toMatchObject({ reads: ['b'], writes: ['a'] });
  });

  it('strips schemas so public.events and events invalidate each other', () => {
    expect(tables('SELECT * FROM public.events').reads).toEqual(['events']);
    expect(tables('UPDATE analytics.events SET a = 1').writes).toEqual(['events']);
  });

  it('treats DDL on a table as a write to it, and unknown side effects as writes to everything', () => {
    expect(tables('TRUNCATE a, b').writes).toEqual(['a', 'b']);
    expect(tables('DROP TABLE IF EXISTS s.a, b').writes).toEqual(['a', 'b']);
    expect(tables('ALTER TABLE a ADD COLUMN z int').writes).toEqual(['a']);
    expect(tables('CREATE TABLE fresh (a int)')).toMatchObject({ writes: [], all: false });
    expect(tables('DO $$ BEGIN PERFORM 1; END $$').all).toBe(true);
    expect(tables('CALL refresh_everything()').all).toBe(true);
  });

  it('marks unparseable text and never puts its content in the normalised form', () => {
    const info = analyzeStatement(`SELEC * FROM users WHERE password = 'hunter2'`);
    expect(info).toMatchObject({ parsed: false, cacheable: false, writesUnknown: true });
    expect(info.normalized).not.toContain('hunter2');
  });

  it('normalises constants away and memoises per text', () => {
    const a = analyzeStatement(`SELECT * FROM users WHERE email = 'ada@example.com' AND age > 30`);
    expect(a.normalized).toBe('SELECT * FROM users WHERE email = $1 AND age > $2');
    expect(analyzeStatement(`SELECT * FROM users WHERE email = 'ada@example.com' AND age > 30`)).toBe(a);
  });
});

describe('plan filters', () => {
  it('reads the columns of a filter and hides its constants', () => {
    expect(filterColumns(`((t.user_id = 42) AND ((t.status)::text = 'secret'::text))`)).toEqual([
      'user_id',
      'status',
    ]);
    expect(
      filterColumns('((big.payload <> $2::text) AND (big.created_at > now()) AND (big.user_id = $3))'),
    ).toEqual(['user_id', 'created_at']);
    expect(safeFilter(`((t.user_id = 42) AND ((t.status)::text = 'secret'::text))`)).not.toMatch(/42|secret/);
  });
});

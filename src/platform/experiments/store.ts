/** Experiments in SQL. Rows map to `Experiment`; writes bump `version` (optimistic concurrency). */
import type { Segment } from './assignment.ts';
import type { Status } from './lifecycle.ts';
import type { Experiment, Variant } from './model.ts';

/** The part of the database layer (src/perf/db) this module uses. */
export interface SqlClient {
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount: number }>;
}

interface Row {
  id: string;
  name: string;
  description: string | null;
  status: Status;
  salt: string;
  variants: Variant[] | string;
  allocation: Segment[] | string;
  cache_ttl_s: number | null;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  'id, name, description, status, salt, variants, allocation, cache_ttl_s, version, created_at, updated_at';

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());

function fromRow(r: Row): Experiment {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    status: r.status,
    salt: r.salt,
    variants: json(r.variants),
    allocation: json(r.allocation),
    cacheTtlS: r.cache_ttl_s === null ? null : Number(r.cache_ttl_s),
    version: Number(r.version),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export interface ExperimentStore {
  /** Inserts; resolves false when the name is taken. */
  insert(e: Experiment): Promise<boolean>;
  byId(id: string): Promise<Experiment | undefined>;
  byName(name: string): Promise<Experiment | undefined>;
  list(limit: number, after?: string): Promise<Experiment[]>;
  /** Writes the changed fields if the row still has `version`; the updated row, or undefined. */
  update(
    id: string,
    version: number,
    fields: Pick<Experiment, 'status' | 'variants' | 'allocation' | 'description'>,
  ): Promise<Experiment | undefined>;
}

export function createExperimentStore(db: SqlClient): ExperimentStore {
  const one = async (sql: string, params: unknown[]) => {
    const r = await db.query<Row>(sql, params);
    return r.rows[0] === undefined ? undefined : fromRow(r.rows[0]);
  };
  return {
    async insert(e) {
      const r = await db.query(
        `INSERT INTO experiments (${COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11)
         ON CONFLICT (name) DO NOTHING`,
        [
          e.id,
          e.name,
          e.description,
          e.status,
          e.salt,
          JSON.stringify(e.variants),
          JSON.stringify(e.allocation),
          e.cacheTtlS,
          e.version,
          e.createdAt,
          e.updatedAt,
        ],
      );
      return r.rowCount === 1;
    },
    byId: (id) => one(`SELECT ${COLUMNS} FROM experiments WHERE id = $1`, [id]),
    byName: (name) => one(`SELECT ${COLUMNS} FROM experiments WHERE name = $1`, [name]),
    async list(limit, after) {
      const r = await db.query<Row>(
        `SELECT ${COLUMNS} FROM experiments WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2`,
        [after ?? null, limit],
      );
      return r.rows.map(fromRow);
    },
    update: (id, version, f) =>
      one(
        `UPDATE experiments
            SET status = $3, variants = $4::jsonb, allocation = $5::jsonb, description = $6,
                version = version + 1, updated_at = now()
          WHERE id = $1 AND version = $2
          RETURNING ${COLUMNS}`,
        [id, version, f.status, JSON.stringify(f.variants), JSON.stringify(f.allocation), f.description],
      ),
  };
}

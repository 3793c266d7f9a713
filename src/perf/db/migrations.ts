/**
 * Plain SQL migrations: `NNNN_name.sql` files applied in name order, all pending ones in one
 * transaction under a transaction-level advisory lock, so several instances starting together
 * apply each file exactly once (the others wait, then find nothing left to do).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Driver } from './driver.ts';
import { DbMigrationError, toDbError } from './errors.ts';

/** Arbitrary constant: the advisory lock id every Versus instance takes while migrating. */
const LOCK_ID = 4_812_337_001;
const FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;
export const MIGRATIONS_TABLE = 'versus_migrations';

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
  /** Applied earlier but the file has changed since (logged, not re-applied). */
  changed: string[];
}

/** Reads the migration files in order. A missing directory means no migrations. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new DbMigrationError(`cannot read the migrations directory ${dir}: ${(err as Error).message}`);
  }
  const sqlFiles = entries.filter((f) => f.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  const files: MigrationFile[] = [];
  for (const name of sqlFiles) {
    const m = FILE.exec(name);
    if (m === null) {
      throw new DbMigrationError(
        `migration file ${join(dir, name)} is badly named: expected NNNN_name.sql (four digits, underscore, letters, digits, _ or -)`,
      );
    }
    const other = seen.get(m[1]!);
    if (other !== undefined) {
      throw new DbMigrationError(
        `migrations ${other} and ${name} share the number ${m[1]}: renumber one of them`,
      );
    }
    seen.set(m[1]!, name);
    const sql = await readFile(join(dir, name), 'utf8');
    files.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files;
}

/** Applies the pending files. Throws DB_MIGRATION_FAILED naming the file; nothing is applied then. */
export async function applyMigrations(driver: Driver, files: MigrationFile[]): Promise<MigrationReport> {
  const report: MigrationReport = { applied: [], alreadyApplied: 0, changed: [] };
  if (files.length === 0) return report;
  const { session } = await driver.acquire();
  let broken = false;
  let current = '(bookkeeping)';
  try {
    await session.exec('BEGIN');
    try {
      await session.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      await session.exec(
        `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = await session.query(`SELECT name, checksum FROM ${MIGRATIONS_TABLE}`, []);
      const applied = new Map(done.rows.map((r) => [String(r.name), String(r.checksum)]));
      for (const file of files) {
        const previous = applied.get(file.name);
        if (previous !== undefined) {
          report.alreadyApplied++;
          if (previous !== file.checksum) report.changed.push(file.name);
          continue;
        }
        current = file.name;
        await session.exec(file.sql);
        await session.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [
          file.name,
          file.checksum,
        ]);
        report.applied.push(file.name);
      }
      await session.exec('COMMIT');
    } catch (err) {
      await session.exec('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    }
  } catch (err) {
    if (err instanceof DbMigrationError) throw err;
    const cause = toDbError(err, current);
    throw new DbMigrationError(`migration ${current} failed, nothing was applied: ${cause.message}`, {
      cause,
    });
  } finally {
    session.release(broken);
  }
  return report;
}

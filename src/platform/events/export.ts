/** Streams an experiment's events as NDJSON or CSV, page by page (never the whole set in memory). */
import { Readable } from 'node:stream';
import { EXPORT_COLUMNS } from './model.ts';
import { type ExportRow, exportPage, type SqlClient } from './store.ts';

export type ExportFormat = 'ndjson' | 'csv';
export const PAGE_SIZE = 5000;

function value(row: ExportRow, column: string): unknown {
  const v = row[column];
  if (v instanceof Date) return v.toISOString();
  if (column === 'created_at' && typeof v === 'string') return new Date(v).toISOString();
  return v ?? null;
}

/**
 * One CSV cell. A text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
 * `@`, a tab or a carriage return, and is not a number) gets a leading `'`, so a unit id sent by
 * a client cannot become a formula in the analyst's spreadsheet. NDJSON keeps every value as it is.
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !Number.isFinite(Number(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function line(row: ExportRow, format: ExportFormat): string {
  if (format === 'csv') return `${EXPORT_COLUMNS.map((c) => csvCell(value(row, c))).join(',')}\n`;
  const obj: Record<string, unknown> = {};
  for (const c of EXPORT_COLUMNS) obj[c] = value(row, c);
  return `${JSON.stringify(obj)}\n`;
}

async function* lines(db: SqlClient, experimentId: string, format: ExportFormat, pageSize: number) {
  if (format === 'csv') yield `${EXPORT_COLUMNS.join(',')}\n`;
  let after: { createdAt: string; responseId: string } | undefined;
  for (;;) {
    const rows = await exportPage(db, experimentId, after, pageSize);
    if (rows.length === 0) return;
    // One chunk per page keeps the number of writes (and syscalls) low.
    yield rows.map((r) => line(r, format)).join('');
    const last = rows.at(-1)!;
    after = { createdAt: last.page_key, responseId: last.response_id };
    if (rows.length < pageSize) return;
  }
}

export function exportStream(
  db: SqlClient,
  experimentId: string,
  format: ExportFormat,
  pageSize = PAGE_SIZE,
): Readable {
  return Readable.from(lines(db, experimentId, format, pageSize), { objectMode: false });
}

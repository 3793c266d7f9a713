/**
 * Slow-query analysis. Every statement is timed into `database_query_duration_seconds` and into
 * per-statement stats (by normalised text). A statement over the threshold is explained once
 * (EXPLAIN, never ANALYZE: it must not run the statement again) and logged with suggestions.
 */
import type { Histogram } from 'prom-client';
import type { MetricsRegistry } from '../metrics/index.ts';
import {
  filteredSeqScans,
  hasLimitNode,
  type PlanNode,
  planOutline,
  quoteIdent,
  type Suggestion,
} from './plan.ts';
import type { StatementInfo } from './sql.ts';

export interface Logger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface AnalyzerOptions {
  slowMs: number;
  largeTableRows: number;
  largeResultRows: number;
  metrics: MetricsRegistry | undefined;
  logger: Logger | undefined;
  /** Runs EXPLAIN (FORMAT JSON, VERBOSE) for the statement with its parameters. */
  explain: (sql: string, params: readonly unknown[]) => Promise<PlanNode | undefined>;
  /** Estimated rows in a table (pg_class), or undefined when unknown. */
  tableRows: (schema: string | undefined, table: string) => Promise<number | undefined>;
}

export interface StatementStats {
  statement: string;
  fingerprint: string;
  operation: string;
  count: number;
  totalMs: number;
  meanMs: number;
  p95Ms: number;
  maxMs: number;
  slowCount: number;
}

export interface SlowQueryReport {
  statement: string;
  fingerprint: string;
  durationMs: number;
  rows: number;
  poolWaitMs: number;
  plan: string | undefined;
  suggestions: Suggestion[];
  at: string;
}

interface Entry {
  info: StatementInfo;
  count: number;
  totalMs: number;
  maxMs: number;
  slowCount: number;
  recent: number[];
  next: number;
}

const RECENT = 256;
const MAX_STATEMENTS = 1000;
const MAX_REPORTS = 50;

export interface Analyzer {
  record(
    info: StatementInfo,
    ms: number,
    o: { cached: boolean; rows: number; waitedMs: number; sql: string; params: readonly unknown[] },
  ): void;
  /** Statements ordered by p95, slowest first. */
  worst(limit?: number): StatementStats[];
  /** The slow statements explained so far, newest first. */
  slow(): SlowQueryReport[];
  /** Resolves when every EXPLAIN started so far has finished (tests, shutdown). */
  settled(): Promise<void>;
  /** Explains a statement now and returns the suggestions (admin view, tests). */
  analyze(
    sql: string,
    params: readonly unknown[],
    info: StatementInfo,
    rows?: number,
    waitedMs?: number,
  ): Promise<SlowQueryReport>;
}

export function createAnalyzer(o: AnalyzerOptions): Analyzer {
  const histogram: Histogram<'operation' | 'cached'> | undefined = o.metrics?.histogram({
    name: 'database_query_duration_seconds',
    help: 'Database statement duration including the wait for a connection, by operation and whether the result came from the query cache.',
    labelNames: ['operation', 'cached'],
  });
  const entries = new Map<string, Entry>();
  const explained = new Set<string>();
  const reports: SlowQueryReport[] = [];
  const inflight = new Set<Promise<unknown>>();

  async function analyze(
    sql: string,
    params: readonly unknown[],
    info: StatementInfo,
    rows = 0,
    waitedMs = 0,
    durationMs = 0,
  ): Promise<SlowQueryReport> {
    const suggestions: Suggestion[] = [];
    let plan: PlanNode | undefined;
    if (['select', 'insert', 'update', 'delete'].includes(info.operation))
      plan = await o.explain(sql, params);
    if (plan !== undefined) {
      for (const scan of filteredSeqScans(plan)) {
        const tableRows = await o.tableRows(scan.schema, scan.table);
        if (tableRows === undefined || tableRows < o.largeTableRows) continue;
        const target =
          scan.schema !== undefined
            ? `${quoteIdent(scan.schema)}.${quoteIdent(scan.table)}`
            : quoteIdent(scan.table);
        suggestions.push({
          kind: 'index',
          table: scan.table,
          columns: scan.columns,
          tableRows,
          sql: `CREATE INDEX CONCURRENTLY ON ${target} (${scan.columns.map(quoteIdent).join(', ')})`,
          reason: `sequential scan with a filter on ${scan.table} (about ${Math.round(tableRows)} rows): an index on (${scan.columns.join(', ')}) lets PostgreSQL read only the matching rows`,
        });
      }
    }
    if (
      info.operation === 'select' &&
      rows >= o.largeResultRows &&
      !info.hasLimit &&
      (plan === undefined || !hasLimitNode(plan))
    ) {
      suggestions.push({
        kind: 'limit',
        rows,
        reason: `returned ${rows} rows with no LIMIT: paginate (LIMIT with a keyset condition) or aggregate in SQL`,
      });
    }
    if (waitedMs >= 10 && waitedMs >= durationMs * 0.25) {
      suggestions.push({
        kind: 'pool',
        waitedMs: Math.round(waitedMs),
        reason: `waited ${Math.round(waitedMs)} ms for a connection: raise DATABASE_POOL_SIZE (or DATABASE_MAX_OVERFLOW for bursts), or shorten the statements holding connections`,
      });
    }
    return {
      statement: info.normalized,
      fingerprint: info.fingerprint,
      durationMs: Math.round(durationMs * 100) / 100,
      rows,
      poolWaitMs: Math.round(waitedMs * 100) / 100,
      plan: plan === undefined ? undefined : planOutline(plan),
      suggestions,
      at: new Date().toISOString(),
    };
  }

  function explainSlow(
    info: StatementInfo,
    ms: number,
    rows: number,
    waitedMs: number,
    sql: string,
    params: readonly unknown[],
  ) {
    const job = analyze(sql, params, info, rows, waitedMs, ms)
      .then((report) => {
        reports.unshift(report);
        if (reports.length > MAX_REPORTS) reports.pop();
        o.logger?.warn(
          {
            statement: report.statement,
            fingerprint: report.fingerprint,
            duration_ms: report.durationMs,
            rows,
            pool_wait_ms: report.poolWaitMs,
            plan: report.plan,
            suggestions: report.suggestions.map((s) => ('sql' in s ? `${s.reason}: ${s.sql}` : s.reason)),
          },
          'slow query',
        );
      })
      .catch((err: unknown) => {
        o.logger?.warn(
          {
            statement: info.normalized,
            duration_ms: Math.round(ms),
            err: { message: (err as Error).message },
          },
          'slow query (EXPLAIN failed)',
        );
      })
      .finally(() => inflight.delete(job));
    inflight.add(job);
  }

  return {
    record(info, ms, r) {
      histogram?.observe({ operation: info.operation, cached: r.cached ? 'true' : 'false' }, ms / 1000);
      if (r.cached) return;
      let e = entries.get(info.fingerprint);
      if (e === undefined) {
        if (entries.size >= MAX_STATEMENTS) {
          // Drop the least used statement; the map keeps no order by count, so scan (rare: only at the cap).
          let victim: string | undefined;
          let fewest = Number.POSITIVE_INFINITY;
          for (const [k, v] of entries) if (v.count < fewest) [victim, fewest] = [k, v.count];
          if (victim !== undefined) entries.delete(victim);
        }
        e = { info, count: 0, totalMs: 0, maxMs: 0, slowCount: 0, recent: [], next: 0 };
        entries.set(info.fingerprint, e);
      }
      e.count++;
      e.totalMs += ms;
      if (ms > e.maxMs) e.maxMs = ms;
      if (e.recent.length < RECENT) e.recent.push(ms);
      else e.recent[e.next] = ms;
      e.next = (e.next + 1) % RECENT;
      if (ms >= o.slowMs) {
        e.slowCount++;
        if (!explained.has(info.fingerprint) && info.parsed) {
          explained.add(info.fingerprint);
          explainSlow(info, ms, r.rows, r.waitedMs, r.sql, r.params);
        }
      }
    },
    worst(limit = 10) {
      return [...entries.values()]
        .map((e) => ({
          statement: e.info.normalized,
          fingerprint: e.info.fingerprint,
          operation: e.info.operation,
          count: e.count,
          totalMs: round(e.totalMs),
          meanMs: round(e.totalMs / e.count),
          p95Ms: round(p95(e.recent)),
          maxMs: round(e.maxMs),
          slowCount: e.slowCount,
        }))
        .sort((a, b) => b.p95Ms - a.p95Ms)
        .slice(0, limit);
    },
    slow: () => [...reports],
    async settled() {
      while (inflight.size > 0) await Promise.all([...inflight]);
    },
    analyze: (sql, params, info, rows, waitedMs) => analyze(sql, params, info, rows, waitedMs),
  };
}

function p95(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

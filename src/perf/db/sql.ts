/**
 * What a statement touches, found with the real PostgreSQL parser (libpg-query): the tables it
 * reads and writes (CTEs, joins, subqueries, data-modifying CTEs included), its operation, and
 * its normalised text (constants replaced by $n) for logs and statistics. Results are memoised per
 * statement text: parsing costs tens of microseconds, a map lookup well under one.
 */
import { fingerprintSync, loadModule, normalizeSync, parseSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';

export type Operation = 'select' | 'insert' | 'update' | 'delete' | 'ddl' | 'other';

export interface StatementInfo {
  /** Constants replaced by $n: safe to log and to group by. */
  normalized: string;
  /** Stable id of the normalised statement (libpg-query fingerprint). */
  fingerprint: string;
  operation: Operation;
  /** Tables read, by relation name without schema (see docs/database.md, "Limits"). */
  reads: string[];
  /** Tables written (or altered, dropped, truncated). */
  writes: string[];
  /** The statement may write something we cannot name (DO, CALL, unknown utility): invalidate all. */
  writesUnknown: boolean;
  /** A plain read: safe to cache. */
  cacheable: boolean;
  /** The top-level statement has a LIMIT (or FETCH FIRST). */
  hasLimit: boolean;
  parsed: boolean;
}

let loaded: Promise<void> | undefined;

/** Loads the parser's WebAssembly module once per process. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

const memo = new LRUCache<string, StatementInfo>({ max: 5000 });

/** Statements we know write nothing. Anything else that names no table is treated as "writes unknown". */
const HARMLESS = new Set([
  'TransactionStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'CreateStmt',
  'IndexStmt',
  'CreateExtensionStmt',
  'CreateSchemaStmt',
  'CreateSeqStmt',
  'CommentStmt',
  'LockStmt',
  'VacuumStmt',
  'DeallocateStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'DiscardStmt',
  'CheckPointStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'CreateRoleStmt',
  'CreateFunctionStmt',
  'CreateTrigStmt',
  'ViewStmt',
  'CreateEnumStmt',
  'CompositeTypeStmt',
  'CreateDomainStmt',
  'DefineStmt',
]);

const DDL = new Set([
  'DropStmt',
  'AlterTableStmt',
  'RenameStmt',
  'TruncateStmt',
  'CreateTableAsStmt',
  'RefreshMatViewStmt',
]);

/** Analyses a statement (memoised by its exact text). Never throws: unparseable text is marked. */
export function analyzeStatement(sql: string): StatementInfo {
  const hit = memo.get(sql);
  if (hit !== undefined) return hit;
  const info = analyzeUncached(sql);
  memo.set(sql, info);
  return info;
}

/** Parser cost without the memo (benchmarks). */
export function analyzeStatementUncached(sql: string): StatementInfo {
  return analyzeUncached(sql);
}

function analyzeUncached(sql: string): StatementInfo {
  let tree: { stmts?: { stmt: Record<string, unknown> }[] };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch {
    return {
      normalized: `(unparseable statement, ${sql.length} characters)`,
      fingerprint: 'unparseable',
      operation: 'other',
      reads: [],
      writes: [],
      writesUnknown: true,
      cacheable: false,
      hasLimit: false,
      parsed: false,
    };
  }
  const reads = new Set<string>();
  const writes = new Set<string>();
  let writesUnknown = false;
  let operation = 'other' as Operation;
  let hasLimit = false;
  const stmts = tree.stmts ?? [];
  stmts.forEach(({ stmt }, i) => {
    const [kind, node] = Object.entries(stmt)[0] ?? [];
    if (kind === undefined) return;
    if (i === 0) {
      operation = operationOf(kind);
      const sel = node as { limitCount?: unknown; limitOption?: string };
      hasLimit = kind === 'SelectStmt' && sel.limitCount !== undefined;
    }
    const before = writes.size;
    walk(stmt, new Set(), reads, writes);
    if (writes.size === before && !HARMLESS.has(kind) && !isRead(kind, node) && !DDL.has(kind)) {
      writesUnknown = true;
    }
  });
  for (const t of writes) reads.delete(t);
  const cacheable = stmts.length === 1 && operation === 'select' && writes.size === 0 && !writesUnknown;
  let normalized: string;
  let fingerprint: string;
  try {
    normalized = normalizeSync(sql);
    fingerprint = fingerprintSync(sql);
  } catch {
    normalized = `(unnormalisable statement, ${sql.length} characters)`;
    fingerprint = 'unparseable';
  }
  return {
    normalized: normalized.replace(/\s+/g, ' ').trim(),
    fingerprint,
    operation,
    reads: [...reads].sort(),
    writes: [...writes].sort(),
    writesUnknown,
    cacheable,
    hasLimit,
    parsed: true,
  };
}

function isRead(kind: string, node: unknown): boolean {
  if (kind === 'SelectStmt') return (node as { intoClause?: unknown }).intoClause === undefined;
  return kind === 'ExplainStmt' || kind === 'PrepareStmt' || kind === 'ExecuteStmt';
}

function operationOf(kind: string): Operation {
  switch (kind) {
    case 'SelectStmt':
      return 'select';
    case 'InsertStmt':
      return 'insert';
    case 'UpdateStmt':
      return 'update';
    case 'DeleteStmt':
      return 'delete';
    case 'MergeStmt':
      return 'update';
    default:
      return DDL.has(kind) || HARMLESS.has(kind) ? 'ddl' : 'other';
  }
}

interface RangeVar {
  relname: string;
  schemaname?: string;
}

/**
 * Walks the tree collecting tables. `ctes` holds the CTE names in scope: an unqualified
 * reference to one of them is the CTE, not a table.
 */
function walk(node: unknown, ctes: Set<string>, reads: Set<string>, writes: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, ctes, reads, writes);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  let scope = ctes;
  const withClause = obj.withClause as { ctes?: { CommonTableExpr: { ctename: string } }[] } | undefined;
  if (withClause?.ctes !== undefined) {
    scope = new Set(ctes);
    for (const c of withClause.ctes) scope.add(c.CommonTableExpr.ctename);
  }
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'RangeVar') {
      const rv = value as RangeVar;
      if (rv.schemaname !== undefined || !scope.has(rv.relname)) reads.add(rv.relname);
      continue;
    }
    const target = writeTarget(key, value);
    if (target !== undefined) {
      for (const name of target) writes.add(name);
    }
    walk(value, scope, reads, writes);
  }
}

/** The tables a statement node writes, or undefined when the node is not a write. */
function writeTarget(key: string, value: unknown): string[] | undefined {
  const v = value as Record<string, unknown>;
  switch (key) {
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
    case 'AlterTableStmt':
    case 'RefreshMatViewStmt':
      return names([(v.relation as { RangeVar?: RangeVar } | undefined)?.RangeVar ?? v.relation]);
    case 'RenameStmt':
      return names([(v.relation as { RangeVar?: RangeVar } | undefined)?.RangeVar ?? v.relation]);
    case 'TruncateStmt':
      return names(((v.relations as { RangeVar: RangeVar }[] | undefined) ?? []).map((r) => r.RangeVar));
    case 'CopyStmt':
      return v.is_from === true ? names([v.relation]) : undefined;
    case 'DropStmt': {
      const objects = (v.objects as { List?: { items: { String: { sval: string } }[] } }[] | undefined) ?? [];
      return objects
        .map((o) => o.List?.items.at(-1)?.String.sval)
        .filter((s): s is string => typeof s === 'string');
    }
    default:
      return undefined;
  }
}

function names(vars: unknown[]): string[] {
  return vars
    .map((r) => (r as RangeVar | undefined)?.relname)
    .filter((s): s is string => typeof s === 'string');
}

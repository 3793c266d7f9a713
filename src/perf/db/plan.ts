/**
 * Reads an EXPLAIN (FORMAT JSON) plan and turns what it shows into suggestions: a sequential scan
 * with a filter on a large table -> an index on the filtered columns; a large result with no
 * LIMIT -> paginate; a long wait for a connection -> pool size.
 */
import { normalizeSync, parseSync } from 'libpg-query';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Schema?: string;
  Filter?: string;
  'Plan Rows'?: number;
  'Total Cost'?: number;
  Plans?: PlanNode[];
}

export type Suggestion =
  | { kind: 'index'; table: string; columns: string[]; tableRows: number; sql: string; reason: string }
  | { kind: 'limit'; rows: number; reason: string }
  | { kind: 'pool'; waitedMs: number; reason: string };

export interface FilteredScan {
  schema: string | undefined;
  table: string;
  columns: string[];
}

/** Every sequential scan that applies a filter, with the columns the filter reads. */
export function filteredSeqScans(root: PlanNode): FilteredScan[] {
  const found: FilteredScan[] = [];
  const visit = (node: PlanNode) => {
    if (
      node['Node Type'] === 'Seq Scan' &&
      node.Filter !== undefined &&
      node['Relation Name'] !== undefined
    ) {
      const columns = filterColumns(node.Filter);
      if (columns.length > 0) found.push({ schema: node.Schema, table: node['Relation Name'], columns });
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return found;
}

/**
 * Columns a plan's filter expression reads, found by parsing it as a WHERE clause: columns compared
 * with `=` first (they lead a useful index), then range and other tests; columns only compared with
 * `<>` are left out (an index does not help them). At most three.
 */
export function filterColumns(filter: string): string[] {
  let tree: unknown;
  try {
    tree = parseSync(`SELECT 1 WHERE ${filter}`);
  } catch {
    return [];
  }
  const equality: string[] = [];
  const other: string[] = [];
  const visit = (node: unknown, op: string | undefined) => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, op);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'ColumnRef') {
        const fields = (value as { fields: { String?: { sval: string } }[] }).fields;
        const name = fields.at(-1)?.String?.sval;
        if (name === undefined || op === '<>' || op === '!=') continue;
        (op === '=' ? equality : other).push(name);
        continue;
      }
      // A subquery's columns belong to another scan.
      if (key === 'SubLink') continue;
      if (key === 'A_Expr') {
        const expr = value as { name?: { String?: { sval: string } }[] };
        visit(value, expr.name?.[0]?.String?.sval);
        continue;
      }
      visit(value, op);
    }
  };
  visit(tree, undefined);
  const columns: string[] = [];
  for (const c of [...equality, ...other]) if (!columns.includes(c)) columns.push(c);
  return columns.slice(0, 3);
}

/** One line per node, indented: enough to read a plan in a log line. */
export function planOutline(root: PlanNode): string {
  const lines: string[] = [];
  const visit = (node: PlanNode, depth: number) => {
    const on = node['Relation Name'] !== undefined ? ` on ${node['Relation Name']}` : '';
    const filter = node.Filter !== undefined ? ` filter ${safeFilter(node.Filter)}` : '';
    lines.push(`${'  '.repeat(depth)}${node['Node Type']}${on}${filter} (rows≈${node['Plan Rows'] ?? '?'})`);
    for (const child of node.Plans ?? []) visit(child, depth + 1);
  };
  visit(root, 0);
  return lines.join('\n');
}

export function hasLimitNode(root: PlanNode): boolean {
  return root['Node Type'] === 'Limit';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A plan's filter with its constants (bound parameter values in a custom plan) replaced by $n. */
export function safeFilter(filter: string): string {
  try {
    return normalizeSync(`SELECT 1 WHERE ${filter}`).replace(/^SELECT \$\d+ WHERE /, '');
  } catch {
    return '(filter not shown)';
  }
}

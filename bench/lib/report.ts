/** Medians, ratios and the generated tables in docs/performance.md. */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const PERFORMANCE_DOC = fileURLToPath(new URL('../../docs/performance.md', import.meta.url));

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** 1234567 -> "1.23 M", 45678 -> "45.7 K", 12.345 -> "12.3" */
export function human(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)} K`;
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function ratio(value: number, anchor: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(anchor) || anchor === 0) return 'n/a';
  return `${(value / anchor).toFixed(2)}×`;
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/**
 * Replaces the block between `<!-- bench:ID -->` and `<!-- /bench:ID -->` in the performance
 * doc (appending it when absent), so each scenario rewrites only its own table.
 */
export async function writeSection(id: string, markdown: string, file = PERFORMANCE_DOC): Promise<void> {
  let doc = '';
  try {
    doc = await readFile(file, 'utf8');
  } catch {
    doc = '# Performance\n';
  }
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from !== -1 && to > from) {
    doc = doc.slice(0, from) + block + doc.slice(to + end.length);
  } else {
    doc = `${doc.trimEnd()}\n\n${block}\n`;
  }
  await writeFile(file, doc);
}

/** The standard preamble of a generated section: when, where, and the command. */
export function preamble(command: string, runs: number): string {
  return `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}; median of ${runs} runs; command: \`${command}\`.`;
}

/**
 * The layout rules of docs/architecture.md, checked on every run: perf/ never imports platform/,
 * folders are entered through their index.ts, and there are no import cycles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith('.')) found.push(resolve(dirname(file), spec));
  }
  return found;
}

/** `src/perf/cache/l1.ts` -> `src/perf/cache`; top-level files have no module. */
function moduleOf(file: string): string | undefined {
  const parts = relative(SRC, file).split('/');
  if (parts.length >= 3 && (parts[0] === 'perf' || parts[0] === 'platform')) return `${parts[0]}/${parts[1]}`;
  return undefined;
}

const all = files(SRC);
const graph = new Map(all.map((f) => [f, imports(f)]));

describe('architecture', () => {
  it('perf/ never imports from outside perf/', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      if (!relative(SRC, file).startsWith('perf/')) continue;
      for (const dep of deps) {
        if (!relative(SRC, dep).startsWith('perf/'))
          bad.push(`${relative(ROOT, file)} -> ${relative(ROOT, dep)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('code outside a folder imports it through its index.ts', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      for (const dep of deps) {
        const target = moduleOf(dep);
        if (target === undefined || moduleOf(file) === target) continue;
        if (relative(SRC, dep) !== `${target}/index.ts`)
          bad.push(`${relative(ROOT, file)} -> ${relative(ROOT, dep)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(ROOT, f)).join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of all) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

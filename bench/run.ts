/**
 * `npm run bench [-- id...]`: runs every scenario in bench/scenarios (or the ones named), each
 * against its anchor in the same run, and rewrites each scenario's table in docs/performance.md.
 *
 * BENCH_RUNS (default 3) sets the number of measured runs; BENCH_DURATION (default 5) the seconds
 * of each HTTP load run.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { machine, writeSection } from './lib/report.ts';
import type { Scenario } from './lib/scenario.ts';

const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const runs = Number(process.env.BENCH_RUNS ?? 3);
const duration = Number(process.env.BENCH_DURATION ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error('BENCH_RUNS must be a positive integer');
if (!Number.isFinite(duration) || duration < 1)
  throw new Error('BENCH_DURATION must be at least 1 (seconds)');

const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
const scenarios: Scenario[] = [];
for (const file of files) {
  const mod = (await import(`${dir}${file}`)) as { scenario?: Scenario };
  if (mod.scenario && (wanted.length === 0 || wanted.includes(mod.scenario.id))) scenarios.push(mod.scenario);
}
if (scenarios.length === 0) {
  console.error(
    `no scenario matches ${wanted.join(', ')}; known: ${files.map((f) => f.replace(/\.ts$/, '')).join(', ')}`,
  );
  process.exit(2);
}

console.log(`${machine()}\n${scenarios.length} scenario(s), ${runs} runs each\n`);
for (const scenario of scenarios) {
  const started = performance.now();
  console.log(`▶ ${scenario.id}: ${scenario.title}`);
  const markdown = await scenario.run({ runs, duration, log: (line) => console.log(line) });
  await writeSection(scenario.id, `### ${scenario.title}\n\n${markdown}`);
  console.log(`${markdown}\n✔ ${scenario.id} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
console.log('docs/performance.md updated');

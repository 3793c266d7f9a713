#!/usr/bin/env node
/**
 * `npm start`: runs src/main.ts with the V8 flags Versus is measured with and Node's compile
 * cache on.
 *
 * `--liftoff-only` keeps WebAssembly on V8's baseline compiler. The SQL parser (libpg-query) and
 * the embedded PostgreSQL (PGlite) are WebAssembly; after their first few calls V8 otherwise
 * recompiles their largest functions with its optimising compiler in the background, which
 * takes 400-600 MB for a second or two and leaves 35 MB (libpg-query) to 110 MB (PGlite) more
 * resident for good, for no measured gain in parse or query speed. V8 reads the flag only at
 * start-up (not from NODE_OPTIONS either), so a process started without it replaces itself
 * (execve: same pid, stdio and environment) with one that has it. `--no-liftoff-only` on the
 * command line keeps V8's default.
 *
 * `--max-semi-space-size=8` caps V8's young generation at 2 × 8 MB instead of the 2 × 32 MB it
 * grows to under load: about 50 MB less at the peak under load, and no more CPU per request
 * (the extra scavenges are paid back by a young generation that stays in the CPU's caches;
 * docs/operations.md, Memory). A `--max-semi-space-size` given on the command line or in
 * NODE_OPTIONS wins.
 *
 * `--no-allocation-site-pretenuring` stops V8 from allocating objects straight into the old
 * generation when their allocation site looks long-lived. Under load with many connections V8
 * sometimes decides so for the sites of each request's objects (Node's request and response,
 * Fastify's, the socket writes), which live for well under a millisecond: the old generation then
 * fills with them until the next full collection, +100 MB within a few seconds in one run of
 * three. Without it the old generation grows by about half as much per request and no run
 * spikes, for no more CPU per request (docs/operations.md, Memory).
 * `--allocation-site-pretenuring` on the command line keeps V8's default.
 *
 * `--v8-pool-size` is set to the number of CPUs where there are fewer than Node's default of four:
 * V8's background threads (concurrent marking, compilation) cannot all run at once anyway, and
 * each keeps its own stack and allocator arena; on two CPUs, two of them leave a worker about
 * 4 MB smaller under load at the same CPU per request (docs/operations.md, Memory).
 *
 * A warm compile cache holds every module with its types already stripped and its bytecode, so
 * a restart neither loads Node's TypeScript stripper (about 17 MB of RSS for the life of the
 * process) nor compiles the sources again. The first start fills the cache; the cache checks each
 * source's content, so an edited file is compiled afresh. NODE_COMPILE_CACHE names the directory
 * (default: the OS temp directory).
 */
import module from 'node:module';
import { availableParallelism } from 'node:os';

const cpus = availableParallelism();
/** Flags and how to tell that the user already chose (V8 and Node read `_` and `-` alike). */
const FLAGS = [
  { flag: '--liftoff-only', chosen: (a) => a === '--liftoff-only' || a === '--no-liftoff-only' },
  { flag: '--max-semi-space-size=8', chosen: (a) => a.startsWith('--max-semi-space-size') },
  {
    flag: '--no-allocation-site-pretenuring',
    chosen: (a) => a === '--allocation-site-pretenuring' || a === '--no-allocation-site-pretenuring',
  },
  ...(cpus < 4 ? [{ flag: `--v8-pool-size=${cpus}`, chosen: (a) => a.startsWith('--v8-pool-size') }] : []),
];
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) =>
  a.replaceAll('_', '-'),
);
const missing = FLAGS.filter(({ chosen }) => !given.some(chosen)).map(({ flag }) => flag);
if (missing.length > 0 && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [
      process.execPath,
      ...missing,
      ...process.execArgv,
      ...process.argv.slice(1),
    ]);
  } catch {
    // Not on this platform: run with V8's defaults.
  }
}

module.enableCompileCache?.();
await import('../src/main.ts');
// Written now rather than at exit: a process that is killed still leaves a warm cache.
module.flushCompileCache?.();

#!/usr/bin/env node
/**
 * `npm start`: runs src/main.ts with Node's compile cache on. A warm cache holds every module
 * with its types already stripped and its bytecode, so a restart neither loads Node's TypeScript
 * stripper (about 17 MB of RSS for the life of the process) nor compiles the sources again. The
 * first start fills the cache; the cache checks each source's content, so an edited file is
 * compiled afresh. NODE_COMPILE_CACHE names the directory (default: the OS temp directory).
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/main.ts');
// Written now rather than at exit: a process that is killed still leaves a warm cache.
module.flushCompileCache?.();

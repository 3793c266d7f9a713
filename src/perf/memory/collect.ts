import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * Runs one full garbage collection now, whether or not Node was started with --expose-gc: for
 * the rare moment when a large object graph has just become garbage and the collector would
 * otherwise leave it resident for minutes (the embedded database's set-up, docs/database.md).
 * Without --expose-gc the function is taken from a fresh context with the flag set for that
 * moment only, so no `gc` global appears in the application's own context.
 */
export function collectGarbage(): void {
  gc ??= typeof globalThis.gc === 'function' ? globalThis.gc : fromFreshContext();
  gc();
}

/** V8's gc function from a context made while --expose-gc is set; the flag is cleared again. */
function fromFreshContext(): () => void {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** The docs list every error code and every environment variable the code knows. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../src/config.ts';
import { registeredErrors } from '../src/perf/errors.ts';
// Importing the server loads every module, and with them every error definition.
import '../src/server.ts';

const doc = (name: string) => readFileSync(resolve(import.meta.dirname, '..', 'docs', name), 'utf8');

describe('docs', () => {
  it('docs/errors.md has a row for every registered error code, with its status', () => {
    const text = doc('errors.md');
    const missing = registeredErrors()
      .filter((e) => !text.includes(`| \`${e.code}\` | ${e.status} |`))
      .map((e) => `${e.code} (${e.status})`);
    expect(missing).toEqual([]);
  });

  it('docs/operations.md has a row for every environment variable, with its default', () => {
    const text = doc('operations.md');
    const missing = Object.values(VARIABLES)
      .filter(
        (v) =>
          !text.includes(`| \`${v.name}\` | ${v.default === undefined ? 'unset' : `\`${v.default}\``} |`),
      )
      .map((v) => v.name);
    expect(missing).toEqual([]);
  });
});

import path from 'node:path';
import { COMPILED_MAIN_ENV } from './compile-sources.js';

/** The repository root, the working directory of every tenantry process a test starts. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Node's arguments to run `tenantry <args>`: the sources the global setup
 * compiled for this run, or, when a test runs without it, src/main.ts
 * through tsx.
 */
export function tenantryArgs(...args: string[]): string[] {
  const main = process.env[COMPILED_MAIN_ENV];
  return main ? [main, ...args] : ['--import', 'tsx', path.join(REPO_ROOT, 'src/main.ts'), ...args];
}

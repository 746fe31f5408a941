/**
 * For the global setup: compiles `src/` once per test run with esbuild, the
 * transform tsx applies to every module at every start of a process, so that
 * the suite's hundreds of CLI and gateway processes start from JavaScript
 * (about half the start-up time of `node --import tsx src/main.ts` on a
 * two-core machine) and run exactly the code tsx would have run (same
 * compiler, same tsconfig, no decorator metadata in either).
 *
 * The output sits in a directory directly inside the repository, like
 * `dist/`, so that the sources' paths relative to their module
 * (`../../package.json`, `../../dist/ui/`) and node_modules resolve as they
 * do from `src/`. One directory per run, removed by the teardown.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export const COMPILED_MAIN_ENV = 'TENANTRY_TEST_MAIN';

export async function compileSources(root: string): Promise<{ main: string; remove: () => void }> {
  const outdir = path.join(root, `.test-build-${process.pid}`);
  const sources = (readdirSync(path.join(root, 'src'), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(root, 'src', file));
  await build({
    entryPoints: sources,
    outdir,
    outbase: path.join(root, 'src'),
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: path.join(root, 'tsconfig.json'),
    sourcemap: 'inline',
    logLevel: 'error',
  });
  return { main: path.join(outdir, 'main.js'), remove: () => rmSync(outdir, { recursive: true, force: true }) };
}

/**
 * `npm run schema` writes schema.graphql (v1) and schema.v2.graphql (v2) from
 * the code-first schema (src/schema); `npm run schema:check` (part of `npm
 * run lint`) fails when a checked-in file differs from what the code produces.
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaSdl, schemaSdlV2 } from '../src/schema/sdl.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const files: [string, string][] = [
  [path.join(root, 'schema.graphql'), await schemaSdl()],
  [path.join(root, 'schema.v2.graphql'), await schemaSdlV2()],
];

let stale = false;
for (const [file, sdl] of files) {
  const name = path.basename(file);
  if (process.argv.includes('--check')) {
    let current: string | null = null;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing: out of date as well
    }
    if (current !== sdl) {
      const have = (current ?? '').split('\n');
      const lines = sdl.split('\n');
      const index = lines.findIndex((text, i) => text !== have[i]);
      const line = index === -1 ? lines.length + 1 : index + 1;
      const where = current === null ? 'the file is missing' : `first difference at line ${line}`;
      process.stderr.write(`${name} is out of date: run npm run schema (${where})\n`);
      stale = true;
    }
  } else {
    writeFileSync(file, sdl);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}\n`);
  }
}
if (stale) process.exit(1);

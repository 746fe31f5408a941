#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
if (!existsSync(path.join(root, 'dist', 'main.js'))) {
  process.stderr.write('tenantry: not built yet; run `npm run build` first\n');
  process.exit(2);
}
await import(path.join(root, 'dist', 'main.js'));

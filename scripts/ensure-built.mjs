// `npm start` builds only when a source file is newer than the last build.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const stamp = path.join(root, 'dist', 'main.js');
// The audit-log page (ui/) is built by the same `npm run build`, into dist/ui.
const uiStamp = path.join(root, 'dist', 'ui', 'index.html');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'ui')), statSync(path.join(root, 'package.json')).mtimeMs, statSync(path.join(root, 'tsconfig.json')).mtimeMs);
const stale = (file) => !existsSync(file) || statSync(file).mtimeMs < sources;
if (stale(stamp) || stale(uiStamp)) {
  process.stderr.write('tenantry: building…\n');
  execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
}

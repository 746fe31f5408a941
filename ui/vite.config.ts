import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The audit-log page. Built into dist/ui next to the compiled server, which
 * serves it at /ui/ (src/server/ui.ts); `base` makes every asset URL absolute
 * so deep links such as /ui/acme/audit load the same files.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The page's Content-Security-Policy allows only same-origin files: no
    // inlined data: assets, no inline polyfill script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});

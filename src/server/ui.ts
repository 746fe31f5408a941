import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * Where `npm run build` puts the audit-log page (vite, ui/vite.config.ts).
 * This file sits two levels below the package root both as source
 * (src/server/ui.ts, under tsx or vitest) and compiled (dist/server/ui.js),
 * so the same relative path finds dist/ui from either.
 */
export const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * The page is ours alone: scripts and styles only from this origin (no
 * inline code at all, so an injected string can never run), API calls and
 * the graphql-ws socket back to this origin, nothing may frame it (clickjacking),
 * and no Referer leaks the page's URL (its query names what an auditor looked at).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
}

/**
 * Serves the audit-log page at `/ui/{tenant}/audit` (Kestra's URL style):
 * hashed assets from the build output, and index.html for the page's deep
 * links, which the browser code reads the tenant and filters from. Before the
 * first `npm run build` there is nothing to serve: a short 404 says so.
 */
export function mountUi(app: express.Express, dir = UI_DIR): void {
  const index = path.join(dir, 'index.html');
  const router = express.Router();
  router.use(securityHeaders);
  router.use((_req, res, next) => {
    if (existsSync(index)) return next();
    res.status(404).type('text/plain').send('The audit-log page is not built. Run `npm run build`, then reload.\n');
  });
  router.use(
    '/assets',
    express.static(path.join(dir, 'assets'), {
      index: false,
      // File names carry a content hash: a changed file has a new name.
      immutable: true,
      maxAge: '365d',
    }),
  );
  router.get('/', (_req, res) => res.redirect(302, '/ui/main/audit'));
  router.get('/:tenant/audit', (req, res, next) => {
    if (!TENANT_ID.test(String(req.params['tenant']))) return next();
    // index.html names the current asset hashes: never serve a stale copy.
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(index);
  });
  router.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found. The audit log is at /ui/{tenant}/audit.\n');
  });
  app.use('/ui', router);
}

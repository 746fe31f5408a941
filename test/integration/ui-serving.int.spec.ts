import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountUi } from '../../src/server/ui.js';

/** An express app with only the page mounted, on a free port; `dir` stands in for dist/ui. */
async function serve(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  mountUi(app, dir);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('serving the audit-log page', () => {
  const built = mkdtempSync(path.join(tmpdir(), 'tenantry-ui-'));
  const empty = mkdtempSync(path.join(tmpdir(), 'tenantry-ui-empty-'));
  let withPage: Awaited<ReturnType<typeof serve>>;
  let withoutPage: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    mkdirSync(path.join(built, 'assets'));
    writeFileSync(path.join(built, 'index.html'), '<!doctype html><script type="module" src="/ui/assets/app-1.js"></script>');
    writeFileSync(path.join(built, 'assets', 'app-1.js'), 'export {};');
    withPage = await serve(built);
    withoutPage = await serve(empty);
  });
  afterAll(async () => {
    await withPage.close();
    await withoutPage.close();
    rmSync(built, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers deep links with index.html, uncached, under a strict policy', async () => {
    for (const link of ['/ui/main/audit', '/ui/acme-corp/audit?resourceType=FLOW']) {
      const response = await fetch(`${withPage.url}${link}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('/ui/assets/app-1.js');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'.*script-src 'self'/);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('serves hashed assets as immutable, and 404s what is not there', async () => {
    const asset = await fetch(`${withPage.url}/ui/assets/app-1.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-security-policy')).toBeTruthy();
    for (const missing of ['/ui/assets/nope.js', '/ui/Not_A_Tenant!/audit', '/ui/main/other']) {
      const response = await fetch(`${withPage.url}${missing}`);
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('/ui/{tenant}/audit');
    }
  });

  it('sends /ui/ to the main tenant', async () => {
    const response = await fetch(`${withPage.url}/ui/`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/ui/main/audit');
  });

  it('says how to build the page when it is not built', async () => {
    const response = await fetch(`${withoutPage.url}/ui/main/audit`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toContain('npm run build');
  });
});

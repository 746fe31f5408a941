/// <reference lib="dom" />
/**
 * CORS in a real browser (docs/security.md, "Cross-origin requests name their
 * origins"): playwright-core drives the Debian Chromium (/usr/bin/chromium;
 * never downloaded). Pages served by two tiny HTTP servers of their own, on
 * other ports than the gateway's and so other origins, call the gateway with
 * fetch and an Authorization header, as a frontend on its own domain does.
 * The page of the listed origin gets its answers (preflight included); the
 * page of the other origin, and any page against a gateway without
 * TENANTRY_CORS_ORIGINS, gets nothing: the browser refuses the response.
 *
 * Without Chromium the suite is skipped with a printed line, as ui.browser is.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'];

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`[cors.browser] SKIPPED: ${CHROMIUM} not found (apt-get install chromium)`);

/** A frontend's origin: serves one empty page, from which the test's script calls the gateway. */
async function pageServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>frontend</title><p>a frontend on its own origin</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Outcome {
  ok: boolean;
  status?: number;
  body?: string;
  correlationId?: string | null;
  contentDisposition?: string | null;
  error?: string;
}

/** What the page's own script sees when it calls `url` with a bearer token (GET for the export, POST for GraphQL). */
async function callFrom(page: Page, url: string, token: string): Promise<Outcome> {
  return page.evaluate(
    async ({ url, token }) => {
      try {
        const isExport = url.includes('/audit-logs/export');
        const response = await fetch(url, {
          method: isExport ? 'GET' : 'POST',
          headers: isExport
            ? { authorization: `Bearer ${token}` }
            : { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          ...(isExport ? {} : { body: JSON.stringify({ query: '{ me { id } }' }) }),
        });
        return {
          ok: true,
          status: response.status,
          body: await response.text(),
          correlationId: response.headers.get('x-correlation-id'),
          contentDisposition: response.headers.get('content-disposition'),
        };
      } catch (error) {
        return { ok: false, error: String(error) };
      }
    },
    { url, token },
  );
}

describe.skipIf(!hasChromium)('CORS in Chromium: a page on another origin calls the gateway with fetch and a bearer token', () => {
  let frontend: Awaited<ReturnType<typeof pageServer>>;
  let stranger: Awaited<ReturnType<typeof pageServer>>;
  let gw: TestGateway;
  let plain: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    [frontend, stranger] = await Promise.all([pageServer(), pageServer()]);
    [gw, plain] = await Promise.all([
      startTestGateway({ eventStore: 'memory', env: { TENANTRY_CORS_ORIGINS: frontend.origin } }),
      startTestGateway({ eventStore: 'memory' }),
    ]);
    expectData(await gw.gql('mutation { createTenant(input: { id: "acme", name: "Acme" }) { id } }'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gw?.dispose(), plain?.dispose(), frontend?.close(), stranger?.close()]);
  });

  const open = async (origin: string): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${origin}/`);
    return page;
  };

  it('the listed origin: GraphQL on the instance and tenant endpoints, and the export download, succeed', async () => {
    const page = await open(frontend.origin);
    for (const path of ['/api/v1/graphql', '/api/v1/acme/graphql']) {
      const outcome = await callFrom(page, `${gw.url}${path}`, ADMIN_TOKEN);
      expect(outcome, path).toMatchObject({ ok: true, status: 200 });
      expect(JSON.parse(outcome.body ?? '{}'), path).toMatchObject({ data: { me: { id: expect.any(String) } } });
      // Exposed to the page's script: what a frontend quotes in a bug report.
      expect(outcome.correlationId, path).toMatch(/^[0-9a-f-]{36}$/);
    }
    const download = await callFrom(page, `${gw.url}/api/v1/audit-logs/export?format=ndjson`, ADMIN_TOKEN);
    expect(download).toMatchObject({ ok: true, status: 200 });
    expect(download.contentDisposition).toMatch(/attachment/);
    // A refusal is readable too: the page can show why (here: a token nobody accepts).
    const refused = await callFrom(page, `${gw.url}/api/v1/graphql`, 'not-a-token');
    expect(refused).toMatchObject({ ok: true, status: 401 });
    expect(refused.body).toMatch(/UNAUTHENTICATED/);
  });

  it('an origin not listed: the browser refuses every answer to the page', async () => {
    const page = await open(stranger.origin);
    for (const path of ['/api/v1/graphql', '/api/v1/acme/graphql', '/api/v1/audit-logs/export?format=ndjson']) {
      const outcome = await callFrom(page, `${gw.url}${path}`, ADMIN_TOKEN);
      expect(outcome, path).toMatchObject({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
    }
  });

  it('a gateway without TENANTRY_CORS_ORIGINS: same-origin only, the listed page of the other gateway is refused too', async () => {
    const page = await open(frontend.origin);
    const outcome = await callFrom(page, `${plain.url}/api/v1/graphql`, ADMIN_TOKEN);
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
  });
});

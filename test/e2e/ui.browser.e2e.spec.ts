/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions handed to page.evaluate() run in the browser and use its globals. (This also adds DOM
// types to the type-check of the tests; the build, tsconfig.build.json, still compiles src/ without them.)
/**
 * The audit-log page in a real browser: playwright-core drives the Debian
 * Chromium (/usr/bin/chromium; never downloaded) against a gateway started
 * here, which serves the page built by vite. Every step is asserted on the
 * page and leaves a screenshot in test-artifacts/ui/<read models>/.
 *
 * Without Chromium the suite is skipped with a printed line, so `npm test`
 * passes on a machine that has none (CI installs it: .ci/run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_DIR } from '../../src/server/ui.js';
import { bind, createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, expectData, startTestGateway, testReadModels, type TestGateway } from '../support/gateway.js';
import { testMongoUri } from '../support/mongo.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'ui');
/** `TENANTRY_UPDATE_DOCS_SCREENSHOT=1` refreshes the screenshot of docs/audit.md (docs/audit-page.png). */
const UPDATE_DOCS = process.env['TENANTRY_UPDATE_DOCS_SCREENSHOT'] === '1';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROWS = 'table.entries tbody tr';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log(`[ui.browser] SKIPPED: ${CHROMIUM} not found (apt-get install chromium)`);

/** With MongoDB read models available, the same flow runs on both; a MongoDB-only run does only that. */
const modes: ('memory' | 'mongodb')[] = testReadModels() === 'mongodb' ? ['mongodb'] : testMongoUri() ? ['memory', 'mongodb'] : ['memory'];

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/** Builds the page when dist/ui is missing or older than ui/ (what `npm run build` does for it). */
function ensureUiBuilt(): void {
  const index = path.join(UI_DIR, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(path.join(ROOT, 'ui'))) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'ui/vite.config.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

interface Problems {
  errors: string[];
}

/** Console errors (CSP violations included) and uncaught exceptions fail the test at the end. */
function watch(page: Page, problems: Problems): void {
  page.on('console', (message) => {
    // A refused token makes the browser log the 401 response itself; the page handles it.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.errors.push(message.text());
  });
  page.on('pageerror', (error) => problems.errors.push(error.message));
}

/**
 * Runs in the page: every visible text node's colour against the first
 * opaque background behind it (WCAG relative luminance). Returns the
 * offenders below 4.5:1.
 */
function contrastProblems(): string[] {
  const rgb = (css: string): [number, number, number, number] => {
    const parts = /rgba?\(([^)]+)\)/
      .exec(css)?.[1]
      ?.split(',')
      .map((p) => Number(p.trim())) ?? [0, 0, 0, 0];
    return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
  };
  const luminance = ([r, g, b]: number[]): number => {
    const channel = (c: number): number => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
    return 0.2126 * channel(r ?? 0) + 0.7152 * channel(g ?? 0) + 0.0722 * channel(b ?? 0);
  };
  const background = (element: Element | null): number[] => {
    for (let current = element; current; current = current.parentElement) {
      const color = rgb(getComputedStyle(current).backgroundColor);
      if (color[3] > 0) return color;
    }
    return [255, 255, 255];
  };
  const problems: string[] = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || !node.textContent?.trim()) continue;
    const box = element.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || !element.checkVisibility()) continue;
    const foreground = luminance(rgb(getComputedStyle(element).color));
    const behind = luminance(background(element));
    const ratio = (Math.max(foreground, behind) + 0.05) / (Math.min(foreground, behind) + 0.05);
    if (ratio < 4.5) problems.push(`${ratio.toFixed(2)}: ${node.textContent.trim().slice(0, 40)}`);
  }
  return problems;
}

describe.skipIf(!hasChromium).each(modes)(
  'audit-log page in Chromium (%s read models)',
  (mode) => {
    let gw: TestGateway;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    const problems: Problems = { errors: [] };
    const dir = path.join(ARTIFACTS, mode);
    let step = 0;

    /** Full-page screenshots, except with a modal open (it is fixed to the viewport). */
    const shot = async (name: string, target: Page = page, fullPage = true): Promise<void> => {
      step += 1;
      await target.screenshot({ path: path.join(dir, `${String(step).padStart(2, '0')}-${name}.png`), fullPage });
    };
    const audit = (query = '', fragment = ''): string => `${gw.url}/ui/main/audit${query}${fragment}`;
    const gql = async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token: string = ADMIN_TOKEN) =>
      expectData(await gw.gql<T>(query, variables, { tenant: 'main', token }));
    const newContext = async (viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> => {
      const created = await browser.newContext({ viewport, acceptDownloads: true });
      const opened = await created.newPage();
      watch(opened, problems);
      return { context: created, page: opened };
    };
    const totalOf = async (filter: Record<string, unknown>): Promise<number> =>
      (
        await gql<{ auditLogs: { totalCount: number } }>(`query($f: AuditLogFilter) { auditLogs(filter: $f) { totalCount } }`, {
          f: filter,
        })
      ).auditLogs.totalCount;

    beforeAll(async () => {
      mkdirSync(dir, { recursive: true });
      ensureUiBuilt();
      gw = await startTestGateway({ readModels: mode });
      // Namespaces enough for two pages of entries, and a history on company.team to look back at.
      for (let i = 1; i <= 50; i += 1) await gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id: `load.n${i}` });
      await gql(`mutation { createNamespace(input: {id: "company.team", description: "Team"}) { id } }`);
      for (const env of ['dev', 'prod']) {
        await gql(`mutation($v: JSON) { updateNamespace(id: "company.team", input: {variables: $v}) { revision } }`, { v: { env } });
      }
      browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
      ({ context, page } = await newContext());
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await gw?.dispose();
    });

    it('serves the page with strict security headers', async () => {
      const response = await fetch(audit());
      expect(response.status).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self' ws: wss:");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const html = await response.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    });

    it('signs in with #token= and removes it from the address bar at once', async () => {
      await page.goto(audit('', `#token=${ADMIN_TOKEN}`));
      await page.locator(ROWS).first().waitFor();
      expect(page.url()).toBe(audit());
      expect(await page.evaluate(() => sessionStorage.getItem('tenantry.token'))).toBe(ADMIN_TOKEN);
      await expect.poll(() => page.locator('.who').textContent()).toContain('Signed in as Instance admin (admin)');
      // Newest first.
      const positions = await page.locator(ROWS).evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset['position'])));
      expect(positions).toEqual([...positions].sort((a, b) => b - a));
      await shot('signed-in');
    });

    it('labels every control and keeps text contrast at 4.5:1 or more', async () => {
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')]
          .filter((control) => control.labels?.length === 0 && !control.getAttribute('aria-label'))
          .map((control) => control.outerHTML),
      );
      expect(unlabelled).toEqual([]);
      expect(await page.locator('table.entries th[scope="col"]').count()).toBe(5);
      const lowContrast = await page.evaluate(contrastProblems);
      expect(lowContrast).toEqual([]);
    });

    it('loads more entries as the user scrolls', async () => {
      const total = await totalOf({});
      expect(total).toBeGreaterThan(50);
      await expect.poll(() => page.locator(ROWS).count()).toBe(50);
      await expect.poll(() => page.locator('.count').textContent()).toBe(`${total} entries · 50 shown`);
      await page.locator(ROWS).last().scrollIntoViewIfNeeded();
      await page.mouse.wheel(0, 5000);
      await expect.poll(() => page.locator(ROWS).count()).toBe(total);
      await expect.poll(() => page.locator('.count').textContent()).toBe(`${total} entries`);
      await expect.poll(() => page.locator('.table-footer').textContent()).toContain('End of the log');
    });

    it('filters by resource type, keeping the filter in the URL', async () => {
      await page.selectOption('#f-resourceType', 'NAMESPACE');
      await page.waitForURL(/resourceType=NAMESPACE/);
      const total = await totalOf({ resourceType: 'NAMESPACE' });
      await expect.poll(() => page.locator('.count').textContent()).toMatch(new RegExp(`^${total} entries`));
      const types = await page.locator(`${ROWS} td[data-label="Resource"] .type`).allTextContents();
      expect(types.length).toBeGreaterThan(0);
      expect(new Set(types)).toEqual(new Set(['NAMESPACE']));

      // The URL is the view: opening it afresh shows the same filter.
      await page.goto(audit('?resourceType=NAMESPACE&namespace=company.team'));
      await expect.poll(() => page.locator(ROWS).count()).toBe(3);
      expect(await page.inputValue('#f-namespace')).toBe('company.team');
      expect(await page.inputValue('#f-resourceType')).toBe('NAMESPACE');
      await shot('filtered');
    });

    it('opens a row with the keyboard and shows its changes side by side', async () => {
      const newest = page.locator(ROWS).first();
      await newest.focus();
      await page.keyboard.press('Enter');
      const dialog = page.locator('dialog.entry-dialog');
      await dialog.waitFor();
      expect(page.url()).toContain('entry=');
      const variables = dialog.locator('table.diff tbody tr', { hasText: 'variables' });
      expect(await variables.locator('td.before').textContent()).toContain('"env": "dev"');
      expect(await variables.locator('td.after').textContent()).toContain('"env": "prod"');
      await shot('diff', page, false);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await expect.poll(() => page.url()).not.toContain('entry=');
      await expect.poll(() => newest.evaluate((row) => row === document.activeElement)).toBe(true);
    });

    it('shows a namespace as of an entry, next to how it is now', async () => {
      // Second row: the update that set env=dev (the newest one set prod).
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      const dialog = page.locator('dialog.entry-dialog');
      await dialog.getByRole('button', { name: 'Show this namespace as of this entry' }).click();
      const then = dialog.locator('.as-of-then');
      await then.waitFor();
      expect(await then.textContent()).toContain('"env": "dev"');
      expect(await dialog.locator('.as-of-now').textContent()).toContain('"env": "prod"');
      expect(await then.textContent()).toContain('variables (differs)');
      await shot('as-of', page, false);
      await page.keyboard.press('Escape');
    });

    it('streams a live entry created by another client and highlights it', async () => {
      await page.goto(audit());
      await page.locator(ROWS).first().waitFor();
      await page.getByRole('button', { name: 'Live' }).click();
      expect(await page.getByRole('button', { name: 'Live' }).getAttribute('aria-pressed')).toBe('true');
      // Give the socket a moment to subscribe; entries after the newest row are replayed anyway.
      await page.waitForTimeout(300);
      await gql(`mutation { createNamespace(input: {id: "live.arrival"}) { id } }`);
      const fresh = page.locator(`${ROWS}.is-new`, { hasText: 'live.arrival' });
      await fresh.waitFor({ timeout: 10_000 });
      expect(await page.locator(ROWS).first().textContent()).toContain('live.arrival');
      expect(await fresh.textContent()).toContain('New');
      expect(await page.locator('[aria-live="polite"].sr-only').textContent()).toContain('New entry: CREATE NAMESPACE live.arrival');
      await shot('live');
      if (UPDATE_DOCS && mode === 'memory') {
        mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
        await page.screenshot({ path: path.join(ROOT, 'docs', 'audit-page.png') });
      }
      await page.getByRole('button', { name: 'Live' }).click();
      expect(await page.getByRole('button', { name: 'Live' }).getAttribute('aria-pressed')).toBe('false');
    });

    it('verifies the hash chain', async () => {
      await page.getByRole('button', { name: 'Verify chain' }).click();
      const result = page.locator('.verify-result');
      await result.waitFor();
      const text = await result.textContent();
      expect(text).toContain('Chain intact');
      expect(text).toMatch(/\d+ entries checked up to position \d+/);
      await shot('verified');
    });

    it('exports NDJSON and CSV with the current filters', async () => {
      await page.selectOption('#f-resourceType', 'NAMESPACE');
      await page.waitForURL(/resourceType=NAMESPACE/);
      await page.locator(ROWS).first().waitFor();
      const total = await totalOf({ resourceType: 'NAMESPACE' });

      const [ndjson] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
      expect(ndjson.suggestedFilename()).toMatch(/^audit-main-.*\.ndjson$/);
      const lines = readFileSync(await ndjson.path(), 'utf8')
        .trim()
        .split('\n');
      expect(lines).toHaveLength(total);
      const entries = lines.map((line) => JSON.parse(line) as { resourceType: string; hash: string });
      expect(new Set(entries.map((e) => e.resourceType))).toEqual(new Set(['NAMESPACE']));
      expect(entries.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
      await expect.poll(() => page.locator('.export-result').textContent()).toContain('Downloaded audit-main-');

      await page.selectOption('#export-format', 'csv');
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
      expect(csv.suggestedFilename()).toMatch(/\.csv$/);
      const rows = readFileSync(await csv.path(), 'utf8')
        .trim()
        .split(/\r?\n/);
      expect(rows[0]).toContain('resourceType');
      expect(rows).toHaveLength(total + 1);
      await shot('exported');
    });

    it('is readable on a phone', async () => {
      const phone = await newContext({ width: 390, height: 844 });
      await phone.page.goto(audit('?namespace=company.team', `#token=${ADMIN_TOKEN}`));
      await phone.page.locator(ROWS).first().waitFor();
      // The table becomes cards: no horizontal scrolling.
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot('phone', phone.page);
      await phone.page.locator(ROWS).first().click();
      await phone.page.locator('dialog.entry-dialog table.diff').waitFor();
      await shot('phone-diff', phone.page, false);
      await phone.context.close();
    });

    it('signs in with a pasted token', async () => {
      const fresh = await newContext();
      await fresh.page.goto(audit());
      await fresh.page.getByLabel('API token').fill(ADMIN_TOKEN);
      await shot('sign-in-form', fresh.page);
      await fresh.page.getByRole('button', { name: 'Sign in' }).click();
      await fresh.page.locator(ROWS).first().waitFor();
      expect(fresh.page.url()).toBe(audit());
      expect(await fresh.page.evaluate(() => sessionStorage.getItem('tenantry.token'))).toBe(ADMIN_TOKEN);
      await fresh.context.close();
    });

    it('says clearly when the token is invalid, or stops working during the session', async () => {
      const fresh = await newContext();
      await fresh.page.goto(audit('', '#token=not-a-real-token'));
      const alert = fresh.page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('Your token is invalid or has expired');
      expect(await fresh.page.getByLabel('API token').isVisible()).toBe(true);
      expect(await fresh.page.evaluate(() => sessionStorage.getItem('tenantry.token'))).toBeNull();
      await shot('invalid-token', fresh.page);

      // A real token that is revoked while the page is open (as when it expires).
      const userId = `auditor-${mode}`;
      await createUserWithToken(gw, userId);
      await bind(gw, 'main', { principalType: 'USER', principalId: userId, roleId: 'admin' });
      const created = expectData(
        await gw.gql<{ createApiToken: { id: string; token: string } }>(
          `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { id token } }`,
          { input: { principalId: userId, name: 'browser' } },
        ),
      ).createApiToken;
      await fresh.page.goto(audit('', `#token=${created.token}`));
      await fresh.page.locator(ROWS).first().waitFor();
      expectData(await gw.gql(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: created.id }));
      await fresh.page.getByRole('button', { name: 'Verify chain' }).click();
      await fresh.page.getByLabel('API token').waitFor();
      expect(await fresh.page.getByRole('alert').textContent()).toContain('Your token is invalid or has expired');
      await fresh.context.close();
    });

    it('says FORBIDDEN to a user who may not read the audit log', async () => {
      const userId = `viewer-${mode}`;
      const token = await createUserWithToken(gw, userId);
      await bind(gw, 'main', { principalType: 'USER', principalId: userId, roleId: 'viewer' });
      const fresh = await newContext();
      await fresh.page.goto(audit('', `#token=${token}`));
      const alert = fresh.page.getByRole('alert');
      await alert.waitFor();
      const text = await alert.textContent();
      expect(text).toContain('Access denied (FORBIDDEN)');
      expect(text).toContain('AUDITLOG:LIST');
      await expect.poll(() => fresh.page.locator('.who').textContent()).toContain(`Signed in as ${userId}`);
      await shot('forbidden', fresh.page);
      await fresh.context.close();
    });

    it('logged no console errors (CSP violations included)', async () => {
      await context.close();
      expect(problems.errors).toEqual([]);
    });
  },
  60_000,
);

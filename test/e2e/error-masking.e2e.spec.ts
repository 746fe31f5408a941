/**
 * Nothing internal reaches a client: an unexpected failure deep in a real
 * resolver path (the read-model store throwing a plain Error) answers
 * INTERNAL_SERVER_ERROR with a correlation id, and the log has the cause
 * under the same id.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { HookedStore } from '../support/store-hooks.js';

const CAUSE = 'replica /var/lib/tenantry/rm-3 rejected the read: checksum mismatch';

class LogCapture extends Writable {
  lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

describe('error masking', () => {
  const store = new HookedStore();
  const log = new LogCapture();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ wrapDocuments: store.wrap, logger: createLogger({ level: 'info', destination: log }) });
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'main' }));
    const source = 'id: hello\nnamespace: team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n';
    expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }, { tenant: 'main' }));
  });
  afterAll(() => gw?.dispose());

  const failingReads = (): void => {
    store.hook = (collection, method) =>
      collection.startsWith('namespaces') && method === 'find' ? Promise.reject(new Error(CAUSE)) : Promise.resolve();
  };

  it.each([
    ['a root resolver', `{ namespaces { id } }`],
    ['a nested resolver behind a DataLoader', `{ flows { edges { node { id namespaceRef { id } } } } }`],
  ])('%s: the client gets INTERNAL_SERVER_ERROR and a correlation id; the log has the cause under the same id', async (_what, query) => {
    const correlationId = `masking-${Math.random().toString(36).slice(2)}`;
    failingReads();
    let result;
    try {
      result = await gw.gql(query, {}, { tenant: 'main', headers: { 'x-correlation-id': correlationId } });
    } finally {
      store.hook = null;
    }
    const masked = result.errors?.filter((e) => e.extensions.code === 'INTERNAL_SERVER_ERROR') ?? [];
    expect(masked.length).toBeGreaterThan(0);
    for (const error of masked) {
      expect(error.message).toBe('internal error');
      expect(Object.keys(error.extensions).sort()).toEqual(['code', 'correlationId']);
      expect(error.extensions['correlationId']).toBe(correlationId);
    }
    const body = JSON.stringify(result);
    expect(body).not.toContain('checksum');
    expect(body).not.toContain('/var/lib');
    expect(body).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack frame

    const logged = log.lines.filter((line) => line['correlationId'] === correlationId);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]).toMatchObject({ level: 50, msg: 'request failed', err: { message: CAUSE } });
    expect(String((logged[0]?.['err'] as { stack?: string }).stack)).toContain(CAUSE);
  });

  it('without X-Correlation-Id the server makes one up, and it is the one in the log', async () => {
    failingReads();
    let result;
    try {
      result = await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'main' });
    } finally {
      store.hook = null;
    }
    const correlationId = result.errors?.[0]?.extensions['correlationId'];
    expect(typeof correlationId).toBe('string');
    expect(
      log.lines.some(
        (line) => line['correlationId'] === correlationId && (line['err'] as { message?: string } | undefined)?.message === CAUSE,
      ),
    ).toBe(true);
  });
});

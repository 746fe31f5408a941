/** `tenantry events catalog`: the event catalogue joined with the projections, printed without opening a store. */
import { describe, expect, it } from 'vitest';
import { eventConsumers } from '../../src/projections/event-consumers.js';
import { runCli } from '../support/process.js';

describe('tenantry events catalog', () => {
  it('prints the catalogue as JSON without opening any store', async () => {
    // No data dir at all: the command reads the code's catalogue only.
    const result = await runCli(['events', 'catalog', '--json'], { TENANTRY_DATA_DIR: '/nonexistent/tenantry-catalog' }, 60_000);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as { type: string; projections: string[] }[];
    expect(rows).toEqual(JSON.parse(JSON.stringify(eventConsumers())));
    expect(rows.find((r) => r.type === 'FlowCreated')?.projections).toEqual([
      'namespaces',
      'flows',
      'flowRevisions',
      'auditLogs',
      'streams',
    ]);
  }, 90_000);
});

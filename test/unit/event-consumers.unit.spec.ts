/**
 * The event catalogue joined with the projections: docs/architecture.md's
 * table is the one `tenantry events catalog` prints, and no projection
 * consumes an event type the catalogue does not know.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import { eventConsumers } from '../../src/projections/event-consumers.js';
import { allProjections } from '../../src/projections/index.js';

const doc = readFileSync(path.join(import.meta.dirname, '../../docs/architecture.md'), 'utf8');

/** The table between the markers, as rows of trimmed cells (header and rule left out). */
function documentedRows(): string[][] {
  const block = /<!-- event-consumers:start -->([\s\S]*?)<!-- event-consumers:end -->/.exec(doc)?.[1] ?? '';
  return block
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('event catalogue', () => {
  it('docs/architecture.md lists every event type with the projections the code gives it (regenerate: tenantry events catalog)', () => {
    const fromCode = eventConsumers().map((r) => [`\`${r.type}\``, r.resourceType, r.action, r.projections.join(', ') || '—']);
    expect(documentedRows()).toEqual(fromCode);
  });

  it('every event type a projection consumes is catalogued, and every catalogued type is consumed by the audit log', () => {
    const catalogued = new Set(Object.keys(EVENT_CATALOG));
    for (const projection of allProjections()) {
      for (const type of projection.eventTypes) expect(catalogued.has(type), `${projection.name} consumes ${type}`).toBe(true);
    }
    for (const row of eventConsumers()) expect(row.projections).toContain('auditLogs');
  });
});

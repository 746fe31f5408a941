/**
 * Which projections consume which event type: the event catalogue
 * (src/events/catalog.ts) joined with the projections' declared event types.
 * `tenantry events catalog` prints it, and docs/architecture.md holds the
 * same table (a test keeps the two equal).
 */
import { EVENT_CATALOG } from '../events/catalog.js';
import { allProjections } from './index.js';

export interface EventConsumers {
  type: string;
  /** The resource the event is about, and the audit action it is recorded as. */
  resourceType: string;
  action: string;
  /** The projections that apply it, in the order the application declares them. */
  projections: string[];
}

/** Every catalogued event type, in catalogue order, with the projections that consume it. */
export function eventConsumers(): EventConsumers[] {
  const projections = allProjections();
  return Object.entries(EVENT_CATALOG).map(([type, info]) => ({
    type,
    resourceType: info.resourceType,
    action: info.actionOf ? `${info.action} (or by its data)` : info.action,
    projections: projections.filter((p) => p.eventTypes.has(type)).map((p) => p.name),
  }));
}

/** The catalogue as a Markdown table (what docs/architecture.md holds). */
export function eventConsumersTable(rows: readonly EventConsumers[] = eventConsumers()): string {
  const lines = [
    '| event type | resource | audit action | projections that apply it (the ledger also hashes every event) |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.type}\` | ${r.resourceType} | ${r.action} | ${r.projections.join(', ') || '—'} |`),
  ];
  return `${lines.join('\n')}\n`;
}

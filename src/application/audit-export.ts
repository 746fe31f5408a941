import { flowOf, type AuditEntryView } from '../projections/audit/audit-entry.js';

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const isExportFormat = (value: unknown): value is ExportFormat => (EXPORT_FORMATS as readonly unknown[]).includes(value);

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

/**
 * CSV columns, in order. `changes` is the JSON text of the before/after;
 * `flowNamespace` and `flowId` name a flow's entry unambiguously (both may
 * hold dots, so `resourceId` alone does not). NDJSON lines are the hashed
 * entry exactly and carry neither: there, a flow's namespace is `namespace`
 * and its id is `resourceId` after `namespace.`.
 */
export const CSV_COLUMNS = [
  'id',
  'tenantId',
  'namespace',
  'resourceType',
  'resourceId',
  'flowNamespace',
  'flowId',
  'action',
  'eventType',
  'actorType',
  'actorId',
  'occurredAt',
  'position',
  'correlationId',
  'ip',
  'userAgent',
  'changes',
  'previousHash',
  'hash',
] as const;

/**
 * RFC 4180: a field holding a comma, a double quote, CR or LF is enclosed in
 * double quotes, and each double quote inside is doubled.
 *
 * CSV injection (OWASP): a spreadsheet runs a cell that begins with `=`,
 * `+`, `-`, `@`, a tab or a carriage return as a formula, and several
 * cells come from clients (the User-Agent above all). Such a cell is written
 * as OWASP recommends: a single quote before it, the whole in double quotes.
 * The `'` is the only change: drop it from cells that begin with `'` followed
 * by one of those characters to get the stored value back. NDJSON is never
 * escaped.
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (FORMULA_START.test(value)) return `"'${value.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

const CRLF = '\r\n';

export const csvHeader = (): string => CSV_COLUMNS.join(',') + CRLF;

export function csvRow(entry: AuditEntryView): string {
  const flow = flowOf(entry);
  const cells: Record<(typeof CSV_COLUMNS)[number], string | null> = {
    id: entry.id,
    tenantId: entry.tenantId,
    namespace: entry.namespace,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId,
    flowNamespace: flow?.namespace ?? null,
    flowId: flow?.id ?? null,
    action: entry.action,
    eventType: entry.eventType,
    actorType: entry.actor.type,
    actorId: entry.actor.id,
    occurredAt: entry.occurredAt,
    position: entry.position,
    correlationId: entry.correlationId,
    ip: entry.ip,
    userAgent: entry.userAgent,
    changes: entry.changes === null ? null : JSON.stringify(entry.changes),
    previousHash: entry.previousHash,
    hash: entry.hash,
  };
  return CSV_COLUMNS.map((column) => csvField(cells[column])).join(',') + CRLF;
}

export const ndjsonLine = (entry: AuditEntryView): string => `${JSON.stringify(entry)}\n`;

export interface ExportOptions {
  /** Bytes gathered before a chunk is handed on: fewer, larger writes without holding much. */
  chunkBytes?: number;
  onProgress?: (entries: number) => void;
}

/**
 * Serializes entries into text chunks as they are pulled. Nothing is read
 * ahead: a consumer that stops pulling (a slow HTTP client, a full pipe)
 * stops the cursor too, so memory stays bounded by one chunk.
 */
export async function* exportChunks(
  entries: AsyncIterable<AuditEntryView>,
  format: ExportFormat,
  options: ExportOptions = {},
): AsyncGenerator<string, number> {
  const limit = options.chunkBytes ?? 64 * 1024;
  const line = format === 'csv' ? csvRow : ndjsonLine;
  let chunk = format === 'csv' ? csvHeader() : '';
  let count = 0;
  for await (const entry of entries) {
    chunk += line(entry);
    count++;
    if (chunk.length >= limit) {
      yield chunk;
      chunk = '';
      options.onProgress?.(count);
    }
  }
  if (chunk.length > 0) yield chunk;
  options.onProgress?.(count);
  return count;
}

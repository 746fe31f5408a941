import { v5 as uuidv5 } from 'uuid';
import { tenantStream } from './tenants.js';
import type { Application } from './application.js';
import { tenantPrefix, type NewEvent, type RecordedEvent } from '../eventstore/port.js';
import { badInput, conflict, tenantNotFound } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';

/**
 * Tenant export and import (restore or fork): a tenant is the set of streams
 * whose names begin with it, so its whole history can be carried as NDJSON,
 * one event a line, in log order, after one header line.
 */
export const EXPORT_FORMAT = 'tenantry-events';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: number;
  tenantId: string;
  exportedAt: string;
  /** Position of the log's head when the export started; events after it are not included. */
  headPosition: number;
}

/**
 * Not carried into another tenant: API tokens are credentials, and a fork
 * must not answer to the original's tokens. Secret values never were in the
 * log; the copy has secret metadata whose values are unavailable until put again.
 */
const NOT_CARRIED_OVER = new Set(['ApiTokenCreated', 'ApiTokenRevoked']);

const IMPORT_NAMESPACE = '6a1f6f0e-3c57-4d5e-9a43-0e8f9f3b2c11';

export interface TransferProgress {
  events: number;
  position: number;
  head: number;
  /**
   * Import only: the position in the exporting log of the last event read.
   * With `head` (the export's headPosition) it is progress against a total
   * known from the header, whatever the number of events.
   */
  sourcePosition?: number;
}

export async function* exportTenant(
  app: Application,
  tenantId: string,
  onProgress?: (progress: TransferProgress) => void,
): AsyncGenerator<string> {
  validateId('tenant', 'tenant', tenantId);
  if ((await app.events.readStream(tenantStream(tenantId), { maxCount: 1 })).length === 0) throw tenantNotFound(tenantId);
  const head = await app.events.headPosition();
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    tenantId,
    exportedAt: new Date().toISOString(),
    headPosition: head,
  };
  yield `${JSON.stringify(header)}\n`;
  let after = 0;
  let events = 0;
  for (;;) {
    // As stored (an auditor may check the export against signed checkpoints offline).
    const batch = await app.events.readAll({ after, maxCount: 1000, streamPrefix: tenantPrefix(tenantId), fromStorage: true });
    const inRange = batch.filter((e) => e.position <= head);
    for (const event of inRange) yield `${JSON.stringify(event)}\n`;
    events += inRange.length;
    const last = batch.at(-1);
    if (!last || inRange.length < batch.length) break;
    after = last.position;
    onProgress?.({ events, position: after, head });
  }
  onProgress?.({ events, position: head, head });
}

export interface ImportResult {
  tenantId: string;
  sourceTenantId: string;
  events: number;
  skipped: number;
  position: number;
  /** False when `signal` stopped the import early: what was read is written, and re-running the same import resumes. */
  completed: boolean;
}

/** Reads lines from any async source of text chunks (stdin, a file stream, an HTTP body). */
export async function* lines(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of chunks) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline = rest.indexOf('\n');
    while (newline >= 0) {
      const line = rest.slice(0, newline).trim();
      rest = rest.slice(newline + 1);
      if (line) yield line;
      newline = rest.indexOf('\n');
    }
  }
  if (rest.trim()) yield rest.trim();
}

/**
 * Imports an export under `newTenantId`: stream names, metadata and the
 * tenant's own id are rewritten, event ids are derived from the originals
 * and the new tenant (so re-running an interrupted import continues where it
 * stopped, writing nothing twice), and each stream keeps its revisions.
 */
export async function importTenant(
  app: Application,
  newTenantId: string,
  input: AsyncIterable<string>,
  onProgress?: (progress: TransferProgress) => void,
  signal?: AbortSignal,
): Promise<ImportResult> {
  validateId('tenant', 'tenant', newTenantId);
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw badInput('input', 'the import is empty');
  const header = parseLine<ExportHeader>(first.value, 1);
  if (header.format !== EXPORT_FORMAT || header.version !== EXPORT_VERSION) {
    throw badInput('input', `not a ${EXPORT_FORMAT} v${EXPORT_VERSION} export`);
  }
  const source = header.tenantId;
  const rewrite = (event: RecordedEvent): NewEvent & { streamName: string; streamRevision: number } => ({
    id: uuidv5(`${newTenantId}:${event.id}`, IMPORT_NAMESPACE),
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.type.startsWith('Tenant') ? { ...(event.data as object), id: newTenantId } : event.data,
    metadata: {
      ...event.metadata,
      tenantId: newTenantId,
      commandId: uuidv5(`${newTenantId}:${event.metadata.commandId}`, IMPORT_NAMESPACE),
      causationId: event.metadata.causationId && uuidv5(`${newTenantId}:${event.metadata.causationId}`, IMPORT_NAMESPACE),
    },
    streamName: `${newTenantId}/${event.streamName.slice(tenantPrefix(source).length)}`,
    streamRevision: event.streamRevision,
  });

  let events = 0;
  let skipped = 0;
  let position = 0;
  let lineNumber = 1;
  let sourcePosition = 0;
  let checkedTarget = false;
  const report = (): void => onProgress?.({ events, position, head: header.headPosition, sourcePosition });
  report();
  // Consecutive events of one stream are appended together, keeping the log order across streams.
  let run: ReturnType<typeof rewrite>[] = [];
  const flush = async (): Promise<void> => {
    const head = run[0];
    if (!head) return;
    const expectedRevision = head.streamRevision === 0 ? 'no_stream' : head.streamRevision - 1;
    const events = run.map(({ streamName: _s, streamRevision: _r, ...event }) => event);
    const result = await app.events.appendToStream(head.streamName, events, { expectedRevision });
    position = result.position;
    run = [];
  };

  // An abort does not wait for the next line (stdin may be an idle pipe): the loop ends at once.
  const aborted = signal
    ? new Promise<IteratorResult<string>>((resolve) => {
        const done = (): void => resolve({ done: true, value: undefined });
        if (signal.aborted) done();
        else signal.addEventListener('abort', done, { once: true });
      })
    : null;
  const nextLine = (): Promise<IteratorResult<string>> => {
    const pending = iterator.next();
    if (!aborted) return pending;
    pending.catch(() => undefined); // the source may be closed under it once aborted
    return Promise.race([pending, aborted]);
  };

  for (let next = await nextLine(); !next.done && !signal?.aborted; next = await nextLine()) {
    lineNumber++;
    const event = parseLine<RecordedEvent>(next.value, lineNumber);
    if (typeof event.position === 'number') sourcePosition = event.position;
    if (!event.streamName?.startsWith(tenantPrefix(source))) {
      throw badInput('input', `line ${lineNumber}: event of stream ${String(event.streamName)} is not in tenant ${source}`);
    }
    if (!checkedTarget) {
      await refuseExistingTenant(app, newTenantId, rewrite(event).id);
      checkedTarget = true;
    }
    if (NOT_CARRIED_OVER.has(event.type)) {
      skipped++;
      continue;
    }
    const rewritten = rewrite(event);
    if (run.length > 0 && run[0]?.streamName !== rewritten.streamName) await flush();
    run.push(rewritten);
    events++;
    if (run.length >= 500) await flush();
    if (events % 1000 === 0) report();
  }
  await flush();
  const completed = !signal?.aborted;
  if (completed) sourcePosition = header.headPosition;
  report();
  if (position > 0) await app.projections.waitFor(position, app.config.readYourWritesTimeoutMs);
  return { tenantId: newTenantId, sourceTenantId: source, events, skipped, position, completed };
}

/** A tenant id that exists is refused, unless it is this very import, interrupted: then it resumes. */
async function refuseExistingTenant(app: Application, tenantId: string, firstEventId: string): Promise<void> {
  const [existing] = await app.events.readStream(tenantStream(tenantId), { maxCount: 1 });
  if (existing && existing.id !== firstEventId) throw conflict(`tenant ${tenantId} already exists`);
}

function parseLine<T>(line: string, lineNumber: number): T {
  try {
    return JSON.parse(line) as T;
  } catch {
    throw badInput('input', `line ${lineNumber} is not JSON`);
  }
}

import { v5 as uuidv5 } from 'uuid';
import { GROUP_EVENT_TYPES } from '../aggregates/group/group.js';
import { SERVICE_ACCOUNT_EVENT_TYPES } from '../aggregates/service-account/service-account.js';
import { tenantStream } from './tenants.js';
import type { Application } from './application.js';
import { parseStreamName, tenantPrefix, type NewEvent, type RecordedEvent } from '../eventstore/port.js';
import { badInput, conflict, tenantNotFound } from '../shared/errors.js';
import { EVENT_PAGE_MAX, PageSizer } from '../shared/page-sizer.js';
import { isValidId, validateId } from '../shared/ids.js';

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

/**
 * What a tenant's own streams may hold: the stream's category (the name's
 * second segment) and the event types that category is written with. An
 * import is untrusted input: an event of any other category or type (a
 * `UserCreated` making someone an instance admin, another tenant's stream)
 * is refused before anything is written.
 */
const TENANT_CATEGORIES: Record<string, readonly string[]> = {
  tenant: ['TenantCreated', 'TenantUpdated', 'TenantDeleted', 'TenantRestored'],
  namespace: ['NamespaceCreated', 'NamespaceUpdated', 'NamespaceDeleted'],
  binding: ['BindingCreated', 'BindingDeleted'],
  role: ['RoleCreated', 'RoleUpdated', 'RoleDeleted'],
  group: GROUP_EVENT_TYPES,
  'service-account': SERVICE_ACCOUNT_EVENT_TYPES,
  'api-token': ['ApiTokenCreated', 'ApiTokenRevoked'],
  flow: ['FlowCreated', 'FlowUpdated', 'FlowDeleted'],
  secret: ['SecretPut', 'SecretDeleted'],
};

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

/** What an import writes to and waits on. */
type TransferTarget = Pick<Application, 'events' | 'projections' | 'config'>;

export async function* exportTenant(
  app: Pick<Application, 'events'>,
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
  const sizer = new PageSizer(EVENT_PAGE_MAX);
  for (;;) {
    // As stored (an auditor may check the export against signed checkpoints offline).
    const { page: batch, full } = await sizer.read((maxCount) =>
      app.events.readAll({ after, maxCount, streamPrefix: tenantPrefix(tenantId), fromStorage: true }),
    );
    const inRange = batch.filter((e) => e.position <= head);
    for (const event of inRange) yield `${JSON.stringify(event)}\n`;
    events += inRange.length;
    const last = batch.at(-1);
    if (!last || inRange.length < batch.length || !full) break;
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

/** The longest line an import accepts: far above any event (a flow source is at most 512 KiB), far below what exhausts memory. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

/** Reads lines from any async source of text chunks (stdin, a file stream, an HTTP body); a line past `maxLineChars` is refused. */
export async function* lines(chunks: AsyncIterable<string | Buffer>, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<string> {
  let rest = '';
  let lineNumber = 0;
  for await (const chunk of chunks) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline = rest.indexOf('\n');
    while (newline >= 0) {
      lineNumber++;
      if (newline > maxLineChars) throw badInput('input', `line ${lineNumber} is longer than ${maxLineChars} characters`);
      const line = rest.slice(0, newline).trim();
      rest = rest.slice(newline + 1);
      if (line) yield line;
      newline = rest.indexOf('\n');
    }
    if (rest.length > maxLineChars) throw badInput('input', `line ${lineNumber + 1} is longer than ${maxLineChars} characters`);
  }
  if (rest.trim()) yield rest.trim();
}

/** An import is read twice (checked whole, then written): a function that opens the input from its start each time it is called. */
export type ImportSource = () => AsyncIterable<string>;

/**
 * Imports an export under `newTenantId`: stream names, metadata and the
 * tenant's own id are rewritten, event ids are derived from the originals
 * and the new tenant (so re-running an interrupted import continues where it
 * stopped, writing nothing twice), and each stream keeps its revisions.
 *
 * The input is untrusted: a first pass checks every line (JSON, the source
 * tenant's own streams, each stream's own event types) and refuses the whole
 * import before anything is written; the second pass writes. The new tenant
 * does not take the source's domains (a host name belongs to one tenant, and
 * only instance admins give one out).
 */
export async function importTenant(
  app: TransferTarget,
  newTenantId: string,
  open: ImportSource,
  onProgress?: (progress: TransferProgress) => void,
  signal?: AbortSignal,
): Promise<ImportResult> {
  validateId('tenant', 'tenant', newTenantId);
  const { header, firstEvent } = await checkImport(open());
  const source = header.tenantId;
  const rewrite = (event: RecordedEvent): NewEvent & { streamName: string; streamRevision: number } => ({
    id: uuidv5(`${newTenantId}:${event.id}`, IMPORT_NAMESPACE),
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.type.startsWith('Tenant') ? forkTenantData(event, newTenantId) : event.data,
    metadata: {
      ...event.metadata,
      tenantId: newTenantId,
      commandId: uuidv5(`${newTenantId}:${event.metadata.commandId}`, IMPORT_NAMESPACE),
      causationId: event.metadata.causationId && uuidv5(`${newTenantId}:${event.metadata.causationId}`, IMPORT_NAMESPACE),
    },
    streamName: `${newTenantId}/${event.streamName.slice(tenantPrefix(source).length)}`,
    streamRevision: event.streamRevision,
  });
  if (firstEvent) await refuseExistingTenant(app, newTenantId, rewrite(firstEvent).id);

  let events = 0;
  let skipped = 0;
  let position = 0;
  let sourcePosition = 0;
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

  // The second pass, from the start of the input again.
  const iterator = open()[Symbol.asyncIterator]();
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

  let lineNumber = 1;
  await nextLine(); // the header, checked in the first pass
  for (let next = await nextLine(); !next.done && !signal?.aborted; next = await nextLine()) {
    lineNumber++;
    // Checked again: the input could have changed between the two reads.
    const event = checkEvent(parseLine<RecordedEvent>(next.value, lineNumber), source, lineNumber);
    if (typeof event.position === 'number') sourcePosition = event.position;
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

/** The first pass: the whole input is checked before anything is written. */
async function checkImport(input: AsyncIterable<string>): Promise<{ header: ExportHeader; firstEvent: RecordedEvent | null }> {
  let header: ExportHeader | null = null;
  let firstEvent: RecordedEvent | null = null;
  let lineNumber = 0;
  for await (const line of input) {
    lineNumber++;
    if (header === null) {
      header = parseLine<ExportHeader>(line, 1);
      if (header?.format !== EXPORT_FORMAT || header.version !== EXPORT_VERSION) {
        throw badInput('input', `not a ${EXPORT_FORMAT} v${EXPORT_VERSION} export`);
      }
      if (!isValidId('tenant', header.tenantId)) {
        throw badInput('input', `line 1: ${JSON.stringify(String(header.tenantId)).slice(0, 200)} is not a tenant id`);
      }
      continue;
    }
    const event = checkEvent(parseLine<RecordedEvent>(line, lineNumber), header.tenantId, lineNumber);
    firstEvent ??= event;
  }
  if (header === null) throw badInput('input', 'the import is empty');
  return { header, firstEvent };
}

/** One event of the source tenant's own streams, of a type its stream's category is written with; anything else is refused. */
function checkEvent(event: RecordedEvent, source: string, lineNumber: number): RecordedEvent {
  const where = `line ${lineNumber}`;
  if (!event || typeof event !== 'object' || typeof event.streamName !== 'string' || typeof event.type !== 'string') {
    throw badInput('input', `${where}: not an event`);
  }
  const stream = parseStreamName(event.streamName);
  if (stream.tenantId !== source) {
    throw badInput('input', `${where}: event of stream ${JSON.stringify(event.streamName.slice(0, 200))} is not in tenant ${source}`);
  }
  const allowed = TENANT_CATEGORIES[stream.category];
  const ownStream = stream.category === 'tenant' ? stream.id === '' : stream.id !== '';
  if (!allowed || !ownStream || !allowed.includes(event.type)) {
    throw badInput(
      'input',
      `${where}: event ${JSON.stringify(event.type.slice(0, 100))} of stream ${JSON.stringify(event.streamName.slice(0, 200))} is not one a tenant's own streams hold (instance-level events are never imported)`,
    );
  }
  if (typeof event.id !== 'string' || !Number.isInteger(event.streamRevision) || event.streamRevision < 0) {
    throw badInput('input', `${where}: not an event`);
  }
  if (!event.metadata || typeof event.metadata !== 'object' || typeof event.metadata.commandId !== 'string') {
    throw badInput('input', `${where}: an event without its metadata`);
  }
  return event;
}

/** A tenant event under its new id, without the source's domains. */
function forkTenantData(event: RecordedEvent, newTenantId: string): unknown {
  const data: Record<string, unknown> = { ...(event.data as Record<string, unknown>), id: newTenantId };
  if (event.type === 'TenantCreated') data['domains'] = [];
  if (event.type === 'TenantUpdated' && data['changes'] && typeof data['changes'] === 'object') {
    const { domains: _domains, ...changes } = data['changes'] as Record<string, unknown>;
    data['changes'] = changes;
  }
  return data;
}

/** A tenant id that exists is refused, unless it is this very import, interrupted: then it resumes. */
async function refuseExistingTenant(app: TransferTarget, tenantId: string, firstEventId: string): Promise<void> {
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
